"""The tables commands print at the end: a run's summary and a set of metrics."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from ..run.progress import STAT_LABELS, rate_text


def show(value: Any, missing: str = "-") -> str:
    """A setting or metric as a short cell: lists as ``1,2``, floats to 4 significant digits, None as ``missing``."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(show(v, missing) for v in value)
    return str(value)


def metrics_table(metrics: dict[str, float], meanings: dict[str, str], better: dict[str, str], title: str) -> Table:
    """One row per metric: value, which way is better, and what it means."""
    table = Table(title=title, title_justify="left")
    for column in ("metric", "value", "better", "meaning"):
        table.add_column(column, no_wrap=column != "meaning")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4g}", better.get(key, ""), meanings.get(key, ""))
    return table


def summary_table(result) -> Table:
    """The end-of-run table: time, speed, final statistics and where the files are."""
    table = Table(title="ganzoo train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("combination", result.label)
    table.add_row("device", result.device)
    table.add_row("steps", f"{result.step}/{result.total_steps}")
    table.add_row("time", f"{result.seconds:.1f} s ({rate_text(result.steps_per_sec)})")
    for key, label in STAT_LABELS.items():
        if key in result.final:
            table.add_row(label, f"{result.final[key]:.4f}")
    for key, value in result.metrics.items():
        table.add_row(key, f"{value:.4g}")
    table.add_row("run directory", str(result.run_dir))
    table.add_row("samples", str(result.last_sample) if result.last_sample else "-")
    return table
