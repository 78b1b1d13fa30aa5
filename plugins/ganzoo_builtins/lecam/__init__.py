"""Built-in plugin: LeCam regularisation (Tseng et al. 2021).

D's outputs are pulled towards moving averages of its outputs on the *other* batch: λ·(E‖D(x) − α_F‖² +
E‖D(G(z)) − α_R‖²), with α_R and α_F exponential moving averages of D on real and generated samples. It bounds the
LeCam divergence the game minimises and keeps D from drifting into overconfidence, which is what helps most when
data is scarce. The averages are buffers of the regulariser: every checkpoint holds them, so a resumed run goes on
exactly where it stopped.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import Param, RecipeSpec, Regulariser, RegulariserSpec, hookimpl

CITATION = "Tseng, Jiang, Liu, Yang & Yang 2021, 'Regularizing Generative Adversarial Networks under Limited Data'"


class LeCam(Regulariser, nn.Module):
    """E‖D(x) − α_F‖² + E‖D(G(z)) − α_R‖², the anchors moving averages (``decay``) of D's mean outputs."""

    def __init__(self, decay: float = 0.99) -> None:
        nn.Module.__init__(self)
        self.decay = decay
        self.register_buffer("real_anchor", torch.zeros(()))
        self.register_buffer("fake_anchor", torch.zeros(()))

    def discriminator_penalty(self, ctx):
        real, fake = ctx.real_out.logits.float(), ctx.fake_out.logits.float()
        with torch.no_grad():
            self.real_anchor.lerp_(real.mean(), 1 - self.decay)
            self.fake_anchor.lerp_(fake.mean(), 1 - self.decay)
        return (real - self.fake_anchor).square().mean() + (fake - self.real_anchor).square().mean()


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="lecam", factory=LeCam, citation=CITATION, weight=0.3,
        params=(Param("decay", float, 0.99, "decay of the moving averages of D's outputs", min=0, below=1),),
        description="LeCam: D(x) pulled towards the average D(G(z)) and back, anchors kept as moving averages.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="lecam-mnist", citation=CITATION,
        description="LeCam on 1,000 MNIST images: the limited-data setting it was made for, with ganzoo's MLP mix.",
        settings={"dataset": {"name": "mnist", "limit": 1000}, "generator": "mlp", "discriminator": "mlp",
                  "loss": "nonsaturating", "regularisers": [{"name": "lecam", "weight": 0.3}], "steps": 10_000},
    )
