"""``ganzoo new-plugin``: write a ready-to-install plugin package from the templates in ``ganzoo/templates``.

The generated package is what a plugin author would write by hand: a ``pyproject.toml`` with the entry point, one
module with a working component of each requested kind, a README and a test. Its test passes unchanged after
``pip install -e``, so an author starts from green and changes one thing at a time.
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import click

from .. import __version__
from ..errors import ConfigError
from ..registry.kinds import BY_SINGULAR, SLOT_GROUPS, SLOTS, Slot
from ..registry.kinds import KINDS as ALL_KINDS
from ..registry.registry import Registry, default_registry

#: The kinds a plugin can start with (one template each, ``templates/new_plugin/KIND.py.tmpl``), in the order the
#: generated module holds them; a package without --kind gets the four of a whole GAN.
KINDS = tuple(kind.singular for kind in ALL_KINDS.values() if kind.template)
STARTER = ("generator", "discriminator", "loss", "dataset")
#: Lower-case words joined by '-' or '_': a valid distribution name that also gives a valid Python package.
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


@dataclass(frozen=True)
class PluginNames:
    """How one NAME is spelled in each place: distribution, package, component name, class prefix."""

    dist: str  # ganzoo-mygan: what pip installs and GANZOO_LOAD_PLUGINS names
    package: str  # ganzoo_mygan: the importable module
    short: str  # mygan: the component name, as in `-g mygan`
    camel: str  # Mygan: the classes' prefix

    @property
    def short_ident(self) -> str:
        return self.short.replace("-", "_")


def plugin_names(name: str) -> PluginNames:
    """Validate NAME and derive every spelling from it; a bad name is one line saying what to type instead."""
    if not _NAME.match(name):
        raise ConfigError(
            f"plugin name '{name}' must be lower-case letters and digits, words joined by '-' and starting with a "
            f"letter (e.g. ganzoo-mygan)"
        )
    package = name.replace("-", "_")
    short = re.sub(r"^ganzoo[-_]", "", name).replace("_", "-")
    if name == "ganzoo" or not short[0].isalpha():
        raise ConfigError(f"plugin name '{name}' needs a word after 'ganzoo-' that starts with a letter "
                          f"(e.g. ganzoo-mygan)")
    if keyword.iskeyword(package):
        raise ConfigError(f"plugin name '{name}' is a Python keyword and cannot be a package; pick another name")
    camel = "".join(part.capitalize() for part in re.split(r"[-_]", short))
    return PluginNames(dist=name, package=package, short=short, camel=camel)


def _template(name: str) -> Template:
    return Template((resources.files("ganzoo.cli") / "templates" / "new_plugin" / f"{name}.tmpl").read_text("utf-8"))


def _check_free(names: PluginNames, kinds: tuple[str, ...], registry: Registry | None) -> None:
    """Refuse a package name that is already importable and component names that are taken, before writing."""
    try:
        found = importlib.util.find_spec(names.package)
    except (ImportError, ValueError):
        found = None
    if found is not None:
        where = f" ({found.origin})" if found.origin else ""
        raise ConfigError(
            f"a module named '{names.package}' is already importable{where}; a plugin package of that name would "
            f"clash with it: pick another NAME"
        )
    if registry is None:
        return
    for kind in kinds:
        for provided in registry.components(BY_SINGULAR[kind].plural):
            if names.short in (provided.spec.name, *provided.spec.aliases):
                raise ConfigError(
                    f"{kind} '{names.short}' already exists (from {provided.plugin.label}); pick another NAME so "
                    f"the new components' names stay unambiguous"
                )


def _slots(kind: str) -> list[Slot]:
    return [slot for slot in SLOTS.values() if slot.kind == BY_SINGULAR[kind].plural]


def _choose(kind: str, short: str) -> tuple[str, str]:
    """How a run chooses this kind's component: (keyword for ``ganzoo.train``, value), and the CLI flag."""
    if kind == "sampler":  # not part of a training run: chosen when sampling one
        return f'sampler="{short}"', "ganzoo sample RUN --sampler"
    slots = _slots(kind)
    group = next((g for g, names in SLOT_GROUPS.items() if set(names) == {s.name for s in slots}), None)
    if group is not None:  # one component for several slots (both optimizers): --opt NAME
        return f'{group}="{short}"', f"ganzoo train --{group}"
    slot = slots[0]
    return (f'{slot.name}=["{short}"]' if slot.many else f'{slot.name}="{short}"'), f"ganzoo train {slot.flags[0]}"


def _api_names(code: str) -> list[str]:
    """The names of ganzoo's public API that ``code`` uses, sorted as an import line lists them."""
    import ganzoo

    used = {name for name in ganzoo.__all__ if re.search(rf"\b{re.escape(name)}\b", code)}
    return sorted(used, key=lambda n: (n[0].islower(), n))


def _import_line(names: list[str]) -> str:
    line = f"from ganzoo import {', '.join(names)}"
    if len(line) > 120:  # one name a line, as a formatter would write it
        line = "from ganzoo import (\n" + "".join(f"    {n},\n" for n in names) + ")"
    return line


def render(names: PluginNames, kinds: tuple[str, ...]) -> dict[str, str]:
    """The package's files, ``{relative path: text}``, for ``kinds`` (a subset of :data:`KINDS`)."""
    fields = {
        "dist": names.dist, "package": names.package, "short": names.short, "camel": names.camel,
        "short_ident": names.short_ident, "ganzoo_version": __version__.split("+")[0],
        "summary": f"a {_listing(kinds)}",
    }
    components = "".join(_template(f"{kind}.py").substitute(fields) for kind in kinds)
    tests = "".join(_template(f"test_{kind}.py").substitute(fields) for kind in kinds)
    imports = ["import math\n"] if "math." in components else []
    imports.append("import torch")
    if "nn." in components:
        imports.append("from torch import nn")
    imports.append("\n" + _import_line(_api_names(components)))
    core = [f'"{names.short if k in kinds else SLOTS[k].default}"' for k in STARTER]
    extras = [_choose(k, names.short)[0] for k in kinds if k not in STARTER and k != "sampler"]
    sampler = f", {_choose('sampler', names.short)[0]}" if "sampler" in kinds else ""
    provides = "{" + ", ".join(f'"{BY_SINGULAR[k].plural}": "{names.short}"' for k in kinds) + "}"
    table = "\n".join(f"| {k} | `{names.short}` | `{_choose(k, names.short)[1]} {names.short}` |" for k in kinds)
    test_api = [n for n in _api_names(tests) if n != "DataSpec"]
    return {
        "pyproject.toml": _template("pyproject.toml").substitute(fields),
        "README.md": _template("README.md").substitute(fields, table=table),
        f"{names.package}/__init__.py": _template("module.py").substitute(
            fields, imports="\n".join(imports), components=components),
        f"tests/test_{names.package}.py": _template("test_module.py").substitute(
            fields, tests=tests, mix=", ".join(core) + "".join(f",\n{' ' * 26}{e}" for e in extras), provides=provides,
            test_imports="".join(f", {n}" for n in test_api), sampler=sampler),
    }


def _listing(kinds: tuple[str, ...]) -> str:
    words = list(kinds)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def write_plugin(name: str, kinds: Iterable[str] = (), parent: Path | str = ".",
                 registry: Registry | None = None) -> Path:
    """Write the package NAME under ``parent`` and return its directory.

    ``kinds`` defaults to the four of a whole GAN (:data:`STARTER`). An existing ``parent/NAME`` is never
    touched. The files are written to a
    temporary sibling first and renamed into place, so a failure leaves no half-written package behind.
    """
    names = plugin_names(name)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ConfigError(f"--kind {unknown[0]} is not a component kind; choose among {', '.join(KINDS)}")
    chosen = tuple(k for k in KINDS if k in set(kinds)) or STARTER
    parent = Path(parent)
    target = parent / name
    if target.exists() or target.is_symlink():
        raise ConfigError(f"{target} already exists; new-plugin never overwrites: pick another NAME or --dir")
    _check_free(names, chosen, registry)
    files = render(names, chosen)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    except OSError as err:
        raise ConfigError(f"cannot write under --dir {parent}: {err.strerror or err}") from None
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a package directory is not
        staging.rename(target)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(f"cannot write {target}: {err.strerror or err}") from None
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@click.command("new-plugin")
@click.argument("name")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(list(KINDS)),
              help="a component kind to include (repeatable) [default: generator, discriminator, loss, dataset]")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="folder to create the package NAME in")
def new_plugin_command(name: str, kinds: tuple[str, ...], parent: str) -> None:
    """Write a ready plugin package NAME (e.g. ganzoo-mygan): pyproject with the entry point, a working component
    of each kind, a README and a test that passes after `pip install -e`."""
    target = write_plugin(name, kinds, parent, registry=default_registry())
    click.echo(f"wrote the ganzoo plugin {name} to {target}; next:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  pytest {target}")
    click.echo("  ganzoo list")
