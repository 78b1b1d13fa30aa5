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

from . import __version__
from .errors import ConfigError
from .registry import Registry

#: The kinds a plugin can start with, in the order the generated module holds them.
KINDS = ("generator", "discriminator", "loss", "dataset")
_PLURAL = {"generator": "generators", "discriminator": "discriminators", "loss": "losses", "dataset": "datasets"}
#: What each kind's component needs from ganzoo's public API (the module imports exactly these).
_API = {
    "generator": {"DataSpec", "GeneratorSpec", "Param", "ParameterError", "hookimpl"},
    "discriminator": {"DataSpec", "DiscriminatorSpec", "Param", "ParameterError", "hookimpl"},
    "loss": {"GANLoss", "LossContext", "LossSpec", "Param", "ParameterError", "hookimpl"},
    "dataset": {"Data", "DataSpec", "DatasetSpec", "Param", "ParameterError", "hookimpl"},
}
#: The built-ins a test run takes for the kinds the plugin leaves out.
_BUILTIN = {"generator": "mlp", "discriminator": "mlp", "loss": "nonsaturating", "dataset": "parabola"}
#: How a user picks each kind on the command line (for the generated README).
_FLAG = {"generator": "ganzoo train -g", "discriminator": "ganzoo train -d", "loss": "ganzoo train -l",
         "dataset": "ganzoo train --dataset"}
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
    return Template((resources.files("ganzoo") / "templates" / "new_plugin" / f"{name}.tmpl").read_text("utf-8"))


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
        for provided in registry.components(_PLURAL[kind]):
            if names.short in (provided.spec.name, *provided.spec.aliases):
                raise ConfigError(
                    f"{kind} '{names.short}' already exists (from {provided.plugin.label}); pick another NAME so "
                    f"the new components' names stay unambiguous"
                )


def render(names: PluginNames, kinds: tuple[str, ...]) -> dict[str, str]:
    """The package's files, ``{relative path: text}``, for ``kinds`` (a subset of :data:`KINDS`)."""
    api = sorted(set().union(*(_API[k] for k in kinds)), key=lambda n: (n[0].islower(), n))
    imports = []
    if "dataset" in kinds:
        imports.append("import math\n")
    imports.append("import torch")
    if {"generator", "discriminator"} & set(kinds):
        imports.append("from torch import nn")
    line = f"from ganzoo import {', '.join(api)}"
    if len(line) > 120:  # one name a line, as a formatter would write it
        line = "from ganzoo import (\n" + "".join(f"    {n},\n" for n in api) + ")"
    imports.append("\n" + line)
    fields = {
        "dist": names.dist, "package": names.package, "short": names.short, "camel": names.camel,
        "short_ident": names.short_ident, "ganzoo_version": __version__.split("+")[0],
        "summary": f"a {_listing(kinds)}",
    }
    components = "".join(_template(f"{kind}.py").substitute(fields) for kind in kinds)
    tests = "".join(_template(f"test_{kind}.py").substitute(fields) for kind in kinds)
    mix = ", ".join(f'"{names.short if k in kinds else _BUILTIN[k]}"' for k in KINDS)
    provides = "{" + ", ".join(f'"{_PLURAL[k]}": "{names.short}"' for k in kinds) + "}"
    table = "\n".join(f"| {k} | `{names.short}` | `{_FLAG[k]} {names.short}` |" for k in kinds)
    return {
        "pyproject.toml": _template("pyproject.toml").substitute(fields),
        "README.md": _template("README.md").substitute(fields, table=table),
        f"{names.package}/__init__.py": _template("module.py").substitute(
            fields, imports="\n".join(imports), components=components),
        f"tests/test_{names.package}.py": _template("test_module.py").substitute(
            fields, tests=tests, mix=mix, provides=provides,
            test_imports=", LossContext" if "loss" in kinds else ""),
    }


def _listing(kinds: tuple[str, ...]) -> str:
    words = list(kinds)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def write_plugin(name: str, kinds: Iterable[str] = (), parent: Path | str = ".",
                 registry: Registry | None = None) -> Path:
    """Write the package NAME under ``parent`` and return its directory.

    ``kinds`` defaults to all four. An existing ``parent/NAME`` is never touched. The files are written to a
    temporary sibling first and renamed into place, so a failure leaves no half-written package behind.
    """
    names = plugin_names(name)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ConfigError(f"--kind {unknown[0]} is not a component kind; choose among {', '.join(KINDS)}")
    chosen = tuple(k for k in KINDS if k in set(kinds)) or KINDS
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
