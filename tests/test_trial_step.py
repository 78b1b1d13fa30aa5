"""The trial step before training (issue 25): a plugin's fault is named before the first real step, and the run
that follows is exactly the one that would have run without the trial."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo import Regulariser, RegulariserSpec, hookimpl
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.training import trainer as trainer_module

TINY = {"batch_size": 16, "sample_every": 0, "set": ["dataset.n=64", "generator.hidden=8", "discriminator.hidden=8"]}


class Counting(Regulariser):
    """A penalty that depends on a plain attribute the trial must put back (no state_dict declares it)."""

    def __init__(self) -> None:
        self.calls = 0

    def discriminator_penalty(self, ctx):
        self.calls += 1
        return ctx.real_out.logits.float().square().mean() * (1 + self.calls % 3)


class NotANumber(Regulariser):
    def discriminator_penalty(self, ctx):
        return ctx.real_out.logits.float().mean() * float("nan")


class _Plugin:
    @hookimpl
    def ganzoo_regularisers(self):
        yield RegulariserSpec(name="counting", factory=Counting, description="depends on its call count")
        yield RegulariserSpec(name="not-a-number", factory=NotANumber, description="NaN")


@pytest.fixture
def trial_plugin(plugin):
    plugin(_Plugin(), name="trial-plugin")


def test_the_trial_leaves_the_run_exactly_as_without_it(trial_plugin, tmp_path, monkeypatch):
    options = {"steps": 6, "reg": ["counting"], "ema": 0.9, "lr_schedule": "linear", **TINY}
    ganzoo.train(out=tmp_path / "with", **options)
    monkeypatch.setattr(trainer_module, "trial_step", lambda trainer: None)
    ganzoo.train(out=tmp_path / "without", **options)
    a, b = (load_checkpoint(tmp_path / run / "checkpoints" / "latest.pt") for run in ("with", "without"))
    for part in ("generator", "discriminator", "ema"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    assert torch.equal(a["rng"]["cpu"], b["rng"]["cpu"])


def test_a_non_finite_penalty_is_refused_before_training_and_leaves_nothing(trial_plugin, invoke, tmp_path):
    result = invoke("train", "--reg", "not-a-number", "--steps", "50", "--set", "dataset.n=64", "-q",
                    "--out", tmp_path / "run", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "regulariser 'not-a-number' came out nan (not-a-number_d) in a trial step before training" in errors[0]
    assert not (tmp_path / "run").exists()
