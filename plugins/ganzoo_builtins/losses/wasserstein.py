"""Wasserstein loss with gradient penalty (Gulrajani et al., 2017, "Improved Training of Wasserstein GANs").

The critic D estimates the Wasserstein-1 distance E[D(x)] − E[D(G(z))], which is only valid for a 1-Lipschitz D.
Instead of clipping weights, the penalty pushes the norm of D's input gradient towards 1 on random points between
real and generated samples, where the optimal critic has gradient norm exactly 1.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch

from ganzoo import DOutput, GANLoss, IncompatibleError, StepContext


def random_interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """x̂ = εx + (1−ε)G(z) with one ε ~ U[0, 1] per sample, broadcast over the sample shape ((B, D) or (B, C, H, W)).

    Batches of different sizes are paired up to the smaller one: the penalty is an expectation over pairs, and
    every pair is as good as any other.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise IncompatibleError(f"loss 'wgan-gp': real samples have shape {tuple(real.shape[1:])} but generated ones "
                                f"{tuple(fake.shape[1:])}; the generator must output the dataset's sample shape")
    n = min(len(real), len(fake))
    real, fake = real[:n].detach().float(), fake[:n].detach().float()
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), device=real.device)
    return eps * real + (1 - eps) * fake


def gradient_penalty(score: Callable[[torch.Tensor], DOutput], real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[(‖∇ D(x̂)‖₂ − 1)²] over random interpolates x̂, differentiable with respect to D's weights; ``score(x)`` runs D
    as the step does (``ctx.score``: through the augmentations, with the labels of a conditional D).

    Computed in float32 even under autocast: the input gradient of a bf16/fp16 forward pass is too coarse (or
    underflows) to measure a norm near 1. ``create_graph=True`` keeps the gradient itself in the graph, so D's
    update backpropagates through the penalty (a second-order gradient); that gradient's ops are recorded like a
    forward pass, so they too must run outside autocast, or it would cast them back to half precision.
    """
    x_hat = random_interpolates(real, fake).requires_grad_(True)
    device = x_hat.device.type
    full = torch.autocast(device, enabled=False) if torch.is_autocast_enabled(device) else nullcontext()
    with full:
        scores = score(x_hat).logits.float()
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


class WassersteinGPLoss(GANLoss):
    """D minimises E[D(G(z))] − E[D(x)] + λ·E[(‖∇ D(x̂)‖₂ − 1)²]; G minimises −E[D(G(z))]."""

    probability_outputs = False  # a critic: D(x) statistics are raw outputs

    def __init__(self, gp_weight: float) -> None:
        self.gp_weight = gp_weight

    def discriminator_loss(self, real_logits, fake_logits, ctx: StepContext):
        loss = fake_logits.float().mean() - real_logits.float().mean()
        if self.gp_weight == 0:  # plain Wasserstein loss: skip the extra forward and backward pass
            return loss
        labels = ctx.real_labels  # a conditional critic scores each interpolate with its real sample's label
        return loss + self.gp_weight * gradient_penalty(lambda x: ctx.score(x, labels), ctx.real, ctx.fake)

    def generator_loss(self, fake_logits, ctx: StepContext):
        return -fake_logits.float().mean()
