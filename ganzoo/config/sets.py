"""``--set KIND.PARAM=VALUE``: one component parameter from the command line, kept as text until its declaration
parses it."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError, did_you_mean
from ..registry.kinds import SLOT_GROUPS, SLOTS, slot_named

#: ``{slot or group: {item name or None: {param: text}}}``
Sets = dict[str, dict[str | None, dict[str, str]]]


def parse_set(items: Iterable[str]) -> Sets:
    """``--set SLOT.PARAM=VALUE`` (``SLOT.NAME.PARAM=VALUE`` for a slot holding several, ``GROUP.PARAM=VALUE`` for
    every component of a group, e.g. ``opt.betas=0,0.9``), values still text."""
    out: Sets = {}
    prefixes = [*(n for s in SLOTS.values() for n in (s.name, *s.aliases)), *SLOT_GROUPS]
    for item in items:
        key, eq, value = item.partition("=")
        prefix, dot, param = key.strip().rpartition(".")
        head, _, item_name = prefix.partition(".")
        if not eq or not dot or not param or not head:
            raise ConfigError(f"--set {item!r} must look like KIND.PARAM=VALUE, e.g. generator.hidden=256,512")
        if head in SLOT_GROUPS:
            if item_name:
                raise ConfigError(f"--set {item!r}: {head} sets every {head} component; write {head}.{param}=...")
            out.setdefault(head, {}).setdefault(None, {})[param] = value
            continue
        slot = slot_named(head)
        if slot is None:
            raise ConfigError(f"--set {item!r}: unknown component kind '{head}'{did_you_mean(head, prefixes)} "
                              f"(one of {', '.join([*SLOTS, *SLOT_GROUPS])})")
        if item_name and not slot.many:
            raise ConfigError(f"--set {item!r}: {slot.name} holds one component; write {slot.name}.{param}=...")
        out.setdefault(slot.name, {}).setdefault(item_name or None, {})[param] = value
    return out
