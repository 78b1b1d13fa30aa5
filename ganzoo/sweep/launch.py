"""``ganzoo sweep`` from start to end: the plan from flags and a sweep file, the checks, the units on an engine with
a progress line, the leaderboard written and shown. A second run of the same command resumes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import option_params
from ..errors import ConfigError, GanzooError, PluginError, first_line
from ..registry.registry import Registry
from . import board as boards
from .plan import SEED, Member, draw_random, members, read_sweep_file, value_of
from .runner import (
    IN_TURN,
    build_engine,
    check_members,
    check_named_metrics,
    engine_jobs,
    group_members,
    progress_of,
    run_units,
    thread_budget,
    units_for,
)
from .store import DONE, SweepDir
from .worker import INTERRUPTED


def plan_members(fixed: dict[str, Any], axes: list[tuple[str, list[Any]]], seeds: list[int],
                 sweep_file: Path | None) -> list[Member]:
    """The members of the flags, and of a sweep file's ``[fixed]``, ``[grid]`` and ``[random]`` (flags win)."""
    draws = None
    if sweep_file is not None:
        data = read_sweep_file(sweep_file)
        file_fixed = {k: value_of(k, v) for k, v in data.get("fixed", {}).items()}
        for key in ("recipe", "config"):
            if key in data:
                file_fixed[key] = data[key]
        given = {k for k, _ in axes} | set(fixed)
        axes = [(k, [value_of(k, v) for v in vs]) for k, vs in data.get("grid", {}).items() if k not in given] + axes
        fixed = {**{k: v for k, v in file_fixed.items() if k not in {a for a, _ in axes}}, **fixed}
        random = data["random"]
        if random["count"]:
            draws = draw_random(random["space"], random["count"], random["seed"])
        if not seeds:
            seeds = ([int(s) for s in data["seed"]] if "seed" in data
                     else list(range(int(data["seeds"]))) if "seeds" in data else [])
    seeds = seeds or [option_params()[SEED].default]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seed lists a seed twice: {seeds}")
    planned = members(fixed, axes, seeds, draws)
    if len(planned) > 10_000:
        raise ConfigError(f"the sweep has {len(planned):,} members; split it (at most 10,000)")
    return planned


def launch(out: Path, plan: dict[str, Any], registry: Registry, engine_name: str, engine_params: dict[str, str],
           jobs: int | None, by: str | None, stack: bool | None, retry_failed: bool, say: Console,
           show: Console) -> int:
    planned: list[Member] = plan["members"]
    configs = check_members(planned, registry)  # nothing trains unless every member can
    engine = build_engine(registry, engine_name, engine_params)  # a missing optional package fails here, too
    sweep = SweepDir(out)
    resumed = sweep.check_same_plan(plan)
    index = {m.name: i for i, m in enumerate(planned)}
    # what this run will train (read again under the lock below; this only decides what to check and ask)
    waiting = [m for m in planned if (o := sweep.outcome(m.name)) is None or (retry_failed and o["status"] != DONE)]
    if engine.runs_here:  # a cluster's members may read data and weights this machine lacks
        check_named_metrics(waiting, [configs[index[m.name]] for m in waiting], registry)
    gpus = _gpus(configs)
    jobs = jobs or (engine_jobs(engine) if waiting else None) or gpus or thread_budget()
    with sweep.lock():
        if not resumed:
            sweep.write_plan({**plan, "members": [m.to_dict() for m in planned]})
        if retry_failed:
            for member in planned:
                outcome = sweep.outcome(member.name)
                if outcome is not None and outcome["status"] != DONE:
                    sweep.outcome_path(member.name).unlink()
        pending = sweep.pending(planned)
        groups = group_members(pending, [configs[index[m.name]] for m in pending], registry, stack, gpus > 0)
        steps = {m.name: c.steps for m, c in zip(planned, configs)}
        units = units_for(sweep, groups, jobs, gpus, steps)
        configurations = len({m.config for m in planned})
        say.print(f"sweep {sweep.path}: {len(planned)} members ({configurations} configurations x "
                  f"{len(planned) // max(1, configurations)} seeds); {len(planned) - len(pending)} already ended"
                  + f"; engine {engine_name}, {jobs} at once")
        for group in groups:
            how = "as populations" if group.stacked else "trained alone"
            say.print(f"  {len(group.members)} member(s) {how}: {group.why}")
        alone = [u for u in units if not u.population and u.why == IN_TURN]
        if alone:
            say.print(f"  {sum(len(u.names) for u in alone)} member(s) trained alone share {len(alone)} "
                      f"process(es): {IN_TURN}")
        code = _run(sweep, engine, engine_name, units, jobs, planned, steps, say) if units else 0
    board = boards.read_board(sweep, by)
    _write_board(sweep, board)
    show.print(boards.board_table(board, str(sweep.path)))
    failed = [(m, o) for row in board.rows for m, o in row.failed]
    for member, outcome in failed:
        say.print(f"  {member.name}: {outcome['status']}: {outcome.get('message', '')}")
    if code == INTERRUPTED:
        say.print(f"stopped: members saved checkpoints; run the same command to resume (--out {sweep.path})")
        return INTERRUPTED
    say.print(f"leaderboard: {sweep.leaderboard}" + (f"; samples and losses: {sweep.picture}"
                                                      if sweep.picture.is_file() else ""))
    done = sum(len(row.done) for row in board.rows)
    return 1 if planned and done == 0 else 0


def _gpus(configs) -> int:
    """GPUs to spread units over: those CUDA shows, when the members train on CUDA (the default where it is)."""
    import torch

    if not torch.cuda.is_available() or any(str(c.device).startswith(("cpu", "mps", "cuda:")) for c in configs):
        return 0  # cuda:N names a GPU itself: the members keep the GPUs this process sees
    return torch.cuda.device_count()


def _run(sweep: SweepDir, engine, engine_name: str, units, jobs: int, planned: list[Member],
         steps: dict[str, int], say: Console) -> int:
    total_steps = sum(steps.values())
    last = [0.0]
    threading.Thread(target=_warm_up, daemon=True).start()
    with Progress(TextColumn("members ended"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=say, transient=True) as bar:
        task = bar.add_task("", total=len(planned))

        def tick() -> None:
            if time.monotonic() - last[0] < 1.0:
                return
            last[0] = time.monotonic()
            ended, trained = progress_of(sweep, planned, steps)
            bar.update(task, completed=ended,
                       description=f"{trained:,} of {total_steps:,} steps")

        try:
            crashed = run_units(sweep, engine, units, jobs, tick)
        except KeyboardInterrupt:
            return INTERRUPTED
        except GanzooError:
            raise
        except Exception as err:  # an engine plugin's own fault: named, with what the sweep directory keeps
            raise PluginError(f"engine '{engine_name}' raised: {type(err).__name__}: {first_line(err)}; the members "
                              f"that ended are kept: run the same command to go on") from None
    for line in crashed:
        say.print(f"  crashed: {line}")
    return 0


def _warm_up() -> None:
    """The leaderboard's picture draws with matplotlib: imported while the members train (about 0.5 s of CPU on the
    2-core VM), not after them, when the sweep would wait for it."""
    import matplotlib.figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401


def _write_board(sweep: SweepDir, board) -> None:
    from ..run.checkpoint import atomic_write

    text = boards.markdown(board)
    atomic_write(sweep.leaderboard, lambda f: f.write(text.encode()))
    boards.write_picture(sweep, board)
