"""Evaluation plumbing: which metrics apply to a run's data, and the context they compute from.

The metrics themselves come from plugins (``ganzoo_metrics`` hook, or a dataset's own ``metrics``), so a third-party
dataset brings its own evaluation and the core stays free of concrete models such as a feature classifier.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from ..config import TrainConfig, flag_message, option_params
from ..config.metrics import check_metric_names, metric_records
from ..data.contract import Data
from ..errors import ConfigError, GanzooError, ParameterError, PluginError, first_line
from ..messages import note, warn
from ..registry.registry import Registry
from ..registry.specs import DatasetSpec, MetricSpec
from .references import cached_reference
from .samples import generate, noise, to_data_coords

#: Samples drawn for one evaluation when the caller does not say.
DEFAULT_SAMPLES = 5000
#: The noise seed evaluations draw with unless told another, so that ``ganzoo evaluate``, ``ganzoo.evaluate`` and a
#: sweep's scoring of its members judge the same samples.
EVAL_SEED = 12345


class LabelFlow(Protocol):
    """What evaluation needs of a mix's label flow (``ganzoo.training.conditioning.Conditioning`` is one): how many
    labels the generator takes (None: none) and whether they are its own codes."""

    classes: int | None
    own_labels: bool

    @property
    def generator(self) -> bool: ...


@dataclass(frozen=True)
class _Unconditional:
    classes: int | None = None
    own_labels: bool = False
    generator: bool = False


_UNCONDITIONAL = _Unconditional()


@dataclass
class EvalContext:
    """What a metric computes from.

    ``samples`` are generated samples in the model's normalised space (CPU, float32); :meth:`coords` gives them in
    data coordinates. ``data`` is the real training data. ``held_out()`` loads the dataset's test split when its
    record declares one. ``state`` is a dict private to the metric that lives as long as the evaluator, for
    anything worth computing once (real features, a loaded classifier); :meth:`reference` keeps what is computed
    from real data on disk, across evaluations. ``progress(description, total)`` returns a callback to advance a
    progress bar, for slow first-use work. For a conditional generator, ``labels`` holds the
    label each sample was generated for and ``label_kind`` says what they are: ``"classes"`` (the dataset's
    classes, drawn with the data's frequencies) or ``"codes"`` (the generator's own codes, drawn uniformly).
    """

    samples: torch.Tensor
    data: Data
    dataset: DatasetSpec
    dataset_params: dict[str, Any]
    device: torch.device
    state: dict[str, Any]
    progress: Callable[[str, int], Callable[[int], None]]
    _held_out: Callable[[], Data | None] = field(repr=False, default=lambda: None)
    _full: Callable[[], Data] | None = field(repr=False, default=None)
    labels: torch.Tensor | None = None
    label_kind: str | None = None
    _metric: str = field(repr=False, default="metric")

    def coords(self) -> torch.Tensor:
        """The generated samples in data coordinates (pixels in [0, 1], points as (x, y))."""
        return to_data_coords(self.samples, self.data.spec, self.data)

    def held_out(self) -> Data | None:
        """The dataset's held-out (test) split, loaded once; None when the dataset has none."""
        return self._held_out()

    def full_data(self) -> Data:
        """The whole training set (the run may train on part of it, e.g. ``limit``): what judges train on."""
        return self._full() if self._full is not None else self.data

    def reference(self, what: str, compute: Callable[[Callable[[int], None]], Any], *,
                  source: Data | torch.Tensor | Sequence[Data | torch.Tensor], total: int,
                  description: str | None = None, key: Mapping[str, Any] | None = None) -> Any:
        """What this metric computes from real data (features of the test images, a trained judge), computed once
        per dataset and cached on disk under ``$GANZOO_CACHE/references/``. ``compute(advance)`` runs only when no
        cached copy fits, under a progress bar of ``total`` steps that ``advance(n)`` moves. ``source`` is the real
        data it is computed from (a ``Data``, a tensor, or a list of them): its digest, the metric's name, ``what``
        and ``key`` (anything else it depends on, JSON-able: a weights file, a sample count) identify it. The value
        (tensors, numbers, strings, and lists and dicts of them) comes back on the CPU; a damaged cache file is
        computed again with a warning."""
        return cached_reference(self._metric, what, self.dataset.name, source, compute, progress=self.progress,
                                description=description or f"{self._metric}: {what} (first use, then cached)",
                                total=total, key=key)

    @property
    def judge_params(self) -> dict[str, Any]:
        """The dataset parameters that identify the judges' training data (those of :meth:`full_data`)."""
        return {**self.dataset_params, **(self.dataset.full_data or {})}


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda steps=1: None


def metric_names(metrics: Iterable[str] | str) -> list[str]:
    """``metrics=`` as a list of names, checked like the option (``"a,b"`` is split like ``--metrics a,b``)."""
    declared = option_params()["metrics"]
    try:
        return declared.parse(metrics) if isinstance(metrics, str) else declared.coerce(list(metrics))
    except ParameterError as err:
        raise ConfigError(flag_message("metrics", err)) from None


class Evaluator:
    """Computes the chosen metrics for a generator; keeps per-metric state between calls (e.g. in training).

    ``metrics`` names the metrics to compute (default: the config's ``metrics`` option, else every metric that
    applies to the data, where an expensive one runs on an accelerator only); a named metric that is unknown, does
    not apply or cannot run here is a :class:`ConfigError`."""

    def __init__(self, registry: Registry, config: TrainConfig, data: Data, device: torch.device,
                 progress: Callable[[str, int], Callable[[int], None]] | None = None,
                 conditioning: LabelFlow | None = None, metrics: Iterable[str] | str | None = None) -> None:
        self.config, self.data, self.device = config, data, device
        self.dataset: DatasetSpec = registry.get("dataset", config.dataset.name)
        #: How the generator takes labels (the mix's ``Conditioning``); None: it takes none.
        self.conditioning: LabelFlow = conditioning or _UNCONDITIONAL
        candidates = metric_records(registry, config.dataset.name)
        names = metric_names(metrics) if metrics is not None else config.metrics
        #: One line for each metric left out that would apply: it cannot run here (say, its weights are not
        #: installed), or it is expensive and runs on a CPU only when named.
        self.notes: list[str] = []
        self.metrics: list[MetricSpec] = self._named(candidates, names) if names else self._default(candidates)
        self.progress = progress or _no_progress
        self._states: dict[str, dict] = {m.name: {} for m in self.metrics}
        self._test: list[Data | None] = []
        self._whole: list[Data] = []

    def _named(self, candidates: list[MetricSpec], names: list[str]) -> list[MetricSpec]:
        chosen = check_metric_names(names, candidates, self.dataset.name)
        for metric in (m for m in candidates if m.name in chosen):
            why = self._unavailable(metric)
            if why is not None:
                raise ConfigError(f"--metrics {metric.name}: {why}")
            if not self._applies(metric):
                fits = [m.name for m in candidates if self._applies(m)]
                raise ConfigError(f"--metrics {metric.name}: metric '{metric.name}' does not apply to dataset "
                                  f"'{self.dataset.name}' ({self.data.spec.describe()}); those that do: "
                                  f"{', '.join(fits) or 'none'}")
        return [m for m in candidates if m.name in chosen]

    def _default(self, candidates: list[MetricSpec]) -> list[MetricSpec]:
        unavailable = {m.name: why for m in candidates if (why := self._unavailable(m))}
        applying = [m for m in candidates if m.name not in unavailable and self._applies(m)]
        slow = [m for m in applying if m.expensive and self.device.type == "cpu"]
        chosen = [m for m in applying if m not in slow]
        self.notes += [f"metric '{name}' is off: {why}" for name, why in unavailable.items()]
        self.notes += [f"metric '{m.name}' is left out on a CPU, where it is slow; ask for it by name: --metrics "
                       f"{','.join(dict.fromkeys([*(c.name for c in chosen), m.name]))}" for m in slow]
        return chosen

    def _unavailable(self, metric: MetricSpec) -> str | None:
        if metric.unavailable is None:
            return None
        try:
            why = metric.unavailable(self.data)
        except Exception as err:  # noqa: BLE001
            raise PluginError(f"metric '{metric.name}' failed to say whether it is available: {err}") from None
        return why or None

    def _applies(self, metric: MetricSpec) -> bool:
        try:
            return bool(metric.applies(self.data))
        except Exception as err:  # noqa: BLE001
            raise PluginError(f"metric '{metric.name}' failed to say whether it applies: {err}") from None

    def _held_out(self) -> Data | None:
        if not self._test:
            if self.dataset.test_split is None:
                self._test.append(None)
            else:
                params = {**self.config.dataset.params, **self.dataset.test_split}
                self._test.append(self.dataset.load(params))
        return self._test[0]

    def _full_data(self) -> Data:
        if not self._whole:
            full = self.dataset.full_data
            same = not full or all(self.config.dataset.params.get(k) == v for k, v in full.items())
            self._whole.append(self.data if same else self.dataset.load({**self.config.dataset.params, **full}))
        return self._whole[0]

    def descriptions(self) -> dict[str, str]:
        """Every metric key with its one-line meaning."""
        return {key: text for m in self.metrics for key, text in m.keys.items()}

    def better(self) -> dict[str, str]:
        return {key: way for m in self.metrics for key, way in m.better.items()}

    def prepare(self) -> None:
        """Run every metric once on a few real samples, so first-use work (a classifier) happens up front."""
        self.evaluate_samples(self.data.take(slice(0, 256)).cpu())

    def labels(self, n: int, seed: int) -> torch.Tensor | None:
        """The labels ``n`` evaluation samples are generated for: the data's class frequencies (or uniform codes
        for a generator's own labels), from their own seeded stream."""
        cond = self.conditioning
        if not cond.generator:
            return None
        gen = torch.Generator().manual_seed(seed + 1)
        if cond.own_labels or self.data.labels is None:
            return torch.randint(cond.classes, (n,), generator=gen)
        return self.data.labels[torch.randint(len(self.data.labels), (n,), generator=gen)]

    def inputs(self, n: int, seed: int = EVAL_SEED) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fixed noise and labels ``n`` evaluation samples are drawn from."""
        return noise(n, self.config.latent_dim, seed, self.device), self.labels(n, seed)

    def __call__(self, generator: nn.Module, n: int = DEFAULT_SAMPLES, seed: int = EVAL_SEED) -> dict[str, float]:
        """Draw ``n`` samples from ``generator`` (eval mode, fixed noise) and compute every metric."""
        z, labels = self.inputs(n, seed)
        return self.evaluate_samples(generate(generator, z, labels), labels)

    def evaluate_samples(self, samples: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        """Compute every metric for samples in the model's normalised space (and the labels they were drawn for)."""
        return self.evaluate_many([samples], labels)[0]

    def evaluate_many(self, sample_sets: Sequence[torch.Tensor],
                      labels: torch.Tensor | None = None) -> list[dict[str, float]]:
        """Every metric for several sets of samples drawn for the same ``labels`` (a sweep's members, evaluated
        together): one dict per set, each what :meth:`evaluate_samples` gives that set alone. The sets share each
        metric's ``state``, and a metric with ``compute_many`` does its costly shared part once for all of them."""
        results: list[dict[str, float]] = [{} for _ in sample_sets]
        kind = None if labels is None else ("codes" if self.conditioning.own_labels else "classes")
        for metric in list(self.metrics):
            contexts = [EvalContext(samples, self.data, self.dataset, dict(self.config.dataset.params), self.device,
                                    self._states[metric.name], self.progress, self._held_out, self._full_data,
                                    labels, kind, _metric=metric.name) for samples in sample_sets]
            try:
                values = self._compute(metric, contexts)
            except Exception as err:  # noqa: BLE001 - one metric failing must not stop training or the others
                self.metrics.remove(metric)
                reason = str(err) if isinstance(err, GanzooError) else f"{type(err).__name__}: {first_line(err)}"
                warn(f"metric '{metric.name}' failed and is left out from now on: {reason}")
                continue
            for out, computed in zip(results, values):
                for key, value in computed.items():
                    name = key if key not in out else f"{metric.name}.{key}"
                    out[name] = float(value) if value is not None else math.nan
        if not self.metrics and not any(results):
            raise PluginError("every metric failed (see the warnings above); nothing was measured")
        return results

    @staticmethod
    def _compute(metric: MetricSpec, contexts: list[EvalContext]) -> list[dict[str, Any]]:
        if metric.compute_many is None or len(contexts) == 1:
            return [dict(metric.compute(ctx)) for ctx in contexts]
        values = [dict(v) for v in metric.compute_many(contexts)]
        if len(values) != len(contexts):
            raise PluginError(f"compute_many returned {len(values)} results for {len(contexts)} sample sets")
        return values


def evaluator_for(registry: Registry, config: TrainConfig, data: Data, device: torch.device,
                  progress: Callable[[str, int], Callable[[int], None]] | None = None,
                  conditioning: LabelFlow | None = None, metrics: Iterable[str] | str | None = None, *,
                  show_notes: bool = True) -> Evaluator:
    """An :class:`Evaluator` with at least one metric (else a :class:`ConfigError` that says why), its notes about
    the metrics left out printed once, before any work (unless ``show_notes`` is false: another process says them)."""
    evaluator = Evaluator(registry, config, data, device, progress, conditioning, metrics)
    if not evaluator.metrics:
        raise ConfigError(f"no installed metric runs for dataset '{config.dataset.name}' here (see `ganzoo plugins`)"
                          + "".join(f"; {line}" for line in evaluator.notes))
    for line in evaluator.notes if show_notes else ():
        note(line)
    return evaluator
