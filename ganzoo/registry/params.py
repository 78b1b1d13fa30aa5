"""Declared parameters: one declaration read by the CLI, ``ganzoo list``, config files and validation alike.

A declaration carries everything a value is checked against — type, choices, bounds, the value that switches a
feature off, a list's length — so no component or option writes its own range checks, and every error about a value
reads the same way, whoever declared it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError, did_you_mean

#: The parameter types a component may declare. Lists are written ``256,512`` on the command line.
SCALAR_TYPES = (int, float, bool, str)
LIST_TYPES = (list[int], list[float], list[str])
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NUMBER = (int, float)


def type_name(tp: Any) -> str:
    """``int``, ``list[int]``... as shown to users."""
    return tp.__name__ if tp in SCALAR_TYPES else str(tp)


def _number(x: float) -> str:
    """A bound as people write it: ``0.5``, ``1e-08``, ``2^63 - 1`` (not 9223372036854775807)."""
    if isinstance(x, int) and x > 2**31 and (x + 1) & x == 0:
        return f"2^{(x + 1).bit_length() - 1} - 1"
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class Param:
    """One parameter of a component (or one training option).

    - ``name``: an identifier, as runs set it (``--set generator.NAME=...``).
    - ``type``: one of ``int``, ``float``, ``bool``, ``str``, ``list[int]``, ``list[float]``, ``list[str]``; lists
      are written ``256,512`` on the command line and are never empty.
    - ``default``: the value when none is given; ``None`` means "optional, not set".
    - ``help``: one line for ``ganzoo list`` and ``--help``.
    - ``choices``: the allowed values (for lists, of every item).
    - ``min``, ``max``: inclusive bounds, for numbers and every item of a list of numbers.
    - ``above``, ``below``: exclusive bounds (a learning rate: ``above=0``; a probability: ``min=0, below=1``).
    - ``off``: the value that switches a feature off (``0`` for "every 0 steps: never"): it is accepted outside the
      bounds, and an optional parameter (default ``None``) stores it as ``None``.
    - ``length``: how many items a list holds (Adam's betas: ``length=2``).
    - ``path``: ``True`` marks a ``str`` that names a file or folder: its value is stored absolute (``~`` expanded,
      relative to the working directory), so a run's ``config.toml`` finds its data from any directory.
    """

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None
    off: Any = None
    length: int | None = None
    path: bool = False

    def __post_init__(self) -> None:
        if self.type not in SCALAR_TYPES + LIST_TYPES:
            allowed = ", ".join(type_name(t) for t in SCALAR_TYPES + LIST_TYPES)
            raise TypeError(f"parameter '{self.name}': type {self.type!r} is not one of {allowed}")
        if not self.name.isidentifier():
            raise TypeError(f"parameter name {self.name!r} is not an identifier")
        bounded = any(b is not None for b in (self.min, self.max, self.above, self.below))
        if bounded and self._item_type not in (int, float):
            raise TypeError(f"parameter '{self.name}': bounds apply to numbers only, not {self.type_name}")
        if self.length is not None and self.type not in LIST_TYPES:
            raise TypeError(f"parameter '{self.name}': length applies to lists only")
        if self.path and self.type is not str:
            raise TypeError(f"parameter '{self.name}': path applies to str parameters only")
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, where="its default"))

    @property
    def type_name(self) -> str:
        return type_name(self.type)

    @property
    def _item_type(self) -> type:
        return self.type.__args__[0] if self.type in LIST_TYPES else self.type

    @property
    def range(self) -> str:
        """The bounds as an interval, e.g. ``[0, 1)`` or ``> 0`` ("" when unbounded), plus the off value."""
        low = f"[{_number(self.min)}" if self.min is not None else f"({_number(self.above)}" \
            if self.above is not None else None
        high = f"{_number(self.max)}]" if self.max is not None else f"{_number(self.below)})" \
            if self.below is not None else None
        if low and high:
            text = f"{low}, {high}"
        elif low:
            text = (">= " if low[0] == "[" else "> ") + low[1:]
        elif high:
            text = ("<= " if high[-1] == "]" else "< ") + high[:-1]
        else:
            text = ""
        if self.length is not None:
            text = f"{self.length} items" + (f", each {text}" if text else "")
        if self.off is not None:
            text += f"{'; ' if text else ''}{_number(self.off)} = off"
        return text

    def parse(self, text: str) -> Any:
        """Parse a command-line string (``--set kind.name=TEXT``) by the declared type."""
        text = text.strip()
        if self.default is None and text.lower() in {"none", "null", ""}:
            return None
        if self.type in LIST_TYPES:
            inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
            items = [item.strip().strip("'\"") for item in inner.split(",")]
            if "" in items:
                raise ParameterError(f"parameter '{self.name}' got {text!r}, which has an empty item; write the "
                                     f"items separated by single commas (e.g. {self.name}={self._example()})")
            return self.coerce([self._parse_scalar(self._item_type, item) for item in items])
        return self.coerce(self._parse_scalar(self.type, text))

    def _parse_scalar(self, tp: type, text: str) -> Any:
        try:
            if tp is bool:
                lowered = text.lower()
                if lowered in _TRUE | _FALSE:
                    return lowered in _TRUE
                raise ValueError
            return tp(text)
        except ValueError:
            raise ParameterError(self._bad(text)) from None

    def coerce(self, value: Any, where: str = "") -> Any:
        """Check a value (e.g. from TOML) against the declaration; ints are accepted where floats are. Returns the
        value as stored: the off value of an optional parameter becomes None."""
        if value is None and self.default is None:
            return None
        if self.off is not None and _equal(value, self.off):
            return None if self.default is None else self.off
        if self.type in LIST_TYPES:
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ParameterError(self._bad(value, where))
            value = [self._coerce_scalar(self._item_type, item, where) for item in value]
            if not value or (self.length is not None and len(value) != self.length):
                count = f"{self.length} items" if self.length is not None else "at least one item"
                raise ParameterError(f"parameter '{self.name}' needs {count}, got {value!r}{_at(where)} "
                                     f"(e.g. {self.name}={self._example()})")
        else:
            value = self._coerce_scalar(self.type, value, where)
        for item in value if isinstance(value, list) else [value]:
            self._check(item, value, where)
        if self.path and value:
            value = os.path.abspath(os.path.expanduser(value))
        return value

    def _check(self, item: Any, value: Any, where: str) -> None:
        if self.choices is not None and item not in self.choices:
            options = ", ".join(map(str, self.choices))
            raise ParameterError(f"parameter '{self.name}' got {item!r}{_at(where)}; choose one of: {options}")
        if not isinstance(item, _NUMBER) or isinstance(item, bool):
            return
        inside = ((self.min is None or item >= self.min) and (self.max is None or item <= self.max)
                  and (self.above is None or item > self.above) and (self.below is None or item < self.below))
        if not inside:
            what = f"every item of '{self.name}'" if isinstance(value, list) else f"'{self.name}'"
            off = f" (or {_number(self.off)} for off)" if self.off is not None else ""
            bounds = self.range.split("; ")[0].replace(f"{self.length} items, each ", "")
            got = f"{value!r}" if isinstance(value, list) else _number(item)
            raise ParameterError(f"{what} must be {_words(bounds)}{off}, got {got}{_at(where)}")

    def _coerce_scalar(self, tp: type, value: Any, where: str) -> Any:
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if tp is float and isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"parameter '{self.name}' got {value}{_at(where)}; it must be a finite number")
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return value
        raise ParameterError(self._bad(value, where))

    def _example(self) -> str:
        if self.default is not None:
            return ",".join(map(str, self.default)) if isinstance(self.default, list) else str(self.default)
        return {"int": "3", "float": "0.5", "bool": "true", "str": "text", "list[str]": "a,b"}.get(self.type_name,
                                                                                                 "1,2")

    def _bad(self, value: Any, where: str = "") -> str:
        example = {"int": "3", "float": "0.5", "bool": "true", "str": "text"}.get(self.type_name, "1,2,3")
        return (f"parameter '{self.name}' expects {self.type_name}, got {value!r}{_at(where)} "
                f"(e.g. {self.name}={example})")


def _equal(value: Any, off: Any) -> bool:
    if isinstance(value, bool) or isinstance(off, bool):
        return value is off
    return value == off if isinstance(value, (int, float, str)) else False


def _at(where: str) -> str:
    return f" in {where}" if where else ""


def _words(interval: str) -> str:
    """``[0, 1)`` -> ``in [0, 1)``; ``> 0`` -> ``> 0``."""
    return f"in {interval}" if interval[:1] in "[(" else interval


def find_param(declared: Sequence[Param], key: str, owner: str) -> Param:
    """The declaration named ``key``, or a "did you mean" error listing ``owner``'s parameters."""
    by_name = {p.name: p for p in declared}
    if key not in by_name:
        known = ", ".join(by_name) or "none"
        raise ParameterError(f"{owner} has no parameter '{key}'{did_you_mean(key, by_name)} (its parameters: {known})")
    return by_name[key]


def resolve_params(
    declared: Sequence[Param], given: Mapping[str, Any], owner: str
) -> dict[str, Any]:
    """Fill in defaults and validate ``given`` (already-typed values) against ``declared``.

    ``owner`` names the component in error messages, e.g. "generator 'mlp'".
    """
    for key in given:
        find_param(declared, key, owner)
    resolved = {}
    for param in declared:
        if param.name in given:
            try:
                resolved[param.name] = param.coerce(given[param.name])
            except ParameterError as err:
                raise ParameterError(f"{owner}: {err}") from None
        else:
            resolved[param.name] = list(param.default) if isinstance(param.default, list) else param.default
    return resolved
