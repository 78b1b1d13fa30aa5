"""Built-in plugin: the conditional GAN (Mirza & Osindero 2014): an MLP generator and discriminator that each take
the class label through a learned embedding, concatenated to their input.

The generator is the conditional generator of every labelled recipe here (cGAN, ACGAN, projection).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import DataSpec, DiscriminatorSpec, GeneratorSpec, Param, RecipeSpec, hookimpl, mlp_stack

CITATION = "Mirza & Osindero 2014, 'Conditional Generative Adversarial Nets'"


class ConditionalGenerator(nn.Module):
    """[z, embed(y)] -> MLP -> tanh (images) or linear (points) -> the data's shape."""

    def __init__(self, latent_dim: int, data: DataSpec, hidden: list[int], embed: int, batchnorm: bool,
                 slope: float) -> None:
        super().__init__()
        self.shape, self.embed = tuple(data.shape), nn.Embedding(data.classes, embed)
        out = [nn.Linear(hidden[-1], data.numel)] + ([nn.Tanh()] if data.kind == "image" else [])
        self.net = nn.Sequential(*mlp_stack(latent_dim + embed, hidden, slope, batchnorm), *out)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(labels)], 1)).view(len(z), *self.shape)


class ConditionalDiscriminator(nn.Module):
    """[flatten(x), embed(y)] -> MLP -> one logit; the last hidden layer is returned as ``features``."""

    def __init__(self, data: DataSpec, hidden: list[int], embed: int, slope: float, spectral_norm: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(data.classes, embed)
        self.body = mlp_stack(data.numel + embed, hidden, slope, spectral_norm=spectral_norm)
        head = nn.Linear(hidden[-1], 1)
        self.head = nn.utils.parametrizations.spectral_norm(head) if spectral_norm else head

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.body(torch.cat([x.flatten(1), self.embed(labels)], 1))
        return {"logits": self.head(features).view(-1), "features": features}


def _embed(default: int) -> Param:
    return Param("embed", int, default, "size of the label embedding", min=1)


@hookimpl
def ganzoo_generators():
    yield GeneratorSpec(
        name="cgan", factory=ConditionalGenerator, conditional=True, citation=CITATION,
        description="Conditional MLP G: [z, label embedding] -> Linear+LeakyReLU (BatchNorm) layers -> data shape.",
        params=(Param("hidden", list[int], [256, 512, 1024], "widths of the hidden layers", min=1), _embed(10),
                Param("batchnorm", bool, True, "BatchNorm on every hidden layer but the first"),
                Param("slope", float, 0.2, "LeakyReLU negative slope")),
    )


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="cgan", factory=ConditionalDiscriminator, conditional=True, per_sample=True, outputs=("features",),
        citation=CITATION, description="Conditional MLP D: [flattened sample, label embedding] -> LeakyReLU layers "
                                       "-> 1 logit.",
        params=(Param("hidden", list[int], [512, 256], "widths of the hidden layers", min=1), _embed(10),
                Param("slope", float, 0.2, "LeakyReLU negative slope"),
                Param("spectral_norm", bool, False, "spectral normalisation of every layer")),
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="cgan-mnist", citation=CITATION,
        description="Conditional GAN on MNIST: MLP G 256-512-1024 and D 512-256, each with a 10-d label embedding.",
        settings={"dataset": "mnist", "generator": "cgan", "discriminator": "cgan", "loss": "nonsaturating",
                  "steps": 10_000, "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
