"""Declared parameters: one declaration read by the CLI, ``ganzoo list``, config files and validation alike."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError, did_you_mean

#: The parameter types a component may declare. Lists are written ``256,512`` on the command line.
SCALAR_TYPES = (int, float, bool, str)
LIST_TYPES = (list[int], list[float], list[str])
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def type_name(tp: Any) -> str:
    """``int``, ``list[int]``... as shown to users."""
    return tp.__name__ if tp in SCALAR_TYPES else str(tp)


@dataclass(frozen=True)
class Param:
    """One parameter of a component.

    ``type`` is one of int, float, bool, str, list[int], list[float], list[str]. A ``default`` of ``None`` means
    "optional, not set". ``choices`` restricts the allowed values.
    """

    name: str
    type: Any
    default: Any
    help: str
    choices: tuple | None = None

    def __post_init__(self) -> None:
        if self.type not in SCALAR_TYPES + LIST_TYPES:
            allowed = ", ".join(type_name(t) for t in SCALAR_TYPES + LIST_TYPES)
            raise TypeError(f"parameter '{self.name}': type {self.type!r} is not one of {allowed}")
        if not self.name.isidentifier():
            raise TypeError(f"parameter name {self.name!r} is not an identifier")
        if self.default is not None:
            object.__setattr__(self, "default", self.coerce(self.default, where="its default"))

    @property
    def type_name(self) -> str:
        return type_name(self.type)

    def parse(self, text: str) -> Any:
        """Parse a command-line string (``--set kind.name=TEXT``) by the declared type."""
        text = text.strip()
        if self.default is None and text.lower() in {"none", "null", ""}:
            return None
        if self.type in LIST_TYPES:
            inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
            items = [item.strip().strip("'\"") for item in inner.split(",") if item.strip()]
            return self.coerce([self._parse_scalar(self.type.__args__[0], item) for item in items])
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
        """Check a value (e.g. from TOML) against the declared type; ints are accepted where floats are."""
        if value is None and self.default is None:
            return None
        if self.type in LIST_TYPES:
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ParameterError(self._bad(value, where))
            value = [self._coerce_scalar(self.type.__args__[0], item, where) for item in value]
        else:
            value = self._coerce_scalar(self.type, value, where)
        if self.choices is not None:
            bad = [v for v in (value if isinstance(value, list) else [value]) if v not in self.choices]
            if bad:
                options = ", ".join(map(str, self.choices))
                raise ParameterError(f"parameter '{self.name}' got {bad[0]!r}; choose one of: {options}")
        return value

    def _coerce_scalar(self, tp: type, value: Any, where: str) -> Any:
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if tp is float and isinstance(value, float) and not math.isfinite(value):
            at = f" in {where}" if where else ""
            raise ParameterError(f"parameter '{self.name}' got {value}{at}; it must be a finite number")
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return value
        raise ParameterError(self._bad(value, where))

    def _bad(self, value: Any, where: str = "") -> str:
        at = f" in {where}" if where else ""
        example = {"int": "3", "float": "0.5", "bool": "true", "str": "text"}.get(self.type_name, "1,2,3")
        return (
            f"parameter '{self.name}' expects {self.type_name}, got {value!r}{at} "
            f"(e.g. {self.name}={example})"
        )


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
