"""A unit's members trained as one population (``ganzoo.training.population``), each started, or resumed from its
checkpoint, exactly as :func:`worker._train` would run it alone; each one's outcome in the worker's form."""

from __future__ import annotations

import time
from typing import Any

from ..api import check_plan, resumed_config
from ..errors import GanzooError, TrainingDiverged, first_line
from ..registry.registry import default_registry
from ..run.checkpoint import load_checkpoint
from ..training.population import train_population
from ..training.result import RunResult
from .plan import Member
from .store import DIVERGED, DONE, FAILED, SweepDir


def _prepare(registry, sweep: SweepDir, member: Member):
    """The member's config and the checkpoint it resumes from (None: it starts), as ``ganzoo train`` would."""
    run = sweep.run_dir(member.name)
    if not run.latest.is_file():
        print(f"{member.name}: starting", flush=True)
        run.discard_unstarted(existed=False)  # a start killed before its first checkpoint starts over
        return check_plan(registry, **member.kwargs), None
    print(f"{member.name}: resuming from its checkpoint", flush=True)
    ckpt = load_checkpoint(run.latest)
    return resumed_config(registry, run, ckpt), ckpt


def train_members(sweep: SweepDir, members: list[Member], plan: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Each member's outcome (None: interrupted; it resumes next time), in ``members``' order."""
    registry = default_registry()
    start = time.perf_counter()
    outcomes: dict[str, dict[str, Any] | None] = {}
    ready, configs, resume = [], [], []
    for member in members:
        try:
            config, ckpt = _prepare(registry, sweep, member)
        except GanzooError as err:
            outcomes[member.name] = {"status": FAILED, "message": first_line(err, 1000), "seconds": 0.0}
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
