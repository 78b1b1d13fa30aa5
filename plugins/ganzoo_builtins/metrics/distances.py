"""Distances between sample sets: sliced Wasserstein (any vectors) and the Fréchet distance (feature sets)."""

from __future__ import annotations

import torch


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 256, seed: int = 0,
                       cache: dict | None = None) -> float:
    """Mean 1-D Wasserstein-1 distance between ``a`` and ``b`` (N, D) along random unit directions.

    Both sets are cut to the same size so the sorted projections pair up one to one. ``cache``, a dict kept with a
    fixed ``b`` (a metric's state), keeps b's sorted projections for the next ``a`` of the same size: the draws that
    pick the directions and the subsets depend on the sizes and the seed alone.
    """
    a = a.flatten(1).double()
    key = (len(a), len(b), projections, seed)
    if cache is None or key not in cache:
        b = b.flatten(1).double()
        n = min(len(a), len(b))
        gen = torch.Generator().manual_seed(seed)
        keep_a = torch.randperm(len(a), generator=gen)[:n]
        b = b[torch.randperm(len(b), generator=gen)[:n]]
        directions = torch.randn(a.shape[1], projections, generator=gen, dtype=torch.float64)
        directions /= directions.norm(dim=0, keepdim=True)
        pb = _sorted(b @ directions)
        if cache is not None:
            cache[key] = keep_a, directions, pb
    else:
        keep_a, directions, pb = cache[key]
    return (_sorted(a[keep_a] @ directions) - pb).abs().mean().item()


def _sorted(projected: torch.Tensor) -> torch.Tensor:
    """Each direction's projections (a column) sorted, as rows: contiguous rows sort faster than strided columns."""
    return projected.T.contiguous().sort(dim=1).values


def inception_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) for class probabilities (N, K): 1 when every sample gets the same prediction,
    K when the predictions are confident and spread evenly over K classes."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    return torch.exp((p * (p.log() - marginal.log())).sum(1).mean()).item()


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (float64) of a feature set (N, D)."""
    features = features.double()
    return features.mean(0), torch.cov(features.T)


def frechet_distance(stats_a: tuple[torch.Tensor, torch.Tensor], stats_b: tuple[torch.Tensor, torch.Tensor]) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the distance FID uses.

    The trace of the matrix square root is taken through eigenvalues of the symmetric S_a^(1/2) S_b S_a^(1/2),
    which avoids the complex results a general ``sqrtm`` produces from rounding.
    """
    mu_a, cov_a = stats_a
    mu_b, cov_b = stats_b
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    middle = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(value.item(), 0.0)
