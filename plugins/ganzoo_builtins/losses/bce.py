"""Binary cross-entropy losses on logits.

``binary_cross_entropy_with_logits`` is the stable form of sigmoid + BCE (log-sum-exp inside), so these stay finite
under bf16/fp16 autocast where a separate sigmoid would saturate to 0 or 1 and give log(0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import GANLoss, StepContext, ParameterError


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full_like(logits, target, dtype=torch.float32))


class MinimaxLoss(GANLoss):
    """The original game: D minimises -[log D(x) + log(1 - D(G(z)))]; G minimises log(1 - D(G(z)))."""

    def __init__(self, real_label: float, fake_label: float) -> None:
        if real_label <= fake_label:  # each is in [0, 1] by its declaration; their order is this class's to check
            raise ParameterError(f"'real_label' ({real_label}) must be above 'fake_label' ({fake_label})")
        self.real_label, self.fake_label = real_label, fake_label

    def discriminator_loss(self, real_logits, fake_logits, ctx: StepContext):
        return _bce(real_logits, self.real_label) + _bce(fake_logits, self.fake_label)

    def generator_loss(self, fake_logits, ctx: StepContext):
        # G plays against D's objective on fakes: minimise -BCE(D(G(z)), 0) = log(1 - D(G(z))). Label smoothing
        # shapes D's targets only; with a smoothed target G's optimum would sit at D = fake_label, not below it.
        return -_bce(fake_logits, 0.0)


class NonSaturatingLoss(MinimaxLoss):
    """Same D loss; G minimises -log D(G(z)), which keeps strong gradients when D rejects its samples."""

    def generator_loss(self, fake_logits, ctx: StepContext):
        return _bce(fake_logits, 1.0)
