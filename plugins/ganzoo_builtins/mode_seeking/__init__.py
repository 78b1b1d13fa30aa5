"""Built-in plugin: mode-seeking regularisation (Mao et al. 2019, MSGAN).

A generator that collapses maps distant noise vectors to nearby samples. Mode seeking draws a second noise batch
for the same labels, generates it through the step's own generator (``ctx.generate``) and penalises the inverse of
how far the samples move per unit of noise: 1 / (E|G(z₁) − G(z₂)| / E|z₁ − z₂| + ε). It needs nothing from D,
so it fits any loss, conditional or not.
"""

from __future__ import annotations

from ganzoo import Param, RecipeSpec, Regulariser, RegulariserSpec, hookimpl

CITATION = "Mao, Lee, Tseng, Ma & Yang 2019, 'Mode Seeking Generative Adversarial Networks for Diverse Image " \
           "Synthesis'"


class ModeSeeking(Regulariser):
    """1 / (E|G(z₁) − G(z₂)| / E|z₁ − z₂| + ε), for G, with ``z₂`` fresh noise and the same labels."""

    def __init__(self, eps: float = 1e-5) -> None:
        self.eps = eps

    def generator_penalty(self, ctx):
        z2 = ctx.noise(len(ctx.z))
        other = ctx.generate(z2, ctx.fake_labels)
        ratio = (ctx.fake.float() - other.float()).abs().mean() / (ctx.z - z2).abs().mean()
        return 1 / (ratio + self.eps)


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="mode-seeking", factory=ModeSeeking, citation=CITATION, weight=1.0, aliases=("msgan",),
        params=(Param("eps", float, 1e-5, "keeps the ratio's inverse finite", above=0),),
        description="Mode seeking (MSGAN): G penalised by 1 / (sample distance / noise distance) of two batches.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="msgan-mnist", citation=CITATION,
        description="MSGAN on MNIST: the conditional GAN (cgan-mnist) with mode seeking, for more varied digits.",
        settings={"dataset": "mnist", "generator": "cgan", "discriminator": "projection", "loss": "nonsaturating",
                  "regularisers": [{"name": "mode-seeking", "weight": 1.0}], "steps": 10_000},
    )
