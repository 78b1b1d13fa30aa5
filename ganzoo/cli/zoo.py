"""The zoo's commands: ``ganzoo recipes`` (named configurations), ``ganzoo runs`` and ``ganzoo compare``.

Kept apart from ``cli.py`` so that file stays about training and components; ``cli.py`` adds these to its group.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigError, GanzooError, shorten
from ..registry.registry import default_registry
from .tables import show

# -- ganzoo recipes -----------------------------------------------------------------------------------------------


def recipe_rows() -> list[dict[str, Any]]:
    """Every recipe with its provider and what it resolves to (or why it does not resolve)."""
    from ..config import resolve_config

    registry = default_registry()
    rows = []
    for provided in registry.recipes():
        spec = provided.spec
        row: dict[str, Any] = {
            "name": spec.name, "qualified": provided.qualified,
            "provider": provided.plugin.dist or provided.plugin.name, "version": provided.plugin.version,
            "description": spec.description, "citation": spec.citation,
            "settings": spec.settings, "resolved": None, "error": None,
        }
        try:
            row["resolved"] = resolve_config(registry, recipe=provided.qualified).to_dict()
        except GanzooError as err:
            row["error"] = str(err)
        rows.append(row)
    return sorted(rows, key=lambda r: (r["provider"] != "ganzoo", r["name"]))  # built-ins first, then by name


def _mix(resolved: dict[str, Any]) -> str:
    """``G / D / loss / data``, then ``+ name`` for each augmentation, regulariser and constraint."""
    from ..registry.kinds import SLOTS

    text = " / ".join(resolved[kind]["name"] for kind in ("generator", "discriminator", "loss", "dataset"))
    extras = [item["name"] for slot in SLOTS.values() if slot.many for item in resolved.get(slot.name, [])]
    return text + "".join(f" + {name}" for name in extras)


def _lr(resolved: dict[str, Any]) -> str:
    g, d = resolved["lr_g"], resolved["lr_d"]
    return show(g) if g == d else f"{show(g)} / {show(d)}"


def recipes_markdown(rows: list[dict[str, Any]]) -> str:
    """The README's Zoo table (``ganzoo recipes --markdown`` prints it)."""
    lines = ["| recipe | G / D / loss / data | steps | batch | lr | what | reproduces |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        r = row["resolved"]
        cells = ([_mix(r), f"{r['steps']:,}", str(r["batch_size"]), _lr(r)] if r is not None
                 else [f"error: {row['error']}", "", "", ""])
        text = [f"`{row['name']}`", *cells, row["description"], row["citation"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in text) + " |")
    return "\n".join(lines) + "\n"


@click.command("recipes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--markdown", is_flag=True, help="Print a Markdown table (the README's Zoo section).")
def recipes_command(as_json: bool, markdown: bool) -> None:
    """List recipes: named, complete training configurations for `ganzoo train --recipe NAME`."""
    rows = recipe_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if markdown:
        click.echo(recipes_markdown(rows), nl=False)
        return
    table = Table(title=escape("ganzoo recipes  (ganzoo train --recipe NAME [flags that override it])"),
                  title_justify="left", show_lines=True)
    for column in ("recipe", "G / D / loss / data", "steps", "batch", "lr", "description / reproduces"):
        table.add_column(column, no_wrap=column in ("recipe", "steps", "batch"))
    for row in rows:
        r = row["resolved"]
        label = f"[bold cyan]{escape(row['name'])}[/]\n{escape(row['provider'])}"
        about = f"{escape(row['description'])}\n[dim]{escape(row['citation'])}[/]"
        if r is None:
            table.add_row(label, f"[red]error: {escape(row['error'])}[/]", "", "", "", about)
        else:
            table.add_row(label, escape(_mix(r)), f"{r['steps']:,}", str(r["batch_size"]), _lr(r), about)
    Console().print(table)


# -- ganzoo runs ----------------------------------------------------------------------------------------------------


def _run_dict(run) -> dict[str, Any]:
    from ..run.compare import TRAINING_KEYS

    final = run.final
    return {
        "path": str(run.path), "combination": run.combination, "recipe": run.recipe, "step": run.step,
        "steps": run.config.get("steps"), "seconds": run.seconds,
        "final": {k: final[k] for k in TRAINING_KEYS if k in final},
        "metrics": {k: v for k, v in final.items() if k not in TRAINING_KEYS}, "error": None,
    }


def _broken_runs(directory: str, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Directories holding a run's files (checkpoints or a metrics log) whose config.toml cannot be read: a run the
    user made, so it is listed, marked broken, rather than left out like a stray config file of their own."""
    from ..run.compare import read_run
    from ..run.rundir import RunDir

    seen = {row["path"] for row in listed}
    broken = []
    for config_path in sorted(Path(directory).rglob("config.toml")):
        run = RunDir(config_path.parent)
        if str(run.path) in seen or not (run.checkpoints.is_dir() or run.metrics_path.is_file()):
            continue
        try:
            read_run(run.path)
        except GanzooError as err:
            # the row names the run: its path need not fill the line twice more
            text = str(err).removeprefix(f"{run.path} is not a readable run directory: ")
            text = text.replace(str(run.config_path), "config.toml")
            broken.append({"path": str(run.path), "combination": None, "recipe": None, "step": None, "steps": None,
                           "seconds": None, "final": {}, "metrics": {}, "error": f"broken: {shorten(text, 160)}"})
    return broken


@click.command("runs")
@click.argument("directory", default="runs", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs_command(directory: str, as_json: bool) -> None:
    """List the run directories under DIRECTORY [default: runs]: mix, steps, time and final metrics (a run whose
    config.toml cannot be read is listed as broken)."""
    from ..run.compare import find_runs

    runs = [_run_dict(run) for run in find_runs(directory)]
    runs = sorted(runs + _broken_runs(directory, runs), key=lambda row: row["path"])
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        click.echo(f"no runs under {directory}; start one with `ganzoo train`")
        return
    table = Table(title=f"ganzoo runs in {escape(directory)}", title_justify="left")
    for column in ("run", "G / D / loss / data", "steps", "time", "final D / G loss, D(x) / D(G(z))", "metrics"):
        table.add_column(column)
    for run in runs:
        name = os.path.relpath(run["path"], directory)
        if run["error"]:
            table.add_row(escape(name if name != "." else run["path"]), f"[red]{escape(run['error'])}[/]", "", "", "",
                          "")
            continue
        mix = escape(run["combination"]) + (f"\n[dim]recipe {escape(run['recipe'])}[/]" if run["recipe"] else "")
        seconds = "-" if run["seconds"] is None else f"{run['seconds']:.1f} s"
        d, g, real, fake = (show(run["final"].get(k)) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
        metrics = "\n".join(f"{k} {show(v)}" for k, v in run["metrics"].items()) or "-"
        table.add_row(escape(name if name != "." else run["path"]), mix, f"{run['step']}/{show(run['steps'])}",
                      seconds, f"{d} / {g}\n{real} / {fake}", escape(metrics))
    Console().print(table)


# -- ganzoo compare -------------------------------------------------------------------------------------------------


@click.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(), metavar="RUN_A RUN_B [RUN...]")
@click.option("-o", "--output", default="compare.png", show_default=True, type=click.Path(dir_okay=False),
              help="PNG with the runs' latest samples side by side and their loss curves")
@click.option("--json", "as_json", is_flag=True, help="Print the differences and metrics as JSON.")
def compare_command(run_dirs: tuple[str, ...], output: str, as_json: bool) -> None:
    """Compare runs: the settings that differ, final metrics side by side, and one PNG of samples and losses."""
    from ..run.compare import config_differences, display_names, metric_keys, read_run, write_comparison_png

    if len(run_dirs) < 2:
        raise ConfigError(f"compare needs at least two run directories, got {len(run_dirs)}; e.g. "
                          f"`ganzoo compare runs/A runs/B` (see `ganzoo runs`)")
    if not output.lower().endswith(".png"):
        raise ConfigError(f"-o {output}: the comparison is a picture; give a file name ending in .png")
    runs = [read_run(path) for path in run_dirs]
    names = display_names(runs)
    differences = config_differences(runs)
    keys = metric_keys(runs)
    write_comparison_png(runs, output)
    if as_json:
        click.echo(json.dumps({
            "runs": [str(run.path) for run in runs],
            "differences": dict(differences),
            "metrics": {key: [run.final.get(key) for run in runs] for key in keys},
            "png": output,
        }, indent=2))
        return
    console = Console()
    if differences:
        table = Table(title="settings that differ", title_justify="left")
        table.add_column("setting", style="bold")
        for name in names:
            table.add_column(escape(name))
        for key, values in differences:
            table.add_row(escape(key), *(escape(show(v)) for v in values))
        console.print(table)
    else:
        console.print("the runs' settings are identical")
    table = Table(title="final metrics", title_justify="left")
    table.add_column("metric", style="bold")
    for name in names:
        table.add_column(escape(name), justify="right")
    table.add_row("steps", *(str(run.step) for run in runs))
    for key in keys:
        table.add_row(escape(key), *(show(run.final.get(key)) for run in runs))
    console.print(table)
    click.echo(f"wrote {output}")
