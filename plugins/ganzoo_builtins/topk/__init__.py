"""Built-in plugin: top-k training over any loss (Sinha, Zhao, Goyal, Raffel & Odena 2020).

G learns only from the generated samples D already finds most realistic: its loss is the wrapped loss's G loss
over the top k of D's scores, so the gradients of samples far from the data (which point nowhere useful) are
dropped. k starts at ``keep`` of the batch and shrinks by ``decay`` every ``interval`` steps, down to ``min_keep``.
D's loss is the wrapped loss's, unchanged. The wrapped loss is any installed one, built by name with its defaults
(``ganzoo.component``); it should read only the logits (and D's mean output on the real batch, as the relativistic
losses do), since the step's context still describes the whole batch.
"""

from __future__ import annotations

from ganzoo import GANLoss, LossSpec, Param, RecipeSpec, component, hookimpl

CITATION = "Sinha, Zhao, Goyal, Raffel & Odena 2020, 'Top-k Training of GANs: Improving GAN Performance by " \
           "Throwing Away Bad Samples'"


class TopK(GANLoss):
    """The wrapped loss; G's loss over the ``k`` generated samples D scores highest."""

    def __init__(self, loss: str = "nonsaturating", keep: float = 1.0, min_keep: float = 0.5, decay: float = 0.99,
                 interval: int = 100) -> None:
        self.inner = component("loss", loss)
        self.probability_outputs = self.inner.probability_outputs
        self.keep, self.min_keep, self.decay, self.interval = keep, min_keep, decay, interval

    def fraction(self, step: int) -> float:
        return max(self.min_keep, self.keep * self.decay ** (step // self.interval))

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        return self.inner.discriminator_loss(real_logits, fake_logits, ctx)

    def generator_loss(self, fake_logits, ctx):
        k = max(1, round(self.fraction(ctx.step) * len(fake_logits)))
        return self.inner.generator_loss(fake_logits.topk(k).values, ctx)


@hookimpl
def ganzoo_losses():
    yield LossSpec(
        name="topk", factory=TopK, citation=CITATION,
        params=(Param("loss", str, "nonsaturating", "the loss it wraps (any installed loss that reads the logits)"),
                Param("keep", float, 1.0, "the share of the batch G learns from at first", above=0, max=1),
                Param("min_keep", float, 0.5, "the share it shrinks to", above=0, max=1),
                Param("decay", float, 0.99, "how the share shrinks every interval", above=0, max=1),
                Param("interval", int, 100, "steps between shrinks", min=1)),
        description="Top-k training: G's loss over the generated samples D scores highest, of any wrapped loss.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="topk-mnist", citation=CITATION,
        description="Top-k on MNIST: ganzoo's default MLP mix, G learning from its best half by the end.",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp",
                  "loss": {"name": "topk", "loss": "nonsaturating"}, "steps": 10_000},
    )
