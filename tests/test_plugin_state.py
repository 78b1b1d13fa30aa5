"""The step's second opening (issue 25): a regulariser sees the generator and draws a second batch, keeps state that
checkpoints hold (resume stays bit for bit), and a lazy regulariser gets the same context as an eager one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import Regulariser, RegulariserSpec, hookimpl
from ganzoo.run.checkpoint import load_checkpoint

TINY = {"batch_size": 16, "sample_every": 0, "checkpoint_every": 0,
        "set": ["dataset.n=64", "generator.hidden=8", "discriminator.hidden=8"]}


class MovingAnchor(Regulariser, nn.Module):
    """LeCam's shape: moving averages of D's outputs kept as buffers, and a penalty pulling D towards them."""

    def __init__(self) -> None:
        nn.Module.__init__(self)
        self.register_buffer("real_ema", torch.zeros(()))
        self.register_buffer("fake_ema", torch.zeros(()))

    def discriminator_penalty(self, ctx):
        real, fake = ctx.real_out.logits, ctx.fake_out.logits
        with torch.no_grad():
            self.real_ema.lerp_(real.float().mean(), 0.1)
            self.fake_ema.lerp_(fake.float().mean(), 0.1)
        return ((real - self.fake_ema) ** 2).mean() + ((fake - self.real_ema) ** 2).mean()


class ModeSeeking(Regulariser):
    """MSGAN's shape: a second batch from the step's own noise, through ``ctx.generate``."""

    seen: list = []

    def generator_penalty(self, ctx):
        z2 = ctx.noise(len(ctx.z))
        other = ctx.generate(z2, ctx.labels(len(ctx.z)))
        ModeSeeking.seen.append((other.requires_grad, ctx.generator is not None))
        ratio = (ctx.fake - other).abs().mean() / (ctx.z - z2).abs().mean()
        return 1 / (ratio + 1e-5)


class _Plugin:
    @hookimpl
    def ganzoo_regularisers(self):
        yield RegulariserSpec(name="anchor", factory=MovingAnchor, description="moving anchors (LeCam's shape)")
        yield RegulariserSpec(name="seek", factory=ModeSeeking, description="mode seeking (MSGAN's shape)")


@pytest.fixture
def state_plugin(plugin):
    plugin(_Plugin(), name="state-plugin")


@pytest.mark.parametrize("name, every", [("anchor", 1), ("anchor", 4), ("lecam", 1)])
def test_plugin_state_is_checkpointed_and_a_resumed_run_ends_bit_for_bit_equal(state_plugin, tmp_path, name, every):
    """The built-in LeCam too: its anchors restart at 0 without the checkpoint's state, and the runs part ways."""
    reg = [{"name": name, "every": every, "weight": 0.1}]
    ganzoo.train(steps=12, reg=reg, out=tmp_path / "straight", **TINY)
    ganzoo.train(steps=6, reg=reg, out=tmp_path / "resumed", **TINY)
    half = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "latest.pt")
    assert any(float(v) != 0 for v in half["plugins"]["regularisers.0"].values())  # the state is in the checkpoint
    ganzoo.train(resume=tmp_path / "resumed", steps=12)
    a, b = (load_checkpoint(tmp_path / run / "checkpoints" / "latest.pt") for run in ("straight", "resumed"))
    for key, value in a["plugins"]["regularisers.0"].items():
        assert torch.equal(value, b["plugins"]["regularisers.0"][key]), key
    for key in a["discriminator"]:
        assert torch.equal(a["discriminator"][key], b["discriminator"][key]), key


def test_a_regulariser_generates_a_second_batch_with_the_steps_generator(state_plugin, tmp_path):
    ModeSeeking.seen = []
    ganzoo.train(steps=3, reg=[{"name": "seek", "weight": 1.0}], out=tmp_path / "r", **TINY)
    # the trial step before training, then 3 steps: differentiable in G's weights, and G itself in the context
    assert ModeSeeking.seen == [(True, True)] * 4


def test_a_lazy_discriminator_regulariser_gets_fresh_outputs_for_both_batches(state_plugin, tmp_path):
    """The same fields as an eager step: the anchor reads ctx.fake_out, which a lazy step used to leave None."""
    ganzoo.train(steps=8, reg=[{"name": "anchor", "every": 4, "weight": 0.1}], out=tmp_path / "r", **TINY)
    state = load_checkpoint(tmp_path / "r" / "checkpoints" / "latest.pt")["plugins"]["regularisers.0"]
    assert float(state["fake_ema"]) != 0 and float(state["real_ema"]) != 0


def test_an_adaptive_augmentation_is_observed_and_its_p_logged(tiny_mnist, tmp_path):
    import io
    import json

    from ganzoo.run.progress import PlainReporter

    shown = io.StringIO()
    run = ganzoo.train("mlp", "mlp", "nonsaturating", "mnist", augment=[{"name": "ada", "kimg": 0.01}], steps=8,
                       batch_size=8, log_every=4, sample_every=0, reporter=PlainReporter(shown),
                       set=[f"dataset.root={tiny_mnist}", "dataset.download=false", "generator.hidden=16",
                            "discriminator.hidden=16"], out=tmp_path / "ada")
    lines = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    p = [line["ada_p"] for line in lines if "ada_p" in line]
    assert len(p) == 2 and all(0 <= v <= 1 for v in p)
    assert f"ada_p {p[-1]:.3f}" in shown.getvalue()  # on the progress line, after the losses
    state = load_checkpoint(run.run_dir / "checkpoints" / "latest.pt")["plugins"]["augment.0"]
    assert state["_extra_state"] == {"updates": 8} and 0 <= float(state["p"]) <= 1  # checkpointed
