"""Hinge loss (Lim & Ye 2017; used by SNGAN, SAGAN, BigGAN): D only learns from samples inside its margin.

Once D scores a real sample above +1 (or a fake below −1) that sample stops contributing, so D does not spend its
capacity pushing confident outputs further; G simply raises D's score of its samples, as in WGAN.
"""

from __future__ import annotations

import torch.nn.functional as F

from ganzoo import GANLoss, StepContext


class HingeLoss(GANLoss):
    """D minimises E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]; G minimises −E[D(G(z))]."""

    probability_outputs = False  # a critic: D(x) statistics are raw outputs

    def discriminator_loss(self, real_logits, fake_logits, ctx: StepContext):
        return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()

    def generator_loss(self, fake_logits, ctx: StepContext):
        return -fake_logits.float().mean()
