"""Built-in plugin: the TensorBoard reporter (``--report tensorboard``, or ``--tensorboard``).

Event files go into the run directory itself, so ``tensorboard --logdir runs`` shows each run under its directory's
name: the losses, D outputs and speed of every metrics line, quality metrics, and every sample image the run
writes. A resumed session purges the events an interrupted one logged after its checkpoint. ``tensorboard`` is an
optional extra: without it the reporter fails before training with the install command.
"""

from __future__ import annotations

from ganzoo import ConfigError, ReporterSpec, RunReporter, hookimpl

INSTALL = "pip install 'ganzoo[tensorboard]'"
#: How each trainer statistic is named in TensorBoard; anything else (penalties) goes under ``train/``.
TAGS = {
    "d_loss": "loss/D", "g_loss": "loss/G", "d_real": "D_output/real D(x)", "d_fake": "D_output/fake D(G(z))",
    "steps_per_sec": "speed/steps_per_sec",
}
_NOT_SCALARS = {"world_size", "global_batch"}


def summary_writer():
    """``torch.utils.tensorboard.SummaryWriter``, or a one-line error with the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError(f"--tensorboard needs the optional tensorboard package, which cannot be imported "
                          f"({str(err).splitlines()[0][:120]}); install it with: {INSTALL}") from None
    return SummaryWriter


class TensorBoardReporter(RunReporter):
    def __init__(self) -> None:
        self.writer_class = summary_writer()  # fails before training when the extra is missing
        self.writer = None

    def start(self, run) -> None:
        self.writer = self.writer_class(log_dir=str(run.run_dir), purge_step=run.resumed_at or None)

    def metrics(self, step, values) -> None:
        for key, value in values.items():
            if key not in _NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(TAGS.get(key, f"train/{key}"), value, step)

    def evaluation(self, step, metrics) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(f"metrics/{key}", value, step)

    def sample(self, step, path) -> None:
        from PIL import Image
        from torchvision.transforms.functional import pil_to_tensor

        with Image.open(path) as image:
            self.writer.add_image("samples", pil_to_tensor(image.convert("RGB")), step)

    def end(self, step, interrupted, loss_curve) -> None:
        if self.writer is not None:
            self.writer.close()


@hookimpl
def ganzoo_reporters():
    yield ReporterSpec(name="tensorboard", factory=TensorBoardReporter,
                       description="TensorBoard event files in the run directory: losses, D outputs, metrics, "
                                   "samples (pip install 'ganzoo[tensorboard]').")
