"""Metrics for any point dataset, with no known curve: sliced Wasserstein, MMD and precision / recall / density /
coverage, each against held-out real points.

The reference is the dataset's test split when it declares one, otherwise a seeded draw from the training data (the
run trained on it, so these then measure how close G came to the training distribution). Both sets are compared in
the real set's standardised coordinates, so no dimension dominates by its units.
"""

from __future__ import annotations

import functools

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
    return _mmd(torch.cdist(x, x), torch.cdist(y, y), torch.cdist(x, y), bandwidth)


@functools.lru_cache(maxsize=4)
def _upper_index(n: int) -> torch.Tensor:
    i, j = torch.triu_indices(n, n, 1)
    return i * n + j


def _upper(d: torch.Tensor) -> torch.Tensor:
    """The distances above the diagonal of a square distance matrix: each pair once."""
    return d.take(_upper_index(len(d)))


def _mmd(dxx: torch.Tensor, dyy: torch.Tensor, dxy: torch.Tensor, bandwidth: float | None = None,
         upper_xx: torch.Tensor | None = None, squared_xx: torch.Tensor | None = None) -> float:
    """:func:`mmd_rbf` from the distance matrices (``upper_xx``: :func:`_upper` of ``dxx`` and ``squared_xx``: its
    square, when kept). The pooled sets' pairs are the pairs within x, within y and across: their median is the
    median heuristic's."""
    if bandwidth is None:
        pairs = torch.cat([_upper(dxx) if upper_xx is None else upper_xx, _upper(dyy), dxy.flatten()])
        bandwidth = pairs.median().item() or 1.0
    gamma = 1 / (2 * bandwidth**2)
    kxx, kyy, kxy = ((d**2 if sq is None else sq).mul(-gamma).exp_()
                     for d, sq in ((dxx, squared_xx), (dyy, None), (dxy, None)))
    m, n = len(dxx), len(dyy)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return (xx + yy - 2 * kxy.mean()).item()


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = K) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-nearest-neighbour balls."""
    real, fake = real.double(), fake.double()
    k = _neighbours(k, real, fake)
    return _prdc(_radii(torch.cdist(real, real), k), torch.cdist(fake, fake), torch.cdist(real, fake), k)


def _neighbours(k: int, real: torch.Tensor, fake: torch.Tensor) -> int:
    return max(1, min(k, len(real) - 1, len(fake) - 1))  # a tiny set: its points' furthest neighbours


def _radii(d: torch.Tensor, k: int) -> torch.Tensor:
    """Each point's distance to its k-th neighbour other than itself: index k of the sorted row (index 0 is the
    point, distance 0)."""
    return d.topk(k + 1, dim=1, largest=False).values[:, -1]


def _prdc(r_real: torch.Tensor, ff: torch.Tensor, rf: torch.Tensor, k: int) -> dict[str, float]:
    """:func:`prdc` from the real points' radii and the fake-fake and real-fake distances."""
    r_fake = _radii(ff, k)
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


def _real(state: dict, ctx) -> dict:
    """What the real points give every evaluation (kept in the metric's state): standardised, their distances to
    each other, each pair once, and their k-NN radii."""
    if "real_z" not in state:
        ref = _reference(ctx)
        mean, std = ref.mean(0), ref.std(0).clamp_min(1e-8)
        real_z = ((ref - mean) / std).double()
        rr = torch.cdist(real_z, real_z)
        state.update(mean=mean, std=std, real_z=real_z, rr=rr, rr_upper=_upper(rr), rr_squared=rr**2, radii={},
                     swd={})
    return state


def compute(ctx) -> dict[str, float]:
    real = _real(ctx.state, ctx)
    coords = ctx.coords()
    if not torch.isfinite(coords).all():
        return {key: float("nan") for key in KEYS}
    real_z, rr = real["real_z"], real["rr"]
    fake_z = ((_subset(coords, MAX_POINTS, seed=1) - real["mean"]) / real["std"]).double()
    ff, rf = torch.cdist(fake_z, fake_z), torch.cdist(real_z, fake_z)
    k = _neighbours(K, real_z, fake_z)
    if k not in real["radii"]:
        real["radii"][k] = _radii(rr, k)
    return {"points_swd": sliced_wasserstein(fake_z, real_z, cache=real["swd"]),
            "mmd": _mmd(rr, ff, rf, upper_xx=real["rr_upper"], squared_xx=real["rr_squared"]),
            **_prdc(real["radii"][k], ff, rf, k)}


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
