"""TensorBoard output for ``ganzoo train --tensorboard``: event files next to the run's own files.

:class:`TensorBoardReporter` wraps the run's reporter, so the trainer knows nothing about TensorBoard: every metrics
record the trainer logs (losses, D outputs, speed, quality metrics) becomes scalars, and every sample image the
trainer writes into ``samples/`` is added as an image when the next record arrives (and at the end). The event files
go into the run directory itself, so ``tensorboard --logdir runs`` shows each run under its directory's name.

``tensorboard`` is an optional extra; without it ``--tensorboard`` fails before any work with the install command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError, first_line
from .ui import Reporter

INSTALL = "pip install 'ganzoo[tensorboard]'"
#: How each trainer statistic is named in TensorBoard; anything else (quality metrics) goes under ``metrics/``.
TAGS = {
    "d_loss": "loss/D", "g_loss": "loss/G", "d_real": "D_output/real D(x)", "d_fake": "D_output/fake D(G(z))",
    "steps_per_sec": "speed/steps_per_sec",
}
_NOT_SCALARS = {"step", "time", "world_size", "global_batch"}
_SAMPLE = re.compile(r"^step_(\d+)\.png$")


def tensorboard_writer() -> Callable[..., Any]:
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line error with the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError(
            f"--tensorboard needs the optional tensorboard package, which cannot be imported ({first_line(err)}); "
            f"install it with: {INSTALL}"
        ) from None
    return SummaryWriter


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` now: samples are renamed into place, so a redrawn one is a new inode."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


class TensorBoardReporter(Reporter):
    """Forwards everything to ``inner`` and mirrors records and new sample images to TensorBoard event files.

    ``writer`` is the writer class (``SummaryWriter``), called as ``writer(log_dir=..., purge_step=...)``.
    """

    def __init__(self, inner: Reporter | None, run_dir: Path | str, writer: Callable[..., Any]) -> None:
        self.inner = inner or Reporter()
        self.run_dir = Path(run_dir)
        self._writer_class = writer
        self.writer = None
        self._logged: set[int] = set()
        self._stale: dict[int, tuple[int, int] | None] = {}

    def _samples(self) -> dict[int, Path]:
        folder = self.run_dir / "samples"
        found = {}
        for path in folder.iterdir() if folder.is_dir() else ():
            match = _SAMPLE.match(path.name)
            if match:
                found[int(match.group(1))] = path
        return found

    def _add_new_samples(self) -> None:
        from PIL import Image
        from torchvision.transforms.functional import pil_to_tensor

        for step, path in sorted(self._samples().items()):
            if step in self._logged or self._stale.get(step) == _identity(path):
                continue
            self._logged.add(step)
            with Image.open(path) as image:
                self.writer.add_image("samples", pil_to_tensor(image.convert("RGB")), step)

    def start(self, total: int, done: int, header: str) -> None:
        # A resumed run restarts from its checkpoint: purge events logged after it by the interrupted session, and
        # leave the earlier samples alone (they belong to the steps before this session). Samples that session drew
        # after its checkpoint are stale: they count only once this session has drawn them again (a newer file).
        self.writer = self._writer_class(log_dir=str(self.run_dir), purge_step=done or None)
        samples = self._samples()
        self._logged = {step for step in samples if step <= done}
        self._stale = {step: _identity(path) for step, path in samples.items() if step > done}
        self.inner.start(total, done, header)

    def advance(self, steps: int = 1) -> None:
        self.inner.advance(steps)

    def log(self, record: dict[str, Any]) -> None:
        step = record["step"]
        for key, value in record.items():
            if key in _NOT_SCALARS or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            self.writer.add_scalar(TAGS.get(key, f"metrics/{key}"), value, step)
        self._add_new_samples()
        self.inner.log(record)

    def message(self, text: str) -> None:
        self.inner.message(text)

    def progress(self, description: str, total: int):
        return self.inner.progress(description, total)

    def stop(self) -> None:
        try:
            if self.writer is not None:
                self._add_new_samples()  # the last sample is written after the last record
                self.writer.close()
        finally:
            self.inner.stop()
