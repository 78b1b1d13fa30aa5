"""Conv generator and discriminator, parameterised by image shape instead of copied per resolution."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import DataSpec, ParameterError


class UpconvGenerator(nn.Module):
    """z -> fc -> fc -> (channels, H/4, W/4) -> upsample, conv mid_channels -> upsample, conv C -> tanh."""

    def __init__(self, latent_dim: int, data: DataSpec, fc: int, channels: int, mid_channels: int, kernel: int,
                 batchnorm: bool, slope: float) -> None:
        super().__init__()
        if kernel % 2 == 0:  # no bound says "odd"
            raise ParameterError(f"'kernel' must be odd so the image keeps its size, got {kernel}")
        c, h, w = data.shape
        self.start = (channels, h // 4, w // 4)

        def norm1d(n: int) -> nn.Module:
            return nn.BatchNorm1d(n) if batchnorm else nn.Identity()

        self.fc = nn.Sequential(
            nn.Linear(latent_dim, fc), norm1d(fc), nn.LeakyReLU(slope),
            nn.Linear(fc, channels * (h // 4) * (w // 4)), norm1d(channels * (h // 4) * (w // 4)),
            nn.LeakyReLU(slope),
        )
        self.conv = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(channels, mid_channels, kernel, padding=kernel // 2),
            nn.BatchNorm2d(mid_channels) if batchnorm else nn.Identity(),
            nn.LeakyReLU(slope),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(mid_channels, c, kernel, padding=kernel // 2),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(z).view(len(z), *self.start))


def spectral(layer: nn.Module, on: bool) -> nn.Module:
    """The layer with spectral normalisation (Miyato et al. 2018), one power iteration per training forward pass."""
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


class MaxPoolDiscriminator(nn.Module):
    """conv -> LeakyReLU -> max-pool, twice -> flatten -> fc -> LeakyReLU -> fc -> one logit; the fc layer's
    activations are returned too, as ``features``."""

    def __init__(self, data: DataSpec, channels: list[int], fc: int, slope: float, dropout: float,
                 spectral_norm: bool = False) -> None:
        super().__init__()
        c, h, w = data.shape
        sn = spectral_norm
        self.features = nn.Sequential(
            spectral(nn.Conv2d(c, channels[0], 3, padding=1), sn), nn.LeakyReLU(slope), nn.MaxPool2d(2),
            spectral(nn.Conv2d(channels[0], channels[1], 3, padding=1), sn), nn.LeakyReLU(slope), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            spectral(nn.Linear(channels[1] * (h // 4) * (w // 4), fc), sn), nn.LeakyReLU(slope),
            nn.Dropout(dropout) if dropout else nn.Identity(),
            spectral(nn.Linear(fc, 1), sn),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.head[:-1](self.features(x))
        return {"logits": self.head[-1](hidden).view(-1), "features": hidden}
