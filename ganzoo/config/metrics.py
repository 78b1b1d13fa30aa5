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
    """The metrics ``names`` choose, by name, without repeats: each is a record's name, or one of the keys a record
    declares (``inception_fid`` chooses ``inception``, as tables show keys); an unknown one is a
    :class:`ConfigError` with the closest name."""
    records = list(records)
    known = list(dict.fromkeys(r.name for r in records))
    by_key = {key: r.name for r in reversed(records) for key in r.keys}  # the first record declaring a key has it
    chosen = []
    for name in names:
        if name not in known and name not in by_key:
            raise ConfigError(f"--metrics: unknown metric '{name}'{did_you_mean(name, [*known, *by_key])} "
                              f"(installed metrics and dataset '{dataset}''s own: {', '.join(known) or 'none'}; or "
                              f"one of their keys)")
        chosen.append(name if name in known else by_key[name])
    return list(dict.fromkeys(chosen))
