"""The loss contract: a small object that turns discriminator logits into the two players' losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn


@dataclass
class LossContext:
    """Everything beyond the logits that a loss may need, e.g. a gradient penalty (WGAN-GP) needs the
    discriminator and both batches. ``fake`` is detached for the discriminator's loss."""

    real: torch.Tensor
    fake: torch.Tensor
    discriminator: nn.Module


class GANLoss:
    """Base class for losses. Override both methods; work on logits with numerically stable functions
    (``softplus``, ``binary_cross_entropy_with_logits``) so mixed precision stays finite."""

    #: Whether D's outputs are logits of "real" (the BCE losses): then the D(x) and D(G(z)) statistics show
    #: sigmoid probabilities. Critic losses (Wasserstein, hinge, least squares) set False: their statistics are
    #: D's mean raw outputs, which is what their losses are written in.
    probability_outputs: ClassVar[bool] = True

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor, ctx: LossContext
    ) -> torch.Tensor:
        """The scalar the discriminator minimises."""
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor, ctx: LossContext) -> torch.Tensor:
        """The scalar the generator minimises."""
        raise NotImplementedError
