"""Mixtures of Gaussians (the 8-Gaussian ring and the 5x5 grid, the classic mode-collapse tests) and how many of
their modes samples cover, for the tests and benchmarks/point_suite.py."""

from __future__ import annotations

import math

import torch

RING = {"modes": 8, "radius": 2.0, "std": 0.02}
GRID = {"side": 5, "spacing": 2.0, "std": 0.05}
#: A mode holds at least this share of all samples within 3 std to count as covered (Lin et al. 2018, PacGAN).
MODE_SHARE = 0.008


def ring_centres() -> torch.Tensor:
    angle = torch.arange(RING["modes"]) * (2 * math.pi / RING["modes"])
    return torch.stack([angle.cos(), angle.sin()], 1) * RING["radius"]


def grid_centres() -> torch.Tensor:
    axis = (torch.arange(GRID["side"]) - (GRID["side"] - 1) / 2) * GRID["spacing"]
    return torch.cartesian_prod(axis, axis)


def mixture(centres: torch.Tensor, std: float, n: int = 10_000, seed: int = 0) -> torch.Tensor:
    """``n`` points from equal-weight isotropic Gaussians at ``centres``."""
    gen = torch.Generator().manual_seed(seed)
    which = torch.randint(0, len(centres), (n,), generator=gen)
    return centres[which] + std * torch.randn(n, 2, generator=gen)


def modes(samples: torch.Tensor, centres: torch.Tensor, std: float) -> dict[str, float]:
    """Modes covered (PacGAN's rule) and the share of good samples (within 3 std of their nearest mode)."""
    nearest, which = torch.cdist(samples.float(), centres).min(1)
    good = nearest <= 3 * std
    counts = torch.bincount(which[good], minlength=len(centres))
    return {"modes": int((counts >= MODE_SHARE * len(samples)).sum()), "good": good.float().mean().item()}
