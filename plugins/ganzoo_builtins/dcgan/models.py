"""DCGAN's generator and discriminator, and their conditional forms, built from one pair of body builders.

Depth follows the image side: one stride-2 layer per doubling between 4x4 and the side, so a single record serves
16 to 256 pixels. Channels double towards the 4x4 end (``width`` at half the side, at most ``max_width``).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from ganzoo import DataSpec, ParameterError

SIDES = (16, 32, 64, 128, 256)
SLOPE = 0.2  # the paper's LeakyReLU slope in D


def side_problem(data: DataSpec) -> str | None:
    """Why DCGAN cannot be built for ``data``'s images, or None: the layers need a square power-of-two side."""
    c, h, w = data.shape
    if h == w and h in SIDES:
        return None
    return (f"DCGAN needs square images whose side is a power of two from {SIDES[0]} to {SIDES[-1]}, got "
            f"{c}x{h}x{w}")


def widths(data: DataSpec, width: int, max_width: int) -> list[int]:
    """Channels at 4x4, 8x8, ... up to side/2: ``width`` at side/2, doubling towards 4x4, capped at ``max_width``."""
    problem = side_problem(data)  # the records' check refuses such data first; this guards direct use
    if problem:
        raise ParameterError(problem)
    if max_width < width:
        raise ParameterError(f"'width' ({width}) must be at most 'max_width' ({max_width})")
    levels = data.shape[1].bit_length() - 3  # resolutions 4, 8, ..., side/2
    return [min(max_width, width * 2 ** k) for k in reversed(range(levels))]


def _init(layer: nn.Module) -> nn.Module:
    """The paper's initialisation: weights N(0, 0.02); BatchNorm scales N(1, 0.02); biases 0."""
    nn.init.normal_(layer.weight, 1.0 if isinstance(layer, nn.BatchNorm2d) else 0.0, 0.02)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def _sn(layer: nn.Module, on: bool) -> nn.Module:
    # wrapped after _init: the parametrisation then starts from the initialised weight
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


def _conv(a: int, b: int, stride: int, padding: int, bias: bool, spectral_norm: bool = False) -> nn.Module:
    return _sn(_init(nn.Conv2d(a, b, 4, stride, padding, bias=bias)), spectral_norm)


def _up(a: int, b: int, stride: int, padding: int, bias: bool) -> nn.Module:
    return _init(nn.ConvTranspose2d(a, b, 4, stride, padding, bias=bias))


def generator_body(latent_dim: int, data: DataSpec, width: int, max_width: int) -> nn.Sequential:
    """z (B, latent_dim, 1, 1) -> 4x4 -> (transposed conv, BatchNorm, ReLU) per doubling -> C channels -> tanh."""
    chans = widths(data, width, max_width)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise([latent_dim, *chans])):
        # no bias before BatchNorm: its shift would be subtracted again
        layers += [_up(a, b, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False), _init(nn.BatchNorm2d(b)),
                   nn.ReLU(inplace=True)]
    layers += [_up(chans[-1], data.shape[0], 2, 1, bias=True), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator_body(data: DataSpec, width: int, max_width: int, batchnorm: bool, spectral_norm: bool,
                       extra_channels: int = 0) -> tuple[nn.Sequential, int]:
    """The mirror of G's body, from the image (plus ``extra_channels``) down to the last hidden 4x4 block; returns
    it and its channel count. The first layer has no BatchNorm, as in the paper."""
    chans = widths(data, width, max_width)[::-1]
    layers: list[nn.Module] = [_conv(data.shape[0] + extra_channels, chans[0], 2, 1, True, spectral_norm),
                               nn.LeakyReLU(SLOPE, inplace=True)]
    for a, b in pairwise(chans):
        layers.append(_conv(a, b, 2, 1, not batchnorm, spectral_norm))
        layers += [_init(nn.BatchNorm2d(b))] if batchnorm else []
        layers.append(nn.LeakyReLU(SLOPE, inplace=True))
    return nn.Sequential(*layers), chans[-1]


class DCGANGenerator(nn.Module):
    """z -> 4x4 -> (ConvTranspose2d 4,2,1 + BatchNorm + ReLU) per doubling -> C channels at the side -> tanh."""

    def __init__(self, latent_dim: int, data: DataSpec, width: int, max_width: int) -> None:
        super().__init__()
        self.net = generator_body(latent_dim, data, width, max_width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(*z.shape, 1, 1))


class ConditionalDCGANGenerator(DCGANGenerator):
    """[z, embed(y)] -> the DCGAN generator."""

    def __init__(self, latent_dim: int, data: DataSpec, width: int, max_width: int, embed: int) -> None:
        super().__init__(latent_dim + embed, data, width, max_width)
        self.embed = nn.Embedding(data.classes, embed)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([z, self.embed(labels).to(z.dtype)], 1))


class DCGANDiscriminator(nn.Module):
    """Image -> strided convs down to 4x4 -> a 4x4 conv to one logit; ``features`` is the flattened 4x4 block."""

    def __init__(self, data: DataSpec, width: int, max_width: int, batchnorm: bool, spectral_norm: bool,
                 extra_channels: int = 0) -> None:
        super().__init__()
        self.body, hidden = discriminator_body(data, width, max_width, batchnorm, spectral_norm, extra_channels)
        self.head = _conv(hidden, 1, 1, 0, True, spectral_norm)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.body(x)
        return {"logits": self.head(hidden).view(-1), "features": hidden.flatten(1)}


class ConditionalDCGANDiscriminator(DCGANDiscriminator):
    """The label's embedding broadcast over the image as extra input channels (cDCGAN), then the DCGAN body."""

    def __init__(self, data: DataSpec, width: int, max_width: int, batchnorm: bool, spectral_norm: bool,
                 embed: int) -> None:
        super().__init__(data, width, max_width, batchnorm, spectral_norm, extra_channels=embed)
        self.embed = nn.Embedding(data.classes, embed)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        maps = self.embed(labels).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return super().forward(torch.cat([x, maps], 1))


class AuxiliaryDCGANDiscriminator(DCGANDiscriminator):
    """The DCGAN discriminator with a second 4x4 conv head beside the logit: class logits (B, classes) (ACGAN)."""

    def __init__(self, data: DataSpec, width: int, max_width: int, batchnorm: bool, spectral_norm: bool) -> None:
        super().__init__(data, width, max_width, batchnorm, spectral_norm)
        self.classifier = _conv(self.head.in_channels, data.classes, 1, 0, True, spectral_norm)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.body(x)
        return {"logits": self.head(hidden).view(-1), "classes": self.classifier(hidden).flatten(1),
                "features": hidden.flatten(1)}


class ProjectionDCGANDiscriminator(nn.Module):
    """φ(x): the DCGAN body, sum-pooled over its 4x4 block (as Miyato & Koyama); logit ψ(φ(x)) + <embed(y), φ(x)>."""

    def __init__(self, data: DataSpec, width: int, max_width: int, batchnorm: bool, spectral_norm: bool) -> None:
        super().__init__()
        self.body, hidden = discriminator_body(data, width, max_width, batchnorm, spectral_norm)
        self.psi = _sn(_init(nn.Linear(hidden, 1)), spectral_norm)
        self.embed = _sn(_init(nn.Embedding(data.classes, hidden)), spectral_norm)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).sum((2, 3))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.phi(x)
        logits = self.psi(features).view(-1) + (self.embed(labels) * features).sum(1)
        return {"logits": logits, "features": features}
