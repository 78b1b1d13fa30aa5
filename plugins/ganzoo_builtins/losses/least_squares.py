"""Least-squares GAN (Mao et al., 2017): D regresses its raw output onto target values instead of classifying.

A squared error keeps penalising fakes that sit on the right side of the decision boundary but far from the real
data, so G gets gradients where a saturated sigmoid would give none. The outputs are used as they are (no sigmoid).
"""

from __future__ import annotations

import torch

from ganzoo import GANLoss, StepContext, ParameterError


def _half_mse(outputs: torch.Tensor, target: float) -> torch.Tensor:
    # float32: squaring a bf16 output loses most of its few mantissa bits.
    return 0.5 * (outputs.float() - target).pow(2).mean()


class LeastSquaresLoss(GANLoss):
    """D minimises ½E[(D(x)−a)²] + ½E[(D(G(z))−b)²]; G minimises ½E[(D(G(z))−c)²]."""

    probability_outputs = False  # D regresses onto targets: D(x) statistics are raw outputs

    def __init__(self, real_label: float, fake_label: float, generator_target: float) -> None:
        if real_label == fake_label:
            raise ParameterError(f"'real_label' and 'fake_label' are both {real_label}, so D cannot "
                                 f"tell real from fake; give them different values (e.g. 1 and 0)")
        self.real_label, self.fake_label, self.generator_target = real_label, fake_label, generator_target

    def discriminator_loss(self, real_logits, fake_logits, ctx: StepContext):
        return _half_mse(real_logits, self.real_label) + _half_mse(fake_logits, self.fake_label)

    def generator_loss(self, fake_logits, ctx: StepContext):
        return _half_mse(fake_logits, self.generator_target)
