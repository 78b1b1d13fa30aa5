"""Built-in plugin: consistency regularisation, balanced (bCR) and latent (zCR) (Zhao et al. 2020, 2021).

bCR asks D to score a sample and a lightly transformed copy of it alike, on both batches: λ_real E‖D(x) − D(T(x))‖²
+ λ_fake E‖D(G(z)) − D(T(G(z)))‖². T is a random horizontal flip and a translation of up to 1/8 of the side for
images (reflected at the border), a small Gaussian jitter for points. zCR works in the latent space instead: D
scores G(z) and G(z + δ) alike, while G is pushed to make them differ, so it cannot ignore part of its noise.
Both run D as the step does (``ctx.score``) and zCR runs G as the step does (``ctx.generate``).
"""

from __future__ import annotations

import torch

from ganzoo import Param, RecipeSpec, Regulariser, RegulariserSpec, hookimpl, translate

BCR = "Zhao, Singh, Lee, Zhang, Odena & Zhang 2021, 'Improved Consistency Regularization for GANs' (bCR, zCR)"


def transform(x: torch.Tensor, jitter: float) -> torch.Tensor:
    """bCR's T: images flipped at random and shifted by up to 1/8 of their side (reflected); points jittered."""
    if x.dim() != 4:
        return x + jitter * torch.randn_like(x)
    flip = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
    return translate(torch.where(flip, x.flip(3), x).float(), 0.125, "reflection").to(x.dtype)


class BalancedConsistency(Regulariser):
    """real · E‖D(x) − D(T(x))‖² + fake · E‖D(G(z)) − D(T(G(z)))‖², for D."""

    def __init__(self, real: float = 1.0, fake: float = 1.0, jitter: float = 0.05) -> None:
        self.real, self.fake, self.jitter = real, fake, jitter

    def discriminator_penalty(self, ctx):
        total = 0.0
        for factor, x, labels, out in ((self.real, ctx.real, ctx.real_labels, ctx.real_out),
                                       (self.fake, ctx.fake, ctx.fake_labels, ctx.fake_out)):
            moved = ctx.score(transform(x.detach(), self.jitter), labels).logits.float()
            total = total + factor * (out.logits.float() - moved).square().mean()
        return total


class LatentConsistency(Regulariser):
    """D: dis · E‖D(G(z)) − D(G(z + δ))‖²; G: −gen · E‖G(z) − G(z + δ)‖², δ ~ N(0, σ²)."""

    def __init__(self, dis: float = 5.0, gen: float = 0.5, sigma: float = 0.03) -> None:
        self.dis, self.gen, self.sigma = dis, gen, sigma

    def discriminator_penalty(self, ctx):
        with torch.no_grad():
            moved = ctx.generate(ctx.z + self.sigma * torch.randn_like(ctx.z), ctx.fake_labels)
        scores = ctx.score(moved, ctx.fake_labels).logits.float()
        return self.dis * (ctx.fake_out.logits.float() - scores).square().mean()

    def generator_penalty(self, ctx):
        moved = ctx.generate(ctx.z + self.sigma * torch.randn_like(ctx.z), ctx.fake_labels)
        return -self.gen * (ctx.fake.float() - moved.float()).square().flatten(1).sum(1).mean()


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="bcr", factory=BalancedConsistency, citation=BCR, weight=10.0,
        params=(Param("real", float, 1.0, "share of λ on the real batch", min=0),
                Param("fake", float, 1.0, "share of λ on the generated batch", min=0),
                Param("jitter", float, 0.05, "points only: the standard deviation of T's jitter", min=0)),
        description="Balanced consistency (bCR): D scores each sample and a flipped, shifted copy alike.",
    )
    yield RegulariserSpec(
        name="zcr", factory=LatentConsistency, citation=BCR, weight=1.0,
        params=(Param("dis", float, 5.0, "λ_dis: D scores G(z) and G(z + δ) alike", min=0),
                Param("gen", float, 0.5, "λ_gen: G makes G(z) and G(z + δ) differ", min=0),
                Param("sigma", float, 0.03, "the standard deviation of δ", above=0)),
        description="Latent consistency (zCR): D alike on G(z) and G(z + δ), G pushed to make them differ.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="bcr-mnist", citation=BCR,
        description="bCR on MNIST: ganzoo's default MLP mix with balanced consistency regularisation (λ 10).",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "nonsaturating",
                  "regularisers": [{"name": "bcr", "weight": 10.0}], "steps": 10_000},
    )
