"""``ganzoo plugins`` and ``ganzoo list``: what is installed, and every component with its parameters."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..registry.kinds import COMPONENT_KINDS
from ..registry.registry import default_registry
from .tables import show


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """Show the installed plugins: distribution, version, status and what each provides."""
    plugins = default_registry().plugins()
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in plugins], indent=2))
        return
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "distribution", "version", "status", "provides / error"):
        table.add_column(column)
    colors = {"ok": "green", "error": "red", "skipped": "yellow"}
    for p in plugins:
        detail = p.error if p.status != "ok" else "; ".join(
            f"{kind}: {', '.join(names)}" for kind, names in p.provides.items()
        )
        status = f"[{colors.get(p.status, 'white')}]{p.status}[/]"
        table.add_row(p.name, p.dist or "(in-process)", p.version or "-", status, detail or "-")
    Console().print(table)


# -- ganzoo list --------------------------------------------------------------------------------------------------


#: Record fields that say how a component fits a mix, as ``ganzoo list`` shows them (when set).
_TRAITS = {
    "alias_of": lambda v: f"alias of {v}",
    "conditional": lambda v: "conditional (takes class labels)" if v else "",
    "outputs": lambda v: f"outputs: logits, {', '.join(v)}" if v else "",
    "needs_outputs": lambda v: f"reads D's {', '.join(v)}" if v else "",
    "needs_labels": lambda v: f"needs {' and '.join(v)} labels" if v else "",
    "player": lambda v: f"acts on the {v}",
    "citation": lambda v: v,
}


def _component_dict(provided, conflicts: set[str]) -> dict[str, Any]:
    spec = provided.spec
    traits = {key: getattr(spec, key) for key in _TRAITS if getattr(spec, key, None) not in (None, (), "", False)}
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "qualified": provided.qualified,
        "provider": provided.plugin.dist or provided.plugin.name,
        "version": provided.plugin.version,
        "description": spec.description,
        "data_kinds": list(spec.data_kinds),
        "conflict": spec.name in conflicts,
        "suggested": dict(spec.suggested) or None,
        "traits": {k: list(v) if isinstance(v, tuple) else v for k, v in traits.items()},
        "params": [
            {"name": p.name, "type": p.type_name, "default": p.default, "help": p.help,
             "choices": list(p.choices) if p.choices else None, "range": p.range or None}
            for p in spec.declared
        ],
    }


@click.command("list", help=f"List components: all kinds, one KIND ({', '.join(COMPONENT_KINDS)}) or one NAME.")
@click.argument("kind", required=False)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_command(kind: str | None, name: str | None, as_json: bool) -> None:
    registry = default_registry()
    kinds = [registry.plural(kind)] if kind else list(COMPONENT_KINDS)
    listing: dict[str, list[dict]] = {}
    for plural in kinds:
        conflicts = registry.conflicts(plural)
        items = [_component_dict(p, conflicts) for p in registry.components(plural)]
        if name is not None:
            spec = registry.get(plural, name)  # unknown names get "did you mean"
            items = [i for i in items if i["name"] == spec.name]
        listing[plural] = sorted(items, key=lambda i: (i["name"], i["provider"]))
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    console = Console()
    for plural, items in listing.items():
        table = Table(title=plural, title_justify="left", show_lines=True)
        table.add_column("name", style="bold cyan", no_wrap=True)
        table.add_column("provider")
        table.add_column("description")
        table.add_column(escape("parameters (type = default, range: help)"))  # brackets would be markup
        for item in items:
            label = escape(item["name"]) + (f"\n({escape(', '.join(item['aliases']))})" if item["aliases"] else "")
            if item["conflict"]:
                label += f"\n[red]conflict: use {escape(item['qualified'])}[/]"
            params = "\n".join(
                f"[bold]{p['name']}[/]: {escape(p['type'])} = {escape(show(p['default'], 'none'))}"
                f"{escape(_range(p['range']))}: {escape(p['help'])}" for p in item["params"]
            )
            provider = item["provider"] + (f" {item['version']}" if item["version"] else "")
            description = escape(item["description"])
            for key, value in item["traits"].items():
                text = escape(_TRAITS[key](value))
                description += f"\n[dim]{text}[/]" if key == "citation" else f"\n{text}"
            if item["suggested"]:
                suggests = ", ".join(_suggestion(k, v) for k, v in item["suggested"].items())
                description += f"\nsuggests: {escape(suggests)}"
            table.add_row(label, escape(provider), description, params or "-")
        console.print(table)


def _range(text: str | None) -> str:
    """A parameter's range after its default: ``, in [0, 1)``, ``, >= 1`` or nothing."""
    if not text:
        return ""
    return f", in {text}" if text[0] in "[(" else f", {text}"


def _suggestion(key: str, value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}.{k}={show(v, 'none')}" if k != "name" else f"{key}={show(v)}"
                         for k, v in value.items())
    return f"{key}={show(value)}"
