"""Built-in plugin: BigGAN's orthogonal regularisation (Brock, Donahue & Simonyan 2019).

It keeps the generator's weight matrices near orthogonal — β Σ_W ‖WWᵀ ⊙ (1 − I)‖²_F over every weight of two or
more dimensions (a convolution's taken as out-channels × the rest) — but leaves their norms free, which is what
makes a generator amenable to truncated sampling. It reads G's weights through ``ctx.generator``.
"""

from __future__ import annotations

import torch

from ganzoo import RecipeSpec, Regulariser, RegulariserSpec, hookimpl

CITATION = "Brock, Donahue & Simonyan 2019, 'Large Scale GAN Training for High Fidelity Natural Image Synthesis'"


def off_diagonal_gram(weight: torch.Tensor) -> torch.Tensor:
    """‖WWᵀ ⊙ (1 − I)‖²_F, W's rows its output units, as BigGAN writes it."""
    w = weight.float().flatten(1)
    gram = w @ w.T
    return (gram * (1 - torch.eye(len(gram), device=gram.device))).square().sum()


class Orthogonal(Regulariser):
    """Σ over G's weight matrices of ‖WWᵀ ⊙ (1 − I)‖²_F (times ``weight`` = β)."""

    def generator_penalty(self, ctx):
        terms = [off_diagonal_gram(p) for p in ctx.generator.parameters() if p.dim() >= 2 and p.requires_grad]
        return torch.stack(terms).sum()


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="orthogonal", factory=Orthogonal, citation=CITATION, weight=1e-4,
        description="Orthogonal regularisation (BigGAN): β Σ‖WWᵀ ⊙ (1 − I)‖² over G's weights, norms left free.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="orthogonal-mnist", citation=CITATION,
        description="Orthogonal regularisation on MNIST: ganzoo's default MLP mix with β 1e-4 on G's weights.",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "nonsaturating",
                  "regularisers": [{"name": "orthogonal", "weight": 1e-4}], "steps": 10_000},
    )
