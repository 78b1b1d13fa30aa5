"""Built-in plugin: ACGAN (Odena et al. 2017): a discriminator with an auxiliary classifier head, and the
regulariser that trains both players on it.

D sees no label; besides its real/fake logit it predicts the class of every sample (``classes``). The ``ac``
regulariser adds the classification loss L_C to both players, for any adversarial loss: D minimises
CE(real, its label) + CE(generated, the label it was drawn for), G minimises CE(generated, its label).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo import (
    DataSpec,
    DiscriminatorSpec,
    Param,
    RecipeSpec,
    Regulariser,
    RegulariserSpec,
    hookimpl,
    mlp_stack,
)

CITATION = "Odena, Olah & Shlens 2017, 'Conditional Image Synthesis with Auxiliary Classifier GANs'"


class AuxiliaryClassifierDiscriminator(nn.Module):
    """flatten -> LeakyReLU layers -> two heads: one logit (real or generated) and class logits (B, classes)."""

    def __init__(self, data: DataSpec, hidden: list[int], slope: float, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), *mlp_stack(data.numel, hidden, slope, dropout=dropout))
        self.adversarial, self.classifier = nn.Linear(hidden[-1], 1), nn.Linear(hidden[-1], data.classes)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.body(x)
        return {"logits": self.adversarial(features).view(-1), "classes": self.classifier(features),
                "features": features}


class AuxiliaryClassification(Regulariser):
    """L_C on D's ``classes`` head. ``fake_in_d``: D also learns to classify generated samples (the paper's
    objective); off, D's classifier learns from real samples only."""

    def __init__(self, fake_in_d: bool) -> None:
        self.fake_in_d = fake_in_d

    def discriminator_penalty(self, ctx):
        loss = F.cross_entropy(ctx.real_out["classes"].float(), ctx.real_labels)
        if self.fake_in_d:
            loss = loss + F.cross_entropy(ctx.fake_out["classes"].float(), ctx.fake_labels)
        return loss

    def generator_penalty(self, ctx):
        return F.cross_entropy(ctx.fake_out["classes"].float(), ctx.fake_labels)


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="acgan", factory=AuxiliaryClassifierDiscriminator, per_sample=True, outputs=("classes", "features"),
        citation=CITATION, description="MLP D with an auxiliary classifier: 1 logit and class logits per sample.",
        check=lambda data: None if data.classes else "it classifies samples, so it needs a labelled dataset",
        params=(Param("hidden", list[int], [512, 256], "widths of the hidden layers", min=1),
                Param("slope", float, 0.2, "LeakyReLU negative slope"),
                Param("dropout", float, 0.0, "dropout probability after each hidden layer", min=0, below=1)),
    )


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="ac", factory=AuxiliaryClassification, needs_outputs=("classes",), needs_labels=("real", "fake"),
        citation=CITATION, weight=1.0,
        description="ACGAN's auxiliary classification loss: cross-entropy of D's class head, for both players.",
        params=(Param("fake_in_d", bool, True, "D's classifier also learns from generated samples"),),
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="acgan-mnist", citation=CITATION,
        description="ACGAN on MNIST: conditional MLP G (cgan) against an MLP D with a class head (dropout 0.3), plus "
                    "the ac loss at weight 0.1, D's classifier taught on real samples only.",
        # measured on MNIST at 10k steps (classifier FID / label accuracy): the paper's L_C at weight 1 on real and
        # generated samples 493 / 0.56; dropout 0.3 in D, a classifier learning from real samples only and the
        # term at weight 0.1: 10.2 / 0.99
        settings={"dataset": "mnist", "generator": "cgan", "discriminator": {"name": "acgan", "dropout": 0.3},
                  "loss": "nonsaturating", "regularisers": [{"name": "ac", "weight": 0.1, "fake_in_d": False}],
                  "steps": 10_000, "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
