"""Metrics for point data that lies on a known curve y = f(x) (parabola, sine, any dataset with ``curve``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganzoo import Data

from .distances import sliced_wasserstein

BINS = 20


def curve_error(xy: torch.Tensor, curve: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """Mean |y - f(x)| of points (N, 2), in data units."""
    return (xy[:, 1] - curve(xy[:, 0])).abs().mean().item()


def x_coverage(x: torch.Tensor, x_range: tuple[float, float], bins: int = BINS) -> float:
    """Share of equal-width bins over the true x-range holding at least a quarter of their expected share."""
    low, high = x_range
    inside = x[(x >= low) & (x <= high)]
    counts = torch.histc(inside.double(), bins=bins, min=low, max=high)
    expected = len(x) / bins
    return (counts >= expected / 4).double().mean().item()


def out_of_range(x: torch.Tensor, x_range: tuple[float, float]) -> float:
    """Fraction of points whose x lies outside the true x-range."""
    low, high = x_range
    return ((x < low) | (x > high)).double().mean().item()


def applies(data: Data) -> bool:
    return data.spec.kind == "points" and data.curve is not None and data.x_range is not None


def compute(ctx) -> dict[str, float]:
    xy = ctx.coords()
    x = xy[:, 0]
    return {
        "curve_error": curve_error(xy, ctx.data.curve),
        "x_coverage": x_coverage(x, ctx.data.x_range),
        "out_of_range": out_of_range(x, ctx.data.x_range),
        "sliced_wasserstein": sliced_wasserstein(ctx.samples, ctx.data.samples, cache=ctx.state.setdefault("swd", {})),
    }


KEYS = {
    "curve_error": "mean |y - f(x)| of generated points, in data units",
    "x_coverage": f"share of {BINS} x-bins over the true range holding >= 1/4 of their expected share",
    "out_of_range": "fraction of generated points with x outside the true range",
    "sliced_wasserstein": "sliced Wasserstein-1 distance to real points (normalised space)",
}
BETTER = {"curve_error": "lower", "x_coverage": "higher", "out_of_range": "lower", "sliced_wasserstein": "lower"}
