"""Mix and match: every compatible combination trains; every incompatible one is refused before training."""

from __future__ import annotations

import itertools
import math

import pytest

import ganzoo
from ganzoo import IncompatibleError

# Newer losses join on the cheapest mix and once on images with a conv D, which the gradient penalty differentiates
# twice; every loss on every model would multiply the suite's time without testing anything new.
NEW_LOSSES = ["lsgan", "hinge", "wgan-gp"]
IMAGE_MIXES = list(itertools.product(["mlp", "upconv"], ["mlp", "maxpool"], ["bce", "nonsaturating"], ["mnist"]))
IMAGE_MIXES += [("mlp", "maxpool", "wgan-gp", "mnist")]
POINT_MIXES = list(itertools.product(["mlp"], ["mlp"], ["bce", "nonsaturating"], ["parabola", "sine"]))
POINT_MIXES += [("mlp", "mlp", loss, "parabola") for loss in NEW_LOSSES]
SMALL = {
    "mlp": ["generator.hidden=32,64"],
    "upconv": ["generator.fc=32", "generator.channels=16", "generator.mid_channels=8"],
    "d-mlp": ["discriminator.hidden=32"],
    "maxpool": ["discriminator.channels=8,16", "discriminator.fc=16"],
}


@pytest.mark.parametrize("g, d, loss, dataset", IMAGE_MIXES + POINT_MIXES,
                         ids=["-".join(mix) for mix in IMAGE_MIXES + POINT_MIXES])
def test_every_compatible_mix_trains(g, d, loss, dataset, tiny_mnist, tmp_path):
    sets = SMALL[g] + SMALL["d-mlp" if d == "mlp" else d]
    if dataset == "mnist":
        sets += [f"dataset.root={tiny_mnist}", "dataset.download=false"]
    else:
        sets += ["dataset.n=128"]
    result = ganzoo.train(g, d, loss, dataset, set=sets, steps=3, batch_size=8, log_every=1, out=tmp_path / "run")
    assert result.step == 3
    assert all(math.isfinite(result.final[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))


@pytest.mark.parametrize(
    "g, d, dataset, culprit",
    [("upconv", "mlp", "parabola", "generator 'upconv'"), ("mlp", "maxpool", "sine", "discriminator 'maxpool'"),
     ("upconv", "maxpool", "parabola", "generator 'upconv'")],
)
def test_incompatible_mixes_fail_before_training(invoke, g, d, dataset, culprit, tmp_path):
    with pytest.raises(IncompatibleError):
        ganzoo.train(g, d, dataset=dataset, out=tmp_path / "api")
    result = invoke("train", "-g", g, "-d", d, "--dataset", dataset, "--out", tmp_path / "cli", expect=1)
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {culprit} cannot train on dataset '{dataset}'")
    assert "points (2,)" in line and "it needs image data" in line
    # the unconditional alternatives that take points (a conditional one would need labels)
    assert line.endswith((": mlp", ": infogan, mlp"))
    assert "compatible generators" in line or "compatible discriminators" in line
    assert not (tmp_path / "cli").exists()
