"""A sweep's plan: the configurations to compare, crossed with seeds, each member an ordinary ``ganzoo train``.

The plan comes from ``ganzoo train``'s own flags, where a value may list alternatives (``-l bce,hinge``, ``--lr-d
1e-4,2e-4``, ``--set loss.real_label=0.9,1.0``, ``--seed 0,1,2`` or ``--seeds 3``), and from a TOML sweep file with
a grid and a random search. A parameter that itself takes a list (``--betas 0,0.9``, ``generator.hidden=256,512``)
separates its alternatives with ``|``; a slot holding several components joins one alternative's with ``+``
(``--reg none,r1,r1+lecam``). Each member is the keyword arguments of :func:`ganzoo.train`, so that the plan is
written once (``plan.json``) and a member runs the same anywhere.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import flag_message, option_params
from ..config.toml import read_toml
from ..errors import ConfigError, ParameterError, did_you_mean
from ..registry.kinds import SHORTHANDS, SLOT_GROUPS, SLOTS, slot_named
from ..registry.params import LIST_TYPES
from ..registry.registry import Registry

#: Keys that name neither an option nor a slot: a whole recipe, and the seeds (which every configuration repeats).
RECIPE, SEED = "recipe", "seed"
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "choice")


@dataclass(frozen=True)
class Member:
    """One run of the sweep: its configuration's index and description, its seed, and :func:`ganzoo.train`'s
    keyword arguments (``out`` aside)."""

    name: str  # its directory under members/
    config: int  # which configuration: members differing only in seed share it
    label: str  # the configuration, as the settings that vary ("loss=hinge lr_d=0.0002"), or "(base)"
    seed: int
    kwargs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config, "label": self.label, "seed": self.seed,
                "kwargs": self.kwargs}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Member:
        return cls(d["name"], int(d["config"]), d["label"], int(d["seed"]), dict(d["kwargs"]))


def _list_valued(key: str, registry: Registry, names: Iterable[str]) -> bool:
    """Whether ``key`` (an option, a shorthand, or ``KIND.PARAM`` of the named components) takes a list."""
    if key in SHORTHANDS:
        return True
    declared = option_params()
    if key in declared:
        return declared[key].type in LIST_TYPES
    head, _, param = key.rpartition(".")
    slot = slot_named(head.partition(".")[0])
    kinds = {SLOTS[s].kind for s in SLOT_GROUPS.get(head, ())} | ({slot.kind} if slot else set())
    for kind in kinds:
        for provided in registry.components(kind):
            if names and provided.spec.name not in names:
                continue
            for p in provided.spec.params:
                if p.name == param and p.type in LIST_TYPES:
                    return True
    return False


def alternatives(key: str, text: str, registry: Registry, names: Iterable[str] = ()) -> list[str]:
    """The alternatives a flag's text lists: split on ``|``, else on commas unless the parameter takes a list."""
    if "|" in text:
        parts = text.split("|")
    elif "," in text and not _list_valued(key, registry, set(names)):
        parts = text.split(",")
    else:
        parts = [text]
    parts = [p.strip() for p in parts]
    if any(not p for p in parts):
        raise ConfigError(f"{_flag(key)} {text!r}: an empty alternative; list values as a,b,c")
    return parts


def _flag(key: str) -> str:
    if "." in key:
        return f"--set {key}="
    return {RECIPE: "--recipe", SEED: "--seed"}.get(key, "--" + key.replace("_", "-"))


def _slot_value(key: str, text: str) -> Any:
    """A slot's alternative: a name, or for a slot of several the ``+``-joined names (``none``: no component)."""
    slot = slot_named(key)
    if slot is None or not slot.many:
        return text
    return [] if text == "none" else [n.strip() for n in text.split("+") if n.strip()]


def _typed(key: str, value: Any) -> Any:
    """An option's alternative parsed by its declaration (text from the command line, or a TOML value)."""
    declared = option_params()
    if key not in declared:
        return value
    param = declared[key]
    text = value if isinstance(value, str) else (",".join(map(str, value)) if isinstance(value, list)
                                                  else str(value).lower() if isinstance(value, bool) else str(value))
    try:
        return param.parse(text)
    except ParameterError as err:
        raise ConfigError(flag_message(key, err)) from None


def check_key(key: str) -> None:
    """A sweep key names a recipe, an option, a slot (or group, or shorthand), or ``KIND.PARAM``."""
    if "." in key or key in (RECIPE, SEED, "config"):
        return
    known = [*option_params(), *SLOTS, *SLOT_GROUPS, *SHORTHANDS, RECIPE, SEED]
    if slot_named(key) is None and key not in known:
        raise ConfigError(f"unknown sweep setting '{key}'{did_you_mean(key, known)}; give an option, a component "
                          f"slot (loss, regularisers...), recipe, seed, or KIND.PARAM")


def value_of(key: str, value: Any) -> Any:
    """One alternative in the form :func:`ganzoo.train` takes it."""
    if "." in key:  # --set text
        return ",".join(map(str, value)) if isinstance(value, list) else str(value).lower() \
            if isinstance(value, bool) else str(value)
    if slot_named(key) is not None and isinstance(value, str):
        return _slot_value(key, value)
    return _typed(key, value)


def shown(value: Any) -> str:
    if isinstance(value, list) and not value:
        return "none"
    if isinstance(value, list):
        return "+".join(map(str, value)) if all(isinstance(v, str) for v in value) else ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+=-]+", "-", text).strip("-")[:60] or "base"


def members(fixed: Mapping[str, Any], axes: list[tuple[str, list[Any]]], seeds: list[int],
            draws: list[dict[str, Any]] | None = None) -> list[Member]:
    """Every configuration (the grid of ``axes`` crossed with each random ``draw``) repeated for each seed, seeds
    innermost."""
    grid = [dict(zip([k for k, _ in axes], combo)) for combo in itertools.product(*(v for _, v in axes))]
    points = [{**g, **d} for g in grid for d in (draws or [{}])]
    width = len(str(len(points) - 1))
    out = []
    for index, point in enumerate(points):
        varied = " ".join(f"{k}={shown(v)}" for k, v in point.items())
        label = varied or "(base)"
        for seed in seeds:
            kwargs = _kwargs({**fixed, **point})
            kwargs[SEED] = seed
            out.append(Member(f"{index:0{width}d}-{_slug(varied.replace(' ', '_'))}-seed{seed}", index, label,
                              seed, kwargs))
    return out


def _kwargs(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings keyed as the sweep names them -> :func:`ganzoo.train`'s keyword arguments."""
    kwargs: dict[str, Any] = {"set": []}
    for key, value in settings.items():
        if "." in key:
            kwargs["set"].append(f"{key}={value}")
        else:
            kwargs[key] = value
    if not kwargs["set"]:
        del kwargs["set"]
    return kwargs


def draw_random(space: Mapping[str, Mapping[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` points of a random search, reproducible from ``seed``: each key from its distribution
    (``uniform``/``log_uniform``/``int_uniform`` = [low, high], ``choice`` = [values])."""
    rng = random.Random(seed)
    draws = []
    for _ in range(count):
        point = {}
        for key, dist in space.items():
            (kind, bounds), = dist.items()
            if kind == "choice":
                point[key] = value_of(key, rng.choice(bounds))
                continue
            low, high = bounds
            raw = (rng.uniform(low, high) if kind == "uniform" else rng.randint(int(low), int(high))
                   if kind == "int_uniform" else math.exp(rng.uniform(math.log(low), math.log(high))))
            point[key] = value_of(key, float(f"{raw:.4g}") if kind != "int_uniform" else raw)
        draws.append(point)
    return draws


def _check_distribution(key: str, dist: Any, where: str) -> None:
    if not isinstance(dist, dict) or len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        raise ConfigError(f"{where}: {key} must be one of {{ uniform = [low, high] }}, {{ log_uniform = [low, "
                          f"high] }}, {{ int_uniform = [low, high] }}, {{ choice = [values] }}")
    (kind, bounds), = dist.items()
    if not isinstance(bounds, list) or not bounds or (kind != "choice" and len(bounds) != 2):
        raise ConfigError(f"{where}: {key}'s {kind} needs {'a list of values' if kind == 'choice' else '[low, high]'}")
    if kind == "log_uniform" and min(bounds) <= 0:
        raise ConfigError(f"{where}: {key}'s log_uniform bounds must be above 0, got {bounds}")


def read_sweep_file(path: Path) -> dict[str, Any]:
    """A TOML sweep file: ``seeds`` (a count) or ``seed`` (a list), ``[fixed]`` settings, ``[grid]`` keys with lists
    of values, ``[random]`` with ``count``, ``seed`` and a distribution per key."""
    try:
        data = read_toml(path)
    except (OSError, ConfigError) as err:
        raise ConfigError(f"sweep file {path}: {err}") from None
    allowed = {"seeds", "seed", "fixed", "grid", "random", "recipe", "config"}
    for key in data:
        if key not in allowed:
            raise ConfigError(f"sweep file {path}: unknown key '{key}'{did_you_mean(key, allowed)} (one of "
                              f"{', '.join(sorted(allowed))})")
    for section in ("fixed", "grid", "random"):
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(f"sweep file {path}: {section} must be a table ([{section}])")
    if "seeds" in data and (not isinstance(data["seeds"], int) or isinstance(data["seeds"], bool) or
                            data["seeds"] < 1):
        raise ConfigError(f"sweep file {path}: seeds must be a count of at least 1, got {data['seeds']!r}")
    if "seed" in data and (not isinstance(data["seed"], list) or not data["seed"] or
                           not all(isinstance(v, int) and not isinstance(v, bool) for v in data["seed"])):
        raise ConfigError(f"sweep file {path}: seed must be a list of integers (seed = [0, 1, 2]), or give seeds = N")
    for key in [*data.get("fixed", {}), *data.get("grid", {})]:
        if key == SEED:
            raise ConfigError(f"sweep file {path}: the seeds are seed = [...] or seeds = N at the top, not a setting")
        check_key(key)
    for key, values in data.get("grid", {}).items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"sweep file {path}: grid.{key} must be a non-empty list of values")
    space = dict(data.get("random", {}))
    count, seed = space.pop("count", None), space.pop("seed", 0)
    if space and (not isinstance(count, int) or count < 1):
        raise ConfigError(f"sweep file {path}: [random] needs count = N (how many configurations to draw)")
    if count and not space:
        raise ConfigError(f"sweep file {path}: [random] draws {count} configurations but gives no distribution to "
                          f"draw them from (e.g. lr_d = {{ log_uniform = [1e-5, 1e-3] }})")
    for key, dist in space.items():
        check_key(key)
        _check_distribution(key, dist, f"sweep file {path}")
    data["random"] = {"space": space, "count": count or 0, "seed": seed}
    return data
