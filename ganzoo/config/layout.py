"""The layout shared by config files, recipes, defaults records and components' suggestions.

Options sit at the top; each slot of ``ganzoo/registry/kinds.py`` has a table with an optional ``name`` and the
component's parameters (``generator = "NAME"`` is short for a table), and the slots that hold several have a list of
tables (a bare name is a list of one). A group (``opt``) has a table of its own, whose ``name`` chooses every slot of
the group and whose parameters reach the group's components that declare them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..registry.kinds import MOVED_KEYS, SLOT_GROUPS, SLOTS, Slot
from .options import option_params
from .toml import read_toml


def load_config_file(path: Path | str) -> dict[str, Any]:
    """Read a config file and reject unknown top-level keys and malformed component tables."""
    data = check_layout(read_toml(path), f"config file {path}")
    if not isinstance(data.get("recipe", ""), str):
        raise ConfigError(f"config file {path}: recipe must be a recipe's name (see `ganzoo recipes`)")
    return data


def _table(value: Any, where: str, key: str, in_list: bool = False) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    named = isinstance(value, Mapping) and isinstance(value.get("name", ""), str)
    if not named or (in_list and "name" not in value):
        if in_list:
            raise ConfigError(f"{where}: {key} entries must be tables with a 'name' (or {key} = [\"NAME\"])")
        raise ConfigError(f"{where}: [{key}] must be a table with a 'name' (or {key} = \"NAME\")")
    return dict(value)


def check_layout(data: Mapping[str, Any], where: str, recipe_key: bool = True) -> dict[str, Any]:
    """Check the layout and normalise it (tables for bare names, lists for the slots holding several, keys older
    files wrote at the top moved into their group's table). ``where`` starts each error (``config file x.toml``,
    ``recipe 'y' (ganzoo 0.1.0)``); ``recipe_key``: whether ``recipe = NAME`` is allowed."""
    options = option_params()
    known = [*(["recipe"] if recipe_key else []), *options, *SLOTS, *SLOT_GROUPS, *MOVED_KEYS]
    out: dict[str, Any] = {}
    moved: dict[str, Any] = {}
    for key, value in data.items():
        slot = SLOTS.get(key)
        if key in MOVED_KEYS:
            moved[key] = value
        elif key in SLOT_GROUPS:
            out[key] = _table(value, where, key)
        elif slot is not None and slot.many:
            items = [value] if isinstance(value, (str, Mapping)) else value
            if not isinstance(items, (list, tuple)):
                raise ConfigError(f"{where}: {key} must be a list of tables with a 'name' (or {key} = [\"NAME\"])")
            out[key] = [_table(item, where, key, in_list=True) for item in items]
        elif slot is not None:
            out[key] = _table(value, where, key)
        elif key in options or (key == "recipe" and recipe_key):
            out[key] = value
        else:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(key, known)}")
    for key, value in moved.items():  # the group's own table wins over an old top-level key
        group, param = MOVED_KEYS[key].split(".")
        out.setdefault(group, {}).setdefault(param, value)
    return out


def slot_tables(settings: Mapping[str, Any], slot: Slot) -> list[tuple[dict[str, Any], bool]]:
    """The tables of one layer's settings that address ``slot``, lowest first: its groups' tables (``True``: their
    parameters reach the component only when it declares them) and then its own."""
    tables = [(settings[group], True) for group, members in SLOT_GROUPS.items()
              if slot.name in members and group in settings]
    if slot.name in settings and not slot.many:
        tables.append((settings[slot.name], False))
    return tables
