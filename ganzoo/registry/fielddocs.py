"""Field tables for the docs, rendered from the records' own docstrings, so that each field is described once.

A record documents its fields as bullets in its docstring, ``- ``name``: what it is`` (one bullet may name several
fields, ``- ``min``, ``max``: ...``, or define a second after a semicolon, ``...; ``step``: ...``). The guide shows
them as markdown tables between markers, ``<!-- fields GeneratorSpec -->`` ... ``<!-- /fields -->``, which
:func:`fill` rewrites; ``python -m ganzoo.registry.fielddocs`` rewrites docs/plugins.md (``--check``: only say
whether it is up to date), and tests/test_plugin_docs.py fails when a table and its docstring differ.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .specs import ComponentSpec

_NAMES = r"``\w+``(?:, ``\w+``)*"
_BULLET = re.compile(rf"^- ({_NAMES}): (.*)$")
_SECOND = re.compile(rf";\s+(?={_NAMES}: )")  # "...; ``step``: the training step" starts another field
_ROLE = re.compile(r":\w+:`~?([^`]+)`")  # :class:`ganzoo.DOutput` -> ``ganzoo.DOutput``
_MARKED = re.compile(r"(<!-- fields (\w+) -->\n)(.*?)(<!-- /fields -->)", re.S)


@dataclass(frozen=True)
class FieldDoc:
    """One bullet: the fields it names and what it says of them, in markdown."""

    names: tuple[str, ...]
    text: str

    @property
    def row(self) -> str:
        return f"| {', '.join(f'`{n}`' for n in self.names)} | {self.text} |"


def _markdown(rst: str) -> str:
    return _ROLE.sub(r"``\1``", rst).replace("``", "`").replace("|", "\\|")


def _parse(head: str, text: str) -> list[FieldDoc]:
    first, *more = _SECOND.split(text)
    docs = [FieldDoc(tuple(re.findall(r"``(\w+)``", head)), _markdown(first))]
    for part in more:
        names, rest = _BULLET.match(f"- {part}").groups()
        docs += _parse(names, rest)
    return docs


def own_fields(cls: type) -> list[FieldDoc]:
    """The bullets of ``cls``'s own docstring (not its bases'), in their order; a bullet goes on over the lines
    indented beneath it."""
    found: list[list[str]] = []
    is_open = False
    for line in inspect.cleandoc(vars(cls).get("__doc__") or "").splitlines():
        match = _BULLET.match(line)
        if match:
            found.append(list(match.groups()))
            is_open = True
        elif is_open and line.startswith("  ") and line.strip():
            found[-1][1] += " " + line.strip()
        else:
            is_open = False
    return [doc for head, text in found for doc in _parse(head, text)]


def field_docs(cls: type, *, shared: bool = False) -> list[FieldDoc]:
    """The bullets of ``cls`` and of its bases. The fields every component shares (:class:`ComponentSpec`'s) have a
    table of their own, so a component's table leaves them out unless ``shared``."""
    docs: list[FieldDoc] = []
    for klass in cls.__mro__:
        if klass is ComponentSpec and cls is not ComponentSpec and not shared:
            break
        seen = {n for doc in docs for n in doc.names}
        docs += [doc for doc in own_fields(klass) if not seen & set(doc.names)]  # a subclass may say it anew
    return docs


def undocumented(cls: type) -> list[str]:
    """The dataclass fields of ``cls`` that no bullet describes (a new field must not ship without one)."""
    documented = {n for doc in field_docs(cls, shared=True) for n in doc.names}
    return [f.name for f in dataclasses.fields(cls) if f.name not in documented]


def table(cls: type) -> str:
    """The markdown ``| field | meaning |`` table of ``cls``'s fields, as the guide shows it."""
    return "\n".join(["| field | meaning |", "| --- | --- |", *(doc.row for doc in field_docs(cls))]) + "\n"


def marked(text: str) -> list[str]:
    """The record names of the tables marked in ``text``, in order."""
    return [m.group(2) for m in _MARKED.finditer(text)]


def fill(text: str, resolve: Callable[[str], type]) -> str:
    """``text`` with every marked table rendered afresh from its record (``resolve`` turns a marker's name into the
    class)."""
    return _MARKED.sub(lambda m: m.group(1) + table(resolve(m.group(2))) + m.group(4), text)


def public(name: str) -> type:
    """A marker's record by its public name (``ganzoo.StepContext``); ``ComponentSpec`` for the shared fields.
    ganzoo is imported by name when the tables are written, so no module of this layer depends on higher ones."""
    if name == ComponentSpec.__name__:
        return ComponentSpec
    return getattr(importlib.import_module("ganzoo"), name)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the tables of each guide named (default docs/plugins.md); with ``--check`` only report a stale one."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for path in [Path(a) for a in args if a != "--check"] or [Path("docs/plugins.md")]:
        text = path.read_text()
        new = fill(text, public)
        if new != text:
            stale.append(str(path))
            if not check:
                path.write_text(new)
    verb = "out of date" if check else "rewritten"
    print(f"{verb}: {', '.join(stale)}" if stale else "field tables up to date")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
