"""A unit's members trained as one population (``ganzoo.training.population``), each started, or resumed from its
checkpoint, exactly as :func:`worker._train` would run it alone; each one's outcome in the worker's form."""

from __future__ import annotations

import time
from typing import Any

from ..api import check_plan, resumed_config
from ..errors import GanzooError, TrainingDiverged, first_line
from ..registry.registry import default_registry
from ..training.population import train_population
from ..training.result import RunResult
from .plan import Member
from .sessions import finished_outcome, next_session
from .store import DIVERGED, DONE, FAILED, SweepDir


def _prepare(registry, sweep: SweepDir, member: Member):
    """How the member goes on (see :func:`sessions.next_session`), and its config and checkpoint when it trains."""
    run = sweep.run_dir(member.name)
    state, ckpt = next_session(run, member.name)
    if state in ("busy", "finished"):
        return state, None, ckpt
    if state == "start":
        return state, check_plan(registry, **member.kwargs), None
    return state, resumed_config(registry, run, ckpt), ckpt


def train_members(sweep: SweepDir, members: list[Member], plan: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Each member's outcome (None: interrupted; it resumes next time), in ``members``' order."""
    registry = default_registry()
    start = time.perf_counter()
    outcomes: dict[str, dict[str, Any] | None] = {}
    ready, configs, resume = [], [], []
    for member in members:
        try:
            state, config, ckpt = _prepare(registry, sweep, member)
        except GanzooError as err:
            outcomes[member.name] = {"status": FAILED, "message": first_line(err, 1000), "seconds": 0.0}
            continue
        if state in ("busy", "finished"):
            outcomes[member.name] = None if state == "busy" else finished_outcome(sweep.run_dir(member.name), ckpt)
            continue
        ready.append(member)
        configs.append(config)
        resume.append(ckpt)
    results = train_population(configs, [sweep.run_dir(m.name) for m in ready], registry,
                               resume_from=resume) if ready else []
    for member, result in zip(ready, results):
        if isinstance(result, RunResult):
            outcomes[member.name] = None if result.interrupted else {
                "status": DONE, "step": result.step, "seconds": result.seconds, "final": result.final}
        else:
            status = DIVERGED if isinstance(result, TrainingDiverged) else FAILED
            outcomes[member.name] = {"status": status, "message": first_line(result, 1000),
                                     "seconds": time.perf_counter() - start}
    return [outcomes[m.name] for m in members]
