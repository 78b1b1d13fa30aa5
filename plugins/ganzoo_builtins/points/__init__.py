"""Built-in plugin: 2-D point datasets on known curves, generated in memory (the no-download defaults)."""

from __future__ import annotations

import torch

from ganzoo import Data, DatasetSpec, DataSpec, Param, ParameterError, hookimpl

# Their training settings are the defaults of every point dataset (the built-in `defaults` plugin), but for what a
# single smooth arc learns best with, measured with benchmarks/point_suite.py over seeds 0-7: 6,000 steps from a
# 64-D latent without R1, the mlp generator's LeakyReLU (parabola curve error 0.041 ± 0.002, 8/8 seeds within 0.05,
# `ganzoo train` in under 30 s). The point defaults (2-D latent, R1 0.1), made for separate modes, reached
# 0.043 ± 0.014 there at 6,000 steps (seeds 4 and 5 at 0.073 and 0.056; both 0.035-0.037 at 9,000 steps, which would
# cost 40 s); the ReLU the mlp generator takes on other points 0.0405 ± 0.0052, seed 5 at 0.0525.
CURVE_SETTINGS = {"steps": 6_000, "latent_dim": 64, "regularisers": [], "generator": {"slope": 0.2}}


def _parabola(x: torch.Tensor) -> torch.Tensor:
    return x * x + 1


def _params(curve_help: str) -> tuple[Param, ...]:
    return (
        Param("n", int, 10_000, "number of points", min=2),
        Param("noise", float, 0.0, f"std of Gaussian noise added to y ({curve_help})", min=0),
        Param("x_min", float, -3.0, "smallest x"),
        Param("x_max", float, 3.0, "largest x"),
        Param("seed", int, 0, "seed of the point sampler (independent of the training seed)"),
    )


def _shape(**_params) -> DataSpec:
    return DataSpec("points", (2,))


def _curve_points(curve, n: int, noise: float, x_min: float, x_max: float, seed: int) -> Data:
    if x_max <= x_min:
        raise ParameterError(f"'x_max' ({x_max}) must be larger than 'x_min' ({x_min})")
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=gen) * (x_max - x_min) + x_min
    y = curve(x) + noise * torch.randn(n, generator=gen)
    return Data.points(torch.stack([x, y], 1), curve=curve, x_range=(x_min, x_max))


def parabola(**params) -> Data:
    """Points (x, x^2 + 1), x uniform on [x_min, x_max]."""
    return _curve_points(_parabola, **params)


def sine(**params) -> Data:
    """Points (x, sin x), x uniform on [x_min, x_max]."""
    return _curve_points(torch.sin, **params)


@hookimpl
def ganzoo_datasets():
    yield DatasetSpec(
        name="parabola",
        factory=parabola,
        shape=_shape,
        description="2-D points on y = x^2 + 1, x uniform on [-3, 3]; generated in memory.",
        params=_params("y = x^2 + 1"),
        suggested=CURVE_SETTINGS,
    )
    yield DatasetSpec(
        name="sine",
        factory=sine,
        shape=_shape,
        description="2-D points on y = sin x, x uniform on [-3, 3]; generated in memory.",
        params=_params("y = sin x"),
        suggested=CURVE_SETTINGS,
    )

