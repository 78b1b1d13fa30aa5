"""What a training session hands back to its caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn


@dataclass
class RunResult:
    """What a finished (or interrupted) run reports."""

    run_dir: Path
    label: str
    device: str
    step: int
    total_steps: int
    seconds: float
    steps_per_sec: float
    final: dict[str, float] = field(default_factory=dict)
    last_sample: Path | None = None
    interrupted: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    #: The trained (plain, unwrapped) generator and discriminator, for notebooks (the EMA copy is in the checkpoint).
    generator: nn.Module | None = field(default=None, repr=False)
    discriminator: nn.Module | None = field(default=None, repr=False)
    #: False on the ranks of a multi-process run that do not write or report (every rank but 0).
    is_main: bool = True
    #: The state plugin objects kept (LeCam's anchors, ADA's p), by the key checkpoints use (``regularisers.0``).
    plugin_states: dict[str, dict] = field(default_factory=dict, repr=False)
