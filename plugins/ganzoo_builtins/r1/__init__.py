"""Built-in plugin: the R1 gradient penalty (Mescheder, Geiger & Nowozin 2018), lazy as in StyleGAN2, and R2.

R1 penalises the norm of D's input gradient on real samples, γ/2 · E‖∇ₓD(x)‖², which makes the game converge
locally where an unregularised GAN oscillates. It runs every 16 D updates by default (``every``), scaled by 16 as
its own optimizer step, and the discriminator's learning rate and betas are rescaled by 16/17 (stylegan2-ada's
``mb_ratio``), so the result matches R1 at every step at a 16th of its cost. R2 is the same penalty on generated
samples; R3GAN (Huang et al. 2024) pairs both with the relativistic pairing loss (``rpgan``).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ganzoo import RecipeSpec, Regulariser, RegulariserSpec, hookimpl

R3GAN = "Huang, Gokaslan, Kuleshov & Tompkin 2024, 'The GAN is dead; long live the GAN! A Modern GAN Baseline'"
CITATION = "Mescheder, Geiger & Nowozin 2018, 'Which Training Methods for GANs do actually Converge?'; lazy " \
           "regularisation after Karras et al. 2020 (StyleGAN2)"


def input_gradient_norms(ctx, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """‖∇ₓD(x)‖² per sample, with D run as the step runs it, differentiable with respect to D's weights (float32
    even under autocast: a half-precision input gradient is too coarse to square)."""
    x = x.detach().float().requires_grad_(True)
    device = x.device.type
    full = torch.autocast(device, enabled=False) if torch.is_autocast_enabled(device) else nullcontext()
    with full:
        scores = ctx.score(x, labels).logits.float()
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
        return grad.flatten(1).square().sum(1)


class R1(Regulariser):
    """½ E‖∇ₓD(x)‖² on the real batch (times ``weight`` = γ)."""

    def discriminator_penalty(self, ctx):
        return 0.5 * input_gradient_norms(ctx, ctx.real, ctx.real_labels).mean()


class R2(Regulariser):
    """½ E‖∇D(G(z))‖² on the generated batch (times ``weight`` = γ)."""

    def discriminator_penalty(self, ctx):
        return 0.5 * input_gradient_norms(ctx, ctx.fake, ctx.fake_labels).mean()


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="r1", factory=R1, citation=CITATION, weight=10.0, every=16,
        description="R1: γ/2·E‖∇ₓD(x)‖² on real samples, for D; lazy every 16 D updates (weight = γ).",
    )
    yield RegulariserSpec(
        name="r2", factory=R2, citation=R3GAN, weight=10.0, every=16,
        description="R2: γ/2·E‖∇D(G(z))‖² on generated samples, for D; lazy every 16 D updates (weight = γ).",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="r1-mnist", citation=CITATION,
        description="R1 on MNIST: ganzoo's default MLP mix with a lazy R1 penalty (γ 1, every 16 D updates).",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "nonsaturating",
                  "regularisers": [{"name": "r1", "weight": 1.0, "every": 16}], "steps": 10_000,
                  "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
