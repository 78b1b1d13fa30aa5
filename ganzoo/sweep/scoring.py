"""A unit's members evaluated together, each on its own run's metrics: the numbers ``ganzoo evaluate`` gives its run
directory alone, with the same seed.

Members that share their data, metrics, label flow and sample count share one evaluator, so what a metric builds
once (its feature network, statistics of the real data) serves all of them, and a metric with ``compute_many`` does
its costly part once over every member's samples (one forward over all of them, split per member). A population's
generators, which stack, draw every member's samples in one batched forward (``generate_stacked``); members trained
alone draw their own, bit for bit what ``ganzoo evaluate`` draws. Members go in batches whose samples fit in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..api import evaluation_inputs
from ..errors import GanzooError, first_line
from ..messages import warn
from ..registry.registry import Registry
from ..run.evaluation import Evaluator, evaluator_for, metric_names
from ..run.limits import free_memory
from ..run.samples import generate
from ..training.device import resolve_device
from ..training.stacking import generate_stacked

#: Memory a batch of members' samples may take when the system does not say what is free.
BUDGET = 2**30

Scored = tuple[dict[str, float], Evaluator] | GanzooError


def evaluate_members(run_dirs: Sequence[Path], samples: Sequence[int], registry: Registry,
                     metrics: Sequence[str] | str | None = None, stacked: bool = False,
                     device: str = "auto") -> list[Scored]:
    """Each run's metrics on ``samples[i]`` samples (``metrics``: the names to compute, default each run's own),
    and the evaluator that explains them; or the one-line error that stopped its evaluation. ``stacked``: the runs
    are a population's, whose generators draw in one batched forward."""
    dev = resolve_device(device)
    out: list[Scored | None] = [None] * len(run_dirs)
    loaded: dict[int, tuple] = {}
    datasets: dict = {}
    groups: dict[tuple, list[int]] = {}
    for i, run_dir in enumerate(run_dirs):
        try:
            loaded[i] = cfg, _, data, cond = evaluation_inputs(run_dir, samples[i], dev, registry, datasets=datasets)
        except GanzooError as err:
            out[i] = err
            continue
        names = tuple(metric_names(metrics) if metrics is not None else cfg.metrics or ())
        key = (id(data), samples[i], names, cond.classes, cond.own_labels, cond.generator, cfg.latent_dim)
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        cfg, _, data, cond = loaded[members[0]]
        try:
            evaluator = evaluator_for(registry, cfg, data, dev, None, cond, metrics)
        except GanzooError as err:
            for i in members:
                out[i] = err
            continue
        for batch in _batches(members, samples[members[0]], data, cfg.latent_dim):
            try:
                values: list = _evaluate(evaluator, [loaded[i] for i in batch], samples[batch[0]], stacked)
            except GanzooError as err:
                values = [err] * len(batch)
            for i, value in zip(batch, values):
                out[i] = value if isinstance(value, GanzooError) else (value, evaluator)
    return out  # type: ignore[return-value]


def _batches(members: list[int], n: int, data, latent_dim: int) -> list[list[int]]:
    """The members in batches whose samples (with their coordinates and features) take at most a quarter of the
    memory free."""
    free = free_memory()
    budget = free // 4 if free is not None else BUDGET
    each = n * 4 * (4 * data.spec.numel + latent_dim)
    size = max(1, min(len(members), budget // max(1, each)))
    return [members[k:k + size] for k in range(0, len(members), size)]


def _evaluate(evaluator: Evaluator, runs: list[Any], n: int, stacked: bool) -> list[dict[str, float]]:
    """The runs' metrics from one evaluator: their samples drawn for the same noise and labels (one batched forward
    for a population's generators), then every metric over all of them at once."""
    cfg = runs[0][0]
    z, labels = evaluator.inputs(n)  # the noise and labels ``ganzoo evaluate`` draws
    generators = [run[1] for run in runs]
    sample_sets = None
    if stacked and len(runs) > 1 and all(run[0].generator == cfg.generator for run in runs):
        try:
            sample_sets = generate_stacked(generators, z, labels)
        except Exception as err:  # noqa: BLE001 - a module vmap cannot batch: each member draws its own
            warn(f"evaluation: the generators draw one by one ({type(err).__name__}: {first_line(err, 120)})")
    if sample_sets is None:
        sample_sets = [generate(g, z, labels) for g in generators]
    return evaluator.evaluate_many(sample_sets, labels)
