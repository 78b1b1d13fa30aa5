"""Built-in plugin: training defaults by kind of data, so that every dataset of a kind — built in, from a file or
from a third-party plugin — starts from settings that suit it (a dataset's own suggestions still win)."""

from __future__ import annotations

from ganzoo import DataSpec, DefaultsSpec, hookimpl

#: Chosen with the point suite (benchmarks/point_suite.py, seeds 0-2; README "The point suite"): a 2-D latent and a
#: light R1 (γ 0.1, lazy) make the defaults cover every mode of the 8-Gaussian ring and of the 5x5 grid (with 64
#: latent dimensions and no R1 the grid's samples gathered at its four corners); the mlp generator's ReLU (its own
#: defaults for points) puts >= 90% of samples within 3 std of a mode. 18,000 steps: a slow seed (the ring's seed 2
#: found no mode before step 6,000) is at 82% by 12,000 and 93% by 18,000. Batch 128 at lr 4e-4 (tuned on the
#: parabola: the tiny models cost about the same per step at batch 64, so bigger batches buy accuracy). The built-in
#: curves suggest their own settings (see the points plugin).
POINTS = {"steps": 18_000, "batch_size": 128, "lr_g": 4e-4, "lr_d": 4e-4, "ema": 0.99, "latent_dim": 2,
          "regularisers": [{"name": "r1", "weight": 0.1}]}
#: The MLP settings tuned on MNIST (see the mnist plugin), for other small images the convolutional models cannot
#: take (a side that is not a power of two).
SMALL_IMAGES = {"steps": 25_000, "latent_dim": 100, "batch_size": 128, "lr_g": 4e-4, "lr_d": 4e-4, "ema": 0.999}
#: DCGAN's own settings (Radford et al. 2016: Adam 2e-4, beta1 0.5, z of 100), with batch 128 up to 64 px and
#: halved for each doubling beyond (activation memory grows 4x per doubling).
DCGAN_SIDES = (16, 32, 64, 128, 256)


def points(data: DataSpec):
    return dict(POINTS) if data.kind == "points" else None


def images(data: DataSpec):
    if data.kind != "image":
        return None
    _, h, w = data.shape
    if h == w and h in DCGAN_SIDES:
        batch = 128 if h <= 64 else 128 * 64 // h
        return {"generator": "dcgan", "discriminator": "dcgan", "latent_dim": 100, "batch_size": batch,
                "lr_g": 2e-4, "lr_d": 2e-4, "ema": 0.999, "steps": 20_000, "betas": [0.5, 0.999]}
    if max(h, w) <= 32:
        return dict(SMALL_IMAGES)
    return None


@hookimpl
def ganzoo_defaults():
    yield DefaultsSpec(name="points", settings=points,
                       description="Every point dataset: a 2-D latent, R1 of weight 0.1, batch 128, lr 4e-4, EMA 0.99, "
                                   "18,000 steps (the built-in curves suggest their own).")
    yield DefaultsSpec(name="images", settings=images,
                       description="Square images of side 16-256 (powers of two): DCGAN G and D with DCGAN's "
                                   "settings; other images up to 32 px: the MLP settings tuned on MNIST.")
