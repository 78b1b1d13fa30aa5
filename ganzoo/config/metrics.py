"""The ``metrics`` option (``--metrics NAME,...``): the metric records that can judge a dataset, and the names a
user gives checked against them, so that a misspelt name is refused when the run is configured, not at its first
evaluation."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError, did_you_mean
from ..registry.records import MetricSpec
from ..registry.registry import Registry


def metric_records(registry: Registry, dataset: str) -> list[MetricSpec]:
    """Every metric that may judge ``dataset``: those of the ``ganzoo_metrics`` hook, then the dataset's own."""
    return [p.spec for p in registry.metrics()] + list(registry.get("dataset", dataset).metrics)


def check_metric_names(names: Iterable[str], records: Iterable[MetricSpec], dataset: str) -> list[str]:
    """``names`` without repeats, each the name of one of ``records``; an unknown one is a :class:`ConfigError`
    with the closest name."""
    known = list(dict.fromkeys(r.name for r in records))
    chosen = list(dict.fromkeys(names))
    for name in chosen:
        if name not in known:
            raise ConfigError(f"--metrics: unknown metric '{name}'{did_you_mean(name, known)} (installed metrics "
                              f"and dataset '{dataset}''s own: {', '.join(known) or 'none'})")
    return chosen
