"""``ganzoo train --tensorboard``: scalars and sample images as event files, and a clear line without the extra."""

from __future__ import annotations

import json
import sys

import pytest

import ganzoo
from ganzoo import api

TINY = ["--set", "dataset.n=128", "--set", "generator.hidden=16", "--set", "discriminator.hidden=16",
        "--batch-size", "16", "--checkpoint-every", "0"]


class FakeWriter:
    """Records what a SummaryWriter is asked to write (the real one is tested below when installed)."""

    made: list[FakeWriter] = []

    def __init__(self, log_dir: str, purge_step: int | None = None) -> None:
        self.log_dir, self.purge_step = log_dir, purge_step
        self.scalars: dict[str, list[tuple[int, float]]] = {}
        self.images: list[tuple[str, tuple, int]] = []
        self.closed = False
        FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.setdefault(tag, []).append((step, value))

    def add_image(self, tag, image, step):
        self.images.append((tag, tuple(image.shape), step))

    def close(self):
        self.closed = True


def test_missing_extra_is_one_line_before_training(invoke, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what `import` sees without the package
    result = invoke("train", "--tensorboard", *TINY, "--steps", "5", "--out", tmp_path / "run", expect=1)
    assert result.stderr.startswith("error: --tensorboard needs the optional tensorboard package")
    assert "pip install 'ganzoo[tensorboard]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # nothing was started


def test_records_and_samples_reach_the_writer_and_resume_purges(invoke, tmp_path, monkeypatch):
    monkeypatch.setattr(api, "tensorboard_writer", lambda: FakeWriter)
    FakeWriter.made.clear()
    run = tmp_path / "run"
    invoke("train", "--tensorboard", *TINY, "--steps", "20", "--log-every", "5", "--sample-every", "10",
           "--eval-every", "20", "--eval-samples", "64", "--out", run, "-q")
    writer = FakeWriter.made[-1]
    assert writer.log_dir == str(run) and writer.purge_step is None and writer.closed
    for tag in ("loss/D", "loss/G", "D_output/real D(x)", "D_output/fake D(G(z))", "speed/steps_per_sec"):
        assert [step for step, _ in writer.scalars[tag]] == [5, 10, 15, 20], tag
    assert [step for step, _ in writer.scalars["metrics/curve_error"]] == [20]
    assert [(tag, step) for tag, _, step in writer.images] == [("samples", 10), ("samples", 20)]
    assert all(shape[0] == 3 and shape[1] > 100 for _, shape, _ in writer.images)  # RGB, CHW, the real picture

    # an interrupted session drew samples after its last checkpoint (step 20): they belong to an abandoned timeline
    from PIL import Image

    for step in (30, 40):
        Image.new("RGB", (8, 8), "red").save(run / "samples" / f"step_{step:07d}.png")
    invoke("train", "--resume", run, "--steps", "30", "--tensorboard", "-q")
    resumed = FakeWriter.made[-1]
    assert resumed.purge_step == 20  # events after the checkpoint from an interrupted session are dropped
    assert [step for step, _ in resumed.scalars["loss/D"]] == [25, 30]
    # earlier samples are not logged twice, and the stale ones never: step 30 is this session's own drawing
    assert [step for _, _, step in resumed.images] == [30] and resumed.images[0][1][1] > 100


def test_real_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    ganzoo.train(steps=10, log_every=5, sample_every=10, checkpoint_every=0, batch_size=16, out=run,
                 set=["dataset.n=128", "generator.hidden=16", "discriminator.hidden=16"], tensorboard=True)
    events = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("loss/D")] == [5, 10]
    assert [e.step for e in events.Images("samples")] == [10]
    final = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert events.Scalars("loss/G")[-1].value == pytest.approx(final["g_loss"], rel=1e-6)  # float32 in the file
