"""The MLP generator and discriminator as plain modules."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganzoo import DataSpec, mlp_stack


def spectral(layer: nn.Module, on: bool) -> nn.Module:
    """The layer with spectral normalisation (Miyato et al. 2018): its weight divided by its largest singular value,
    estimated by one power iteration per forward pass in training mode."""
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


class MLPGenerator(nn.Module):
    """z -> [Linear -> (BatchNorm) -> LeakyReLU] * len(hidden) -> Linear -> activation -> data shape.

    BatchNorm skips the first hidden layer, as in the classic BatchNorm MLP generator (the first layer sees raw noise).
    """

    def __init__(self, latent_dim: int, data: DataSpec, hidden: list[int], batchnorm: bool, slope: float,
                 output: str) -> None:
        super().__init__()
        self.shape = tuple(data.shape)
        tanh = output == "tanh" or (output == "auto" and data.kind == "image")
        self.net = nn.Sequential(*mlp_stack(latent_dim, hidden, slope, batchnorm),
                                 nn.Linear(hidden[-1], math.prod(self.shape)), *([nn.Tanh()] if tanh else []))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.shape)


class MLPDiscriminator(nn.Module):
    """flatten -> [Linear -> LeakyReLU -> (Dropout)] * len(hidden) -> Linear -> one logit per sample; the last hidden
    layer's activations are returned too, as ``features`` (for feature matching)."""

    def __init__(self, data: DataSpec, hidden: list[int], slope: float, dropout: float,
                 spectral_norm: bool = False) -> None:
        super().__init__()
        body = mlp_stack(data.numel, hidden, slope, dropout=dropout, spectral_norm=spectral_norm)
        self.net = nn.Sequential(nn.Flatten(), *body, spectral(nn.Linear(hidden[-1], 1), spectral_norm))
        self._body = list(self.net)[:-1]  # the same modules (registered once, in net), without the last layer

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = x
        for layer in self._body:
            features = layer(features)
        return {"logits": self.net[-1](features).view(-1), "features": features}
