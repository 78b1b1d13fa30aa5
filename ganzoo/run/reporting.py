"""Reporters: plugins that receive a run's events and mirror them elsewhere (TensorBoard, MLflow, a dashboard).

The events are the run's start (with its resolved config), every metrics line, every evaluation, every sample
image written, and its end or interruption. Reporters are chosen per run (``--report NAME``, repeatable); they do
not change what is trained, so they are not part of the run's config. A reporter that raises warns once and is
switched off for the rest of the run: experiment tracking never stops training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import first_line
from ..registry.registry import Registry


@dataclass(frozen=True)
class RunInfo:
    """What a reporter learns when a session starts."""

    run_dir: Path
    label: str  # ``g-d-loss-dataset``
    config: dict[str, Any]  # the resolved config, in ``config.toml``'s layout
    total_steps: int
    resumed_at: int = 0  # the checkpoint's step when this session resumes a run (0: a new run)
    config_path: Path | None = None


class RunReporter:
    """Base class of reporters: override the events you need; every method has a default that does nothing."""

    def start(self, run: RunInfo) -> None:
        """A training session starts (a new run, or a resumed one: ``run.resumed_at``)."""

    def metrics(self, step: int, values: dict[str, float]) -> None:
        """A metrics line: losses, D outputs, regularisers' penalties, speed (``metrics.jsonl``'s numbers)."""

    def evaluation(self, step: int, metrics: dict[str, float]) -> None:
        """Quality metrics computed during training (``--eval-every``)."""

    def sample(self, step: int, path: Path) -> None:
        """A sample picture was written to ``path``."""

    def end(self, step: int, interrupted: str | None, loss_curve: Path | None) -> None:
        """The session ended: finished (``interrupted`` None, ``loss_curve`` written) or stopped by a signal."""


@dataclass
class Reporters:
    """Every chosen reporter, called in turn; one that raises warns once and is dropped."""

    named: list[tuple[str, RunReporter]] = field(default_factory=list)
    warn: Callable[[str], None] = field(default=lambda line: None, repr=False)

    def _each(self, event: str, *args: Any) -> None:
        for name, reporter in list(self.named):
            try:
                getattr(reporter, event)(*args)
            except Exception as err:  # noqa: BLE001 - a reporter's bug must never stop training
                self.named.remove((name, reporter))
                self.warn(f"reporter '{name}' failed in {event}() ({type(err).__name__}: {first_line(err)}); it is "
                          f"off for the rest of this run, training goes on")

    def start(self, run: RunInfo) -> None:
        self._each("start", run)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self._each("metrics", step, values)

    def evaluation(self, step: int, metrics: dict[str, float]) -> None:
        self._each("evaluation", step, metrics)

    def sample(self, step: int, path: Path) -> None:
        self._each("sample", step, path)

    def end(self, step: int, interrupted: str | None, loss_curve: Path | None) -> None:
        self._each("end", step, interrupted, loss_curve)


def build_reporters(registry: Registry, names: Iterable[str], warn: Callable[[str], None]) -> Reporters:
    """The reporters named (each once), built before training so a missing package fails before any work."""
    built: list[tuple[str, RunReporter]] = []
    for name in dict.fromkeys(names):
        spec = registry.get("reporters", name)
        reporter = spec.call("building it", spec.factory, **spec.resolve({}))
        if not isinstance(reporter, RunReporter):
            from ..errors import PluginError

            raise PluginError(f"{spec.owner}: factory returned {type(reporter).__name__}, not a ganzoo.RunReporter")
        built.append((spec.name, reporter))
    return Reporters(built, warn)
