"""How a run shows its progress: a live rich bar on a terminal, plain lines otherwise, or nothing (``--quiet``).

Both put the step, the ETA and the speed first and the losses last: on a narrow terminal the losses are shortened,
never the numbers that say how far the run is.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Column
from rich.text import Text

STAT_LABELS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))"}
#: A plain-line log prints at least this often, however slow the steps (a pipe must not look hung).
PLAIN_EVERY_SECONDS = 30.0


def _stats_text(record: dict[str, Any], shown: tuple[str, ...] = ()) -> str:
    labelled = [f"{label} {record[key]:.3f}" for key, label in STAT_LABELS.items() if key in record]
    return "  ".join([*labelled, *(f"{key} {record[key]:.3f}" for key in shown if key in record)])


def rate_text(steps_per_sec: float | None) -> str:
    """``120 steps/s``, ``4.5 steps/s``, or below one step a second ``4.2 s/step`` (never ``0 steps/s``); ``-``
    when unknown."""
    if not steps_per_sec or steps_per_sec <= 0:
        return "-"
    if steps_per_sec >= 10:
        return f"{steps_per_sec:.0f} steps/s"
    if steps_per_sec >= 1:
        return f"{steps_per_sec:.1f} steps/s"
    return f"{1 / steps_per_sec:.1f} s/step"


def duration_text(seconds: float) -> str:
    """``0:04:05``, as rich's ETA column shows it."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


class Reporter:
    """Silent base: the trainer calls these hooks; subclasses decide what to show."""

    #: Values components report of themselves (ADA's p) that the progress line shows after the losses.
    shown: tuple[str, ...] = ()

    def start(self, total: int, done: int, header: str) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def log(self, record: dict[str, Any]) -> None: ...

    def message(self, text: str) -> None: ...

    def progress(self, description: str, total: int):
        """A callback advancing a secondary bar (e.g. a classifier trained on first use)."""
        return lambda steps=1: None

    def stop(self) -> None: ...


class _RateColumn(ProgressColumn):
    """The speed from rich's own estimate over the last 30 s of steps, so a slow run shows it long before its first
    metrics line."""

    def render(self, task) -> Text:
        return Text(rate_text(task.speed))


class _EtaColumn(TimeRemainingColumn):
    """rich's time remaining, named: a bare ``29:08:37`` could as well be the time spent."""

    def render(self, task) -> Text:
        return Text("ETA ").append_text(super().render(task))


class RichReporter(Reporter):
    """A live bar: step / total, ETA, speed, the bar, then the latest D/G statistics, cut first when narrow."""

    def __init__(self, console: Console | None = None, clock: Callable[[], float] | None = None) -> None:
        self.console = console or Console()
        flexible = {"no_wrap": True, "overflow": "ellipsis"}
        self.bars = Progress(
            TextColumn("[bold]{task.description}"), MofNCompleteColumn(), _EtaColumn(), _RateColumn(),
            BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=4, **flexible)),
            TextColumn("{task.fields[stats]}", table_column=Column(ratio=3, **flexible)),
            # 4 redraws a second, not rich's 10: each costs ~1 ms of a core that training needs (0.4% instead of 1%)
            console=self.console, transient=False, refresh_per_second=4, expand=True,
            **({"get_time": clock} if clock is not None else {}),
        )
        self.task = None

    def start(self, total: int, done: int, header: str) -> None:
        self.console.print(header)
        self.bars.start()
        self.task = self.bars.add_task("train", total=total, completed=done, stats="")

    def advance(self, steps: int = 1) -> None:
        self.bars.advance(self.task, steps)

    def log(self, record: dict[str, Any]) -> None:
        if "steps_per_sec" in record:  # evaluation-only lines carry no training statistics
            self.bars.update(self.task, stats=_stats_text(record, self.shown))

    def message(self, text: str) -> None:
        self.bars.console.print(text)

    def progress(self, description: str, total: int):
        self.bars.start()
        task = self.bars.add_task(description, total=total, stats="")
        return lambda steps=1: self.bars.advance(task, steps)

    def stop(self) -> None:
        self.bars.stop()


class PlainReporter(Reporter):
    """Plain lines for logs and pipes: about twenty over a fast run (never more often than metrics are logged),
    and at least one every 30 s however slow the steps."""

    def __init__(self, stream=None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stdout
        self.clock = clock
        self.every = 1
        self.total = self.step = self._first = self._last = 0
        self.stats = ""
        self._started = self._last_time = clock()

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, total: int, done: int, header: str) -> None:
        self.total, self.step = total, done
        self.every = max(1, (total - done) // 20)
        self._print(header)
        self._first = self._last = done
        self._started = self._last_time = self.clock()

    def _line(self, rate: float | None) -> None:
        now = self.clock()
        overall = (self.step - self._first) / max(now - self._started, 1e-9)
        eta = f"ETA {duration_text((self.total - self.step) / overall)}" if overall > 0 else "ETA -"
        self._last, self._last_time = self.step, now
        self._print("  ".join(part for part in (f"step {self.step}/{self.total}", eta, rate_text(rate), self.stats)
                              if part))

    def advance(self, steps: int = 1) -> None:
        self.step += steps
        now = self.clock()  # ~50 ns a step; a line only when a slow run has been quiet for 30 s
        if now - self._last_time >= PLAIN_EVERY_SECONDS and self.step < self.total:
            self._line((self.step - self._last) / (now - self._last_time))

    def log(self, record: dict[str, Any]) -> None:
        if "steps_per_sec" not in record:
            return
        self.step, self.stats = record["step"], _stats_text(record, self.shown)
        if self.step - self._last >= self.every or self.step == self.total:
            self._line(record["steps_per_sec"])

    def message(self, text: str) -> None:
        self._print(text)

    def progress(self, description: str, total: int):
        self._print(f"{description}: {total} steps")
        return lambda steps=1: None


def make_reporter(quiet: bool) -> Reporter:
    """Quiet: nothing; a terminal: the live bar; otherwise plain lines."""
    if quiet:
        return Reporter()
    return RichReporter() if sys.stdout.isatty() else PlainReporter()
