"""Built-in plugin: relativistic average losses (Jolicoeur-Martineau 2018), RaSGAN and RaLSGAN.

D estimates how much more real a real sample is than the average generated one (and the reverse), so both terms
of each player's loss depend on both batches: G's loss reads D's outputs on the real batch, which the step has
already computed (``ctx.real_out``, from D's update, detached) — no extra forward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import GANLoss, LossSpec, RecipeSpec, hookimpl

R3GAN = "Huang, Gokaslan, Kuleshov & Tompkin 2024, 'The GAN is dead; long live the GAN! A Modern GAN Baseline'"
CITATION = "Jolicoeur-Martineau 2018, 'The relativistic discriminator: a key element missing from standard GAN'"


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class RelativisticAverageBCE(GANLoss):
    """D: ½[BCE(r − E f, 1) + BCE(f − E r, 0)]; G: ½[BCE(f − E r, 1) + BCE(r − E f, 0)] on raw outputs r, f."""

    probability_outputs = False  # a relative score: the statistics show D's raw outputs

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        r, f = real_logits.float(), fake_logits.float()
        return (_bce(r - f.mean(), 1.0) + _bce(f - r.mean(), 0.0)) / 2

    def generator_loss(self, fake_logits, ctx):
        r, f = ctx.real_out.logits.float(), fake_logits.float()
        return (_bce(f - r.mean(), 1.0) + _bce(r - f.mean(), 0.0)) / 2


class RelativisticAverageLS(GANLoss):
    """D: ½[E(r − E f − 1)² + E(f − E r + 1)²]; G: ½[E(f − E r − 1)² + E(r − E f + 1)²]."""

    probability_outputs = False

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        r, f = real_logits.float(), fake_logits.float()
        return ((r - f.mean() - 1).square().mean() + (f - r.mean() + 1).square().mean()) / 2

    def generator_loss(self, fake_logits, ctx):
        r, f = ctx.real_out.logits.float(), fake_logits.float()
        return ((f - r.mean() - 1).square().mean() + (r - f.mean() + 1).square().mean()) / 2


class RelativisticPairing(GANLoss):
    """RpGAN: D: E softplus(f − r); G: E softplus(r − f), each real sample paired with one generated sample."""

    probability_outputs = False

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        return F.softplus(fake_logits.float() - real_logits.float()).mean()

    def generator_loss(self, fake_logits, ctx):
        return F.softplus(ctx.real_out.logits.float() - fake_logits.float()).mean()


@hookimpl
def ganzoo_losses():
    yield LossSpec(name="rpgan", factory=RelativisticPairing, citation=R3GAN,
                   description="Relativistic pairing GAN (R3GAN's loss): softplus(D(G(z)) − D(x)) over paired samples.",
                   # R3GAN's objective is the loss with both zero-centred penalties on every D step
                   suggested={"regularisers": [{"name": "r1", "weight": 0.1, "every": 1},
                                               {"name": "r2", "weight": 0.1, "every": 1}],
                              "opt": {"betas": [0.0, 0.99]}})
    yield LossSpec(name="rasgan", factory=RelativisticAverageBCE, citation=CITATION,
                   description="Relativistic average standard GAN: BCE on D(x) − E D(G(z)) and D(G(z)) − E D(x).")
    yield LossSpec(name="ralsgan", factory=RelativisticAverageLS, citation=CITATION,
                   description="Relativistic average LSGAN: squared errors of D(x) − E D(G(z)) and D(G(z)) − E D(x) "
                               "from ±1.")


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="ragan-mnist", citation=CITATION,
        description="RaSGAN on MNIST: ganzoo's default MLP mix with the relativistic average BCE loss and dropout "
                    "0.3 in D.",
        # dropout in D: without it the relativistic D overfits the MLP game (classifier FID 133 vs 27 at 10k steps)
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": {"name": "mlp", "dropout": 0.3},
                  "loss": "rasgan", "steps": 10_000, "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
    yield RecipeSpec(
        name="r3gan-mnist", citation=R3GAN,
        description="R3GAN's objective on MNIST: RpGAN with R1 and R2 on every D step, Adam β1 = 0, ganzoo's MLPs.",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "rpgan", "steps": 10_000},
    )
