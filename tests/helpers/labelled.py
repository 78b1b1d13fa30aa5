"""A labelled point dataset for tests of conditional mixes: K Gaussian blobs on a circle, each its own class.

Register it in-process (``registry.register(labelled, name="labelled")``); a class's blob sits at angle 2πk/K, so a
test can read back which class a point was generated for."""

from __future__ import annotations

import math

import torch

from ganzoo import Data, DatasetSpec, DataSpec, Param, hookimpl

CLASSES = 4


def centres(classes: int = CLASSES) -> torch.Tensor:
    angle = torch.arange(classes) * 2 * math.pi / classes
    return torch.stack([angle.cos(), angle.sin()], 1) * 2


def blobs(n: int, classes: int, noise: float, seed: int) -> Data:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (n,), generator=gen)
    xy = centres(classes)[labels] + noise * torch.randn(n, 2, generator=gen)
    return Data.points(xy, labels=labels, classes=classes)


def nearest_class(xy: torch.Tensor, classes: int = CLASSES) -> torch.Tensor:
    """The class whose blob centre is nearest to each point."""
    return torch.cdist(xy, centres(classes)).argmin(1)


@hookimpl
def ganzoo_datasets():
    yield DatasetSpec(
        name="blobs", factory=blobs, description="Labelled Gaussian blobs on a circle (tests).",
        shape=lambda classes, **_: DataSpec("points", (2,), classes=classes),
        params=(Param("n", int, 512, "points"), Param("classes", int, CLASSES, "blobs"),
                Param("noise", float, 0.1, "std of each blob"), Param("seed", int, 0, "sampler seed")),
    )
