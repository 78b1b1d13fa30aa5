"""Read TOML with the standard library and write the small subset ganzoo's config files use."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, first_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def read_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file; a missing or invalid file is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        # TOML forbids a byte-order mark, but Windows editors write one: strip it rather than fail on line 1
        return tomllib.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; check the path") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {first_line(err)}; correct it there "
                          f"(syntax: https://toml.io)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text, as TOML requires; save it as UTF-8") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory; give a .toml file") from None
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from None


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_tables(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Top-level scalars first, then one ``[table]`` per mapping and one ``[[table]]`` per mapping in a list of
    them; ``None`` values are left out (TOML has no null)."""
    lines = [f"{key} = {_value(v)}" for key, v in data.items()
             if v is not None and not isinstance(v, Mapping) and not _is_tables(v)]
    for key, value in data.items():
        for table, header in ([(value, f"[{key}]")] if isinstance(value, Mapping) else
                              [(t, f"[[{key}]]") for t in value] if _is_tables(value) else []):
            lines += ["", header]
            lines += [f"{k} = {_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"
