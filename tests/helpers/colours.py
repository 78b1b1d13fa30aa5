"""A tiny image distribution with a measurable answer, for tests that train on images: every 16x16 image is one
colour, drawn uniformly from the segment between two colours (plus pixel noise); its label says which half of the
segment it lies in.

Register it in-process (``registry.register(Colours(), name="colours")``) and read a run's samples back with
:func:`place` and :func:`on_the_segment`."""

from __future__ import annotations

import torch

import ganzoo
from ganzoo import Data, DatasetSpec, DataSpec, Param, hookimpl

ONE, OTHER = torch.tensor([0.9, 0.3, 0.1]), torch.tensor([0.1, 0.4, 0.9])


def colours(n: int, seed: int) -> Data:
    gen = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=gen)
    colour = t[:, None] * ONE + (1 - t[:, None]) * OTHER
    pixels = colour[:, :, None, None] + 0.05 * torch.randn(n, 3, 16, 16, generator=gen)
    return Data.images(pixels.clamp(0, 1), labels=(t > 0.5).long(), classes=2)


class Colours:
    @hookimpl
    def ganzoo_datasets(self):
        yield DatasetSpec(name="colours", factory=colours, shape=lambda **_: DataSpec("image", (3, 16, 16), 2),
                          description="16x16 images of one colour each, uniform between two colours (tests).",
                          params=(Param("n", int, 512, "images"), Param("seed", int, 0, "sampler seed")))


def place(images: torch.Tensor) -> torch.Tensor:
    """Each image's mean colour projected onto the segment: 0 at OTHER, 1 at ONE."""
    colour = images.mean((2, 3))
    return (colour - OTHER) @ (ONE - OTHER) / (ONE - OTHER).square().sum()


def on_the_segment(run) -> tuple[float, float, float]:
    """The W1 distance of a run's samples' places to U(0, 1), their spread, and how far their colours lie off the
    segment."""
    images = ganzoo.sample(run, 1000, seed=1)
    t = place(images)
    off = (images.mean((2, 3)) - t[:, None] * ONE - (1 - t[:, None]) * OTHER).norm(dim=1).mean().item()
    return (t.sort().values - torch.linspace(0, 1, 1000)).abs().mean().item(), t.std().item(), off
