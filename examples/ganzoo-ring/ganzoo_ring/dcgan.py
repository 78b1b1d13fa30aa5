"""A DCGAN-style discriminator: strided 4x4 convolutions instead of pooling, one logit out.

The depth is a parameter (one conv per entry of ``channels``), so one class serves every resolution instead of a
copy per image size.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import DataSpec, ParameterError

KERNEL, STRIDE, PADDING = 4, 2, 1
MIN_SIZE = 16


def halved(size: int) -> int:
    """The output size of one 4x4, stride-2, padding-1 convolution (28 -> 14 -> 7 -> 3 -> 1)."""
    return (size + 2 * PADDING - KERNEL) // STRIDE + 1


def at_least_16(data: DataSpec) -> str | None:
    """The ``check`` of the record: below 16x16 the default three halvings leave almost nothing to judge."""
    _, h, w = data.shape
    if h >= MIN_SIZE and w >= MIN_SIZE:
        return None
    return f"it needs images of at least {MIN_SIZE}x{MIN_SIZE}, got {h}x{w}"


class StridedDiscriminator(nn.Module):
    """(conv 4x4 stride 2 -> [BatchNorm] -> LeakyReLU) per entry of ``channels`` -> flatten -> linear -> 1 logit.

    As in DCGAN, the first layer has no BatchNorm: normalising the raw pixels' layer only slows D down.
    """

    def __init__(self, data: DataSpec, channels: list[int], slope: float, batchnorm: bool) -> None:
        super().__init__()
        owner = "discriminator 'strided'"
        if not channels or any(c <= 0 for c in channels):
            raise ParameterError(f"{owner}: 'channels' needs one or more positive widths (e.g. 64,128,256), "
                                 f"got {channels}")
        c, h, w = data.shape
        layers: list[nn.Module] = []
        for i, width in enumerate(channels):
            h, w = halved(h), halved(w)
            if h < 1 or w < 1:
                raise ParameterError(f"{owner}: {len(channels)} strided layers shrink {data.shape[1]}x"
                                     f"{data.shape[2]} images to nothing; use fewer entries in 'channels'")
            layers.append(nn.Conv2d(c, width, KERNEL, STRIDE, PADDING, bias=not (batchnorm and i > 0)))
            if batchnorm and i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(slope))
            c = width
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c * h * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).view(-1)
