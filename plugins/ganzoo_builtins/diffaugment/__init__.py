"""Built-in plugin: DiffAugment (Zhao et al. 2020): differentiable augmentation of every discriminator input.

With little data, D memorises the training set and G's gradients stop meaning anything. Augmenting only the real
images would teach G to produce augmented images; DiffAugment instead applies the same random, differentiable
transformations T to real and generated images, in D's step and in G's, so D(T(x)) is what both players see and G
learns through T. The three policies of the paper: ``color`` (brightness, saturation, contrast), ``translation``
(shifts of up to 1/8 of the image, zero-padded) and ``cutout`` (a zeroed square of half the image's side).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import AugmentationSpec, DataSpec, Param, RecipeSpec, hookimpl, translate

CITATION = "Zhao et al. 2020, 'Differentiable Augmentation for Data-Efficient GAN Training'"
POLICIES = ("color", "translation", "cutout")


def color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (±0.5), saturation (×[0, 2]) and contrast (×[0.5, 1.5]) per sample, on [-1, 1] images."""
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by whole pixels, up to ``ratio`` of its size in each direction; the uncovered border is
    zero (``ganzoo.translate``)."""
    return translate(x, ratio, "zeros")


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` times the image's side per sample, centred anywhere (clipped at the border)."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_h % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_w % 2), (n, 1, 1), device=x.device)
    ys, xs = torch.arange(h, device=x.device).view(1, h, 1), torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy + size_h // 2).clamp(min=-1) // size_h == 0) & ((xs - cx + size_w // 2) // size_w == 0)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment(nn.Module):
    """The chosen policies, applied in order to every batch."""

    def __init__(self, data: DataSpec, policy: list[str]) -> None:
        super().__init__()
        self.steps = [{"color": color, "translation": translation, "cutout": cutout}[p] for p in policy]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


@hookimpl
def ganzoo_augmentations():
    yield AugmentationSpec(
        name="diffaugment", factory=DiffAugment, data_kinds=("image",), citation=CITATION,
        description="DiffAugment: the same random color, translation and cutout on every D input, real and "
                    "generated, in both players' steps.",
        params=(Param("policy", list[str], list(POLICIES), "transformations, in order", choices=POLICIES),),
    )


def _limited(augment: list[str]) -> dict:
    return {"dataset": {"name": "mnist", "limit": 1000}, "generator": "mlp", "discriminator": "mlp",
            "loss": "nonsaturating", "augment": augment, "steps": 10_000,
            "opt": {"name": "adam", "betas": [0.5, 0.999]}}


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="diffaugment-mnist", citation=CITATION, settings=_limited(["diffaugment"]),
        description="DiffAugment on 1,000 MNIST digits: the default MLP mix, every D input color/translation/cutout.",
    )
    yield RecipeSpec(
        name="limited-mnist", citation="the baseline of Zhao et al. 2020's data-limited experiments",
        settings=_limited([]),
        description="The diffaugment-mnist recipe without augmentation: the default MLP mix on 1,000 MNIST digits.",
    )
