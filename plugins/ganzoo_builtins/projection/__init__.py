"""Built-in plugin: the projection discriminator (Miyato & Koyama 2018).

Instead of concatenating the label to the input, D projects it onto its features: the logit is
ψ(φ(x)) + ⟨embed(y), φ(x)⟩, the form that follows from a log-likelihood-ratio model of p(y | x).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import DataSpec, DiscriminatorSpec, Param, RecipeSpec, hookimpl, mlp_stack

CITATION = "Miyato & Koyama 2018, 'cGANs with Projection Discriminator'"


def _linear(a: int, b: int, spectral_norm: bool) -> nn.Linear:
    layer = nn.Linear(a, b)
    return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer


class ProjectionDiscriminator(nn.Module):
    """φ: flatten -> LeakyReLU layers; ψ: a linear layer; the label's embedding dotted with φ(x)."""

    def __init__(self, data: DataSpec, hidden: list[int], slope: float, spectral_norm: bool) -> None:
        super().__init__()
        width = hidden[-1]
        self.phi = nn.Sequential(nn.Flatten(), *mlp_stack(data.numel, hidden, slope, spectral_norm=spectral_norm))
        self.psi = _linear(width, 1, spectral_norm)
        self.embed = nn.Embedding(data.classes, width)
        if spectral_norm:
            self.embed = nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.phi(x)
        logits = self.psi(features).view(-1) + (self.embed(labels) * features).sum(1)
        return {"logits": logits, "features": features}


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="projection", factory=ProjectionDiscriminator, conditional=True, per_sample=True,
        outputs=("features",), citation=CITATION,
        description="Projection D: ψ(φ(x)) + <embed(y), φ(x)> with an MLP φ (optional spectral norm).",
        params=(Param("hidden", list[int], [512, 256], "widths of φ's hidden layers", min=1),
                Param("slope", float, 0.2, "LeakyReLU negative slope"),
                Param("spectral_norm", bool, False, "spectral normalisation of every layer and the embedding")),
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="projection-mnist", citation=CITATION,
        description="Projection discriminator on MNIST: conditional MLP G (cgan) against an MLP projection D.",
        settings={"dataset": "mnist", "generator": "cgan", "discriminator": "projection", "loss": "nonsaturating",
                  "steps": 10_000, "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
