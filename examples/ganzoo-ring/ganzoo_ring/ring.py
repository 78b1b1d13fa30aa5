"""The ring: a mixture of Gaussians on a circle, the standard test of mode collapse, with its own metric.

A generator that collapses puts all its samples on one or two of the modes; the curve metrics of ganzoo's built-in
point datasets cannot see that, so this dataset brings a metric that counts the modes.
"""

from __future__ import annotations

import math

import torch

from ganzoo import Data, DataSpec, ParameterError

#: A sample is "high quality" within this many standard deviations of a mode's centre (as in the Unrolled GAN and
#: VEEGAN papers).
WITHIN_STD = 3.0
#: A mode counts as covered when it holds at least this fraction of its fair share (1 / modes) of the samples.
#: A fraction of the share rather than a sample count, so the verdict does not depend on how many samples are drawn.
COVERED_SHARE = 0.25


def centres(modes: int, radius: float) -> torch.Tensor:
    """The (modes, 2) mode centres, evenly spaced on the circle, the first at (radius, 0)."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return torch.stack([angles.cos(), angles.sin()], 1) * radius


def shape(**_params) -> DataSpec:
    return DataSpec("points", (2,))


def ring(n: int, modes: int, radius: float, std: float, seed: int) -> Data:
    """``n`` points, each from a mode chosen uniformly, plus isotropic Gaussian noise of ``std``."""
    for name, value in (("n", n), ("modes", modes)):
        if value < 2:
            raise ParameterError(f"dataset 'ring': '{name}' must be at least 2, got {value}")
    for name, value in (("radius", radius), ("std", std)):
        if value <= 0:
            raise ParameterError(f"dataset 'ring': '{name}' must be positive, got {value}")
    gen = torch.Generator().manual_seed(seed)
    centre = centres(modes, radius)[torch.randint(modes, (n,), generator=gen)]
    points = centre + std * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    data = Data.points(points.float())
    data.extra["ring"] = {"centres": centres(modes, radius), "std": std}
    return data


def mode_stats(xy: torch.Tensor, centre: torch.Tensor, std: float) -> dict[str, float]:
    """``modes_covered`` and ``high_quality`` of points (N, 2) in data coordinates."""
    distance = torch.cdist(xy.double(), centre.double())  # (N, modes)
    nearest, mode = distance.min(1)
    good = nearest <= WITHIN_STD * std
    counts = torch.bincount(mode[good], minlength=len(centre)).double()
    fair = len(xy) / len(centre)
    return {
        "modes_covered": int((counts >= COVERED_SHARE * fair).sum()),
        "high_quality": good.double().mean().item(),
    }


def applies(data: Data) -> bool:
    return "ring" in data.extra


def compute(ctx) -> dict[str, float]:
    ring_info = ctx.data.extra["ring"]
    return mode_stats(ctx.coords(), ring_info["centres"], ring_info["std"])


KEYS = {
    "modes_covered": f"modes holding >= {COVERED_SHARE:g} of their fair share of samples within "
                     f"{WITHIN_STD:g} std of the centre",
    "high_quality": f"share of samples within {WITHIN_STD:g} std of some mode's centre",
}
BETTER = {"modes_covered": "higher", "high_quality": "higher"}
