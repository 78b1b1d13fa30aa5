"""Built-in plugin: the original Wasserstein GAN (Arjovsky et al. 2017): the critic loss and weight clipping.

The critic D estimates E[D(x)] − E[D(G(z))], a Wasserstein-1 distance only for a Lipschitz D; WGAN keeps D
Lipschitz by clipping every weight into [−c, c] after each update. The paper trains it with RMSprop at 5e-5 and
5 critic updates per generator update, because momentum made the clipped critic unstable: the ``clip`` constraint
suggests exactly that, so ``-l wgan --constraint clip`` needs no further flags.
"""

from __future__ import annotations

import torch

from ganzoo import Constraint, ConstraintSpec, GANLoss, LossSpec, Param, RecipeSpec, hookimpl

CITATION = "Arjovsky, Chintala & Bottou 2017, 'Wasserstein GAN' (Algorithm 1: RMSprop 5e-5, n_critic 5, c 0.01)"


class WassersteinLoss(GANLoss):
    """D minimises E[D(G(z))] − E[D(x)]; G minimises −E[D(G(z))]."""

    probability_outputs = False  # a critic: D(x) statistics are raw outputs

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        return fake_logits.float().mean() - real_logits.float().mean()

    def generator_loss(self, fake_logits, ctx):
        return -fake_logits.float().mean()


class WeightClipping(Constraint):
    """Every parameter clamped into [−clip, clip] (in place, after each optimizer step)."""

    def __init__(self, clip: float) -> None:
        self.clip = clip

    def apply(self, module: torch.nn.Module) -> None:
        for param in module.parameters():
            param.clamp_(-self.clip, self.clip)


@hookimpl
def ganzoo_losses():
    yield LossSpec(
        name="wgan", factory=WassersteinLoss, citation=CITATION, suggested={"d_steps": 5},
        description="Wasserstein critic loss: D minimises E[D(G(z))] − E[D(x)]; G minimises −E[D(G(z))]; D must "
                    "be kept Lipschitz (--constraint clip, or spectral norm).",
    )


@hookimpl
def ganzoo_constraints():
    yield ConstraintSpec(
        name="clip", factory=WeightClipping, citation=CITATION, player="discriminator",
        description="WGAN weight clipping: every D weight clamped into [−clip, clip] after each D update.",
        params=(Param("clip", float, 0.01, "c: the bound of every weight (the paper's: 0.01)", above=0),),
        suggested={"opt": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "d_steps": 5},
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="wgan-clip-mnist", citation=CITATION,
        description="WGAN on MNIST: MLP G and critic, weight clipping at 0.01, RMSprop 5e-5, 5 critic steps.",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "wgan",
                  "constraints": ["clip"], "batch_size": 64, "steps": 6_000},
    )
