"""Metrics for any point dataset, with no known curve: sliced Wasserstein, MMD and precision / recall / density /
coverage, each against held-out real points.

The reference is the dataset's test split when it declares one, otherwise a seeded draw from the training data (the
run trained on it, so these then measure how close G came to the training distribution). Both sets are compared in
the real set's standardised coordinates, so no dimension dominates by its units.
"""

from __future__ import annotations

import torch

from ganzoo import Data

from .distances import sliced_wasserstein

#: Points per set that the pairwise metrics use (their memory grows with its square: ~100 MB at 2,000).
MAX_POINTS = 2000
#: Nearest neighbours that define each point's radius in PRDC (Naeem et al. 2020 use 5).
K = 5


def applies(data: Data) -> bool:
    return data.spec.kind == "points"


def _subset(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    if len(x) <= n:
        return x
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]]


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None) -> float:
    """Unbiased MMD² with the kernel exp(-|a - b|² / (2 h²)); ``h`` defaults to the median pairwise distance of the
    pooled sets (the median heuristic). 0 in expectation when x and y come from one distribution."""
    x, y = x.double(), y.double()
    if bandwidth is None:
        pooled = torch.cat([x, y])
        d = torch.cdist(pooled, pooled)
        bandwidth = d[torch.triu_indices(len(pooled), len(pooled), 1).unbind()].median().item() or 1.0
    gamma = 1 / (2 * bandwidth**2)
    kxx, kyy, kxy = (torch.exp(-gamma * torch.cdist(a, b) ** 2) for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return (xx + yy - 2 * kxy.mean()).item()


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = K) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-nearest-neighbour balls."""
    real, fake = real.double(), fake.double()
    k = max(1, min(k, len(real) - 1, len(fake) - 1))  # a tiny set: its points' furthest neighbours
    rr, ff, rf = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(real, fake)
    # the k-th neighbour other than the point itself: index k of the sorted row (index 0 is the point, distance 0)
    r_real = rr.kthvalue(k + 1, dim=1).values
    r_fake = ff.kthvalue(k + 1, dim=1).values
    inside = rf <= r_real[:, None]  # fake j inside real i's ball
    return {
        "precision": inside.any(0).double().mean().item(),
        "recall": (rf <= r_fake[None, :]).any(1).double().mean().item(),
        "density": inside.double().sum(0).mean().item() / k,
        "coverage": (rf.min(1).values <= r_real).double().mean().item(),
    }


def _reference(ctx) -> torch.Tensor:
    held = ctx.held_out()
    real = held if held is not None else ctx.full_data()
    return _subset(real.to_data(real.take()), MAX_POINTS, seed=0)


def compute(ctx) -> dict[str, float]:
    if "real" not in ctx.state:
        ref = _reference(ctx)
        ctx.state.update(real=ref, mean=ref.mean(0), std=ref.std(0).clamp_min(1e-8))
    real, mean, std = ctx.state["real"], ctx.state["mean"], ctx.state["std"]
    coords = ctx.coords()
    if not torch.isfinite(coords).all():
        return {key: float("nan") for key in KEYS}
    real_z, fake_z = (real - mean) / std, (_subset(coords, MAX_POINTS, seed=1) - mean) / std
    return {"points_swd": sliced_wasserstein(fake_z, real_z), "mmd": mmd_rbf(real_z, fake_z),
            **prdc(real_z, fake_z)}


KEYS = {
    "points_swd": "sliced Wasserstein-1 distance to held-out real points (standardised)",
    "mmd": "unbiased squared MMD, RBF kernel with the median-heuristic bandwidth, to held-out real points",
    "precision": f"share of generated points inside some real point's {K}-NN ball (Naeem et al. 2020)",
    "recall": f"share of real points inside some generated point's {K}-NN ball",
    "density": f"generated points' mean count of real {K}-NN balls holding them, divided by {K}",
    "coverage": f"share of real points whose {K}-NN ball holds a generated point",
}
BETTER = {"points_swd": "lower", "mmd": "lower", "precision": "higher", "recall": "higher", "density": "higher",
          "coverage": "higher"}
