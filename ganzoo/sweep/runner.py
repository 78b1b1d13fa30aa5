"""Running a sweep: check every member before anything trains, write the plan, split the pending members into
units (populations where they stack, single processes where they do not), hand the units to an engine, and rank
what came back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigError, GanzooError, PluginError, first_line
from ..registry.registry import Registry
from .engine import Engine, SweepUnit
from .plan import Member
from .store import FAILED, SweepDir
from .worker import INTERRUPTED


@dataclass
class Group:
    """Members that run the same way: ``stacked`` as populations, else one process each; ``why`` says why."""

    members: list[Member]
    stacked: bool
    why: str


def check_members(members: list[Member], registry: Registry) -> list[Any]:
    """Every member's resolved config; the first that cannot run is one line naming it, before anything trains."""
    from ..api import check_plan

    configs = []
    for member in members:
        with _naming(member):
            configs.append(check_plan(registry, **member.kwargs))
    return configs


def check_named_metrics(members: list[Member], configs: list[Any], registry: Registry) -> None:
    """Metrics a member names with ``--metrics`` must run here (a metric can say it cannot: its weights or extra are
    not installed) and apply to its data, which that needs: each dataset is loaded once, and let go before the next.
    Members that name none are judged by whatever applies, with notes, and load nothing here."""
    import torch

    from ..run.evaluation import Evaluator
    from ..training.assemble import load_data

    by_data: dict[str, list[tuple[Member, Any]]] = {}
    for member, cfg in zip(members, configs):
        if cfg.metrics:
            by_data.setdefault(cfg.data_key(), []).append((member, cfg))
    for named in by_data.values():
        checked: set[tuple[str, ...]] = set()
        data = None
        for member, cfg in named:
            if tuple(cfg.metrics) in checked:
                continue
            with _naming(member):
                data = load_data(registry, cfg) if data is None else data
                Evaluator(registry, cfg, data, torch.device("cpu"), metrics=cfg.metrics)
            checked.add(tuple(cfg.metrics))


@contextmanager
def _naming(member: Member) -> Iterator[None]:
    """A ganzoo error about ``member`` as one line naming it."""
    try:
        yield
    except GanzooError as err:
        raise ConfigError(f"sweep member {member.name} ({member.label}, seed {member.seed}) cannot run: "
                          f"{first_line(err)}") from None


def engine_jobs(engine: Engine) -> int | None:
    """The engine's :meth:`~Engine.default_jobs`, checked (a plugin's answer)."""
    jobs = engine.default_jobs()
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise PluginError(f"engine {type(engine).__name__}: default_jobs() returned {jobs!r}; expected None or a "
                          f"whole number >= 1")
    return jobs


#: Why stackable members run as processes on a CPU unless asked (``benchmarks/bench_population.py`` on the 2-core VM).
CPU_POPULATIONS = ("on a CPU a population trained 0.58-1.01x the member-steps per second of one run (its matrix "
                   "products do not shrink when batched), so each trains alone; --stack trains them as populations "
                   "anyway")


def group_members(members: list[Member], configs: list[Any], registry: Registry, stack: bool | None,
                  on_gpu: bool) -> list[Group]:
    """Which members train as populations, and why the others do not. ``stack`` None decides by the device:
    populations on a GPU (where a small model's step is kernel launches), processes on a CPU."""
    if stack is False:
        return [Group(members, False, "--no-stack")]
    from ..training.population import stack_groups

    groups = []
    for group in stack_groups(configs, registry, probe=bool(stack) or on_gpu):  # a CPU's default stacks nothing
        stacked = group.stackable and len(group.members) > 1
        why = group.reason
        if stacked and stack is None and not on_gpu:
            stacked, why = False, f"{why}; {CPU_POPULATIONS}"
        groups.append(Group([members[i] for i in group.members], stacked, why))
    return groups


def thread_budget() -> int:
    """The threads a sweep may spend, shared by all its processes: ``OMP_NUM_THREADS`` where the user set it (so two
    sweeps started side by side with OMP_NUM_THREADS=1 do not each spin every core), else the cores it may run on."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    budget = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(available, int(budget)) if budget.isdigit() and int(budget) > 0 else available


#: Why members that train alone share a process: each process pays for Python and torch starting (about 3 s of CPU
#: on the 2-core VM), and its evaluator builds what the metrics compute from real data, once for all its members.
IN_TURN = "one process per share of the cores, training its members in turn (Python and torch start once)"


def units_for(sweep: SweepDir, groups: list[Group], jobs: int, gpus: int,
              steps: dict[str, int] | None = None) -> list[SweepUnit]:
    """One unit per population (a stacked group split into up to ``jobs`` populations, so every core works), and
    the members that train alone split into up to ``jobs`` units that train theirs in turn, balanced by their
    ``steps``; each unit with its share of the cores (and a GPU of its own, round robin, where there are GPUs)."""
    alone = [m for g in groups if not g.stacked for m in g.members]
    total = sum(min(jobs, len(g.members)) for g in groups if g.stacked) + min(jobs, len(alone))
    threads = max(1, thread_budget() // max(1, min(jobs, total)))
    path = sweep.path.resolve()
    units = []
    for group in groups:
        if group.stacked:
            parts = min(jobs, len(group.members))
            for k in range(parts):
                names = tuple(m.name for m in group.members[k::parts])
                units.append(SweepUnit(path, names, threads, len(names) > 1, group.why))
    units += [SweepUnit(path, names, threads, False, IN_TURN) for names in _balanced(alone, jobs, steps or {})]
    if gpus:  # the GPUs this process sees, by the ids its own CUDA_VISIBLE_DEVICES gives them
        visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        ids = visible[:gpus] if len(visible) >= gpus else [str(i) for i in range(gpus)]
        units = [SweepUnit(u.sweep_dir, u.names, u.threads, u.population, u.why, ids[i % gpus])
                 for i, u in enumerate(units)]
    return units


def _balanced(members: list[Member], parts: int, steps: dict[str, int]) -> list[tuple[str, ...]]:
    """``members`` in at most ``parts`` shares of about equal steps (the longest first, each to the lightest share),
    each share in plan order."""
    shares: list[list[Member]] = [[] for _ in range(min(parts, len(members)))]
    loads = [0] * len(shares)
    for member in sorted(members, key=lambda m: -steps.get(m.name, 1)):
        k = loads.index(min(loads))
        shares[k].append(member)
        loads[k] += steps.get(member.name, 1)
    order = {m.name: i for i, m in enumerate(members)}
    return [tuple(sorted((m.name for m in share), key=order.__getitem__)) for share in shares]


def build_engine(registry: Registry, name: str, params: dict[str, str]) -> Engine:
    spec = registry.get("engines", name)
    engine = spec.call("building it", spec.factory, **spec.resolve(params))
    if not isinstance(engine, Engine):
        raise PluginError(f"{spec.owner}: factory returned {type(engine).__name__}, not a ganzoo.Engine")
    return engine


def run_units(sweep: SweepDir, engine: Engine, units: list[SweepUnit], jobs: int,
              tick: Callable[[], None]) -> list[str]:
    """Run the units. A unit of several members whose process crashed (not a member's error: those are outcomes)
    has its unfinished members run again, one unit each, so the crash is charged to the member that caused it; a
    unit of one that crashed marks its member failed, naming its log. Returns those lines."""
    crashed: list[str] = []
    while units:
        codes = engine.run(units, jobs, tick)
        again = []
        for unit, code in zip(units, codes):
            if code in (0, INTERRUPTED):
                continue
            left = [name for name in unit.names if sweep.outcome(name) is None]
            if len(unit.names) > 1:
                again += [replace(unit, names=(name,), population=False) for name in left]
                continue
            for name in left:
                message = f"its process exited with status {code}; see {sweep.path / 'logs' / name}.log"
                sweep.write_outcome(name, {"status": FAILED, "message": message, "finished": time.time()})
                crashed.append(f"{name}: {message}")
        units = again
    return crashed


def progress_of(sweep: SweepDir, members: list[Member], steps: dict[str, int]) -> tuple[int, int]:
    """(members ended, steps trained so far over all members), from the files the members write."""
    ended = trained = 0
    for member in members:
        if sweep.outcome(member.name) is not None:
            ended += 1
            trained += steps.get(member.name, 0)
            continue
        path = sweep.run_dir(member.name).metrics_path
        trained += _last_step(path)
    return ended, trained


def _last_step(path) -> int:
    """The step of a metrics file's last whole line (read from its end: files grow long)."""
    import json

    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0
