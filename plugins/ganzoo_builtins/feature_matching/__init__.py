"""Built-in plugin: feature matching (Salimans et al. 2016), as a generator loss and as a regulariser.

Instead of maximising D's output, G matches the mean of D's intermediate features on generated samples to their
mean on real ones, ‖E f(x) − E f(G(z))‖²: a target that does not move when D becomes confident, which keeps G from
over-training on the current D. The real features are those D computed in its update (``ctx.real_out``), so no
extra forward pass is needed. The loss replaces G's adversarial objective (D keeps the BCE loss); the regulariser
adds the term to any loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo import GANLoss, LossSpec, RecipeSpec, Regulariser, RegulariserSpec, hookimpl

CITATION = "Salimans et al. 2016, 'Improved Techniques for Training GANs' (section 3.1)"


def feature_distance(ctx) -> torch.Tensor:
    """‖E f(x) − E f(G(z))‖² over D's ``features`` output."""
    real, fake = ctx.real_out["features"].float(), ctx.fake_out["features"].float()
    return (real.mean(0) - fake.mean(0)).square().sum()


class FeatureMatchingLoss(GANLoss):
    """D: BCE(real -> 1, generated -> 0); G: feature matching only."""

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        r, f = real_logits.float(), fake_logits.float()
        return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
            F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))

    def generator_loss(self, fake_logits, ctx):
        return feature_distance(ctx)


class FeatureMatching(Regulariser):
    """‖E f(x) − E f(G(z))‖², added to G's loss."""

    def generator_penalty(self, ctx):
        return feature_distance(ctx)


@hookimpl
def ganzoo_losses():
    yield LossSpec(
        name="feature-matching", factory=FeatureMatchingLoss, needs_outputs=("features",), citation=CITATION,
        description="Feature matching: D minimises BCE; G minimises ‖E f(x) − E f(G(z))‖² on D's features.",
    )


@hookimpl
def ganzoo_regularisers():
    yield RegulariserSpec(
        name="feature-matching", factory=FeatureMatching, needs_outputs=("features",), citation=CITATION,
        weight=1.0, description="Feature matching as a G regulariser: + weight · ‖E f(x) − E f(G(z))‖², any loss.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="feature-matching-mnist", citation=CITATION,
        description="Feature matching on MNIST: the default MLP mix with G trained to match D's last hidden layer.",
        settings={"dataset": "mnist", "generator": "mlp", "discriminator": "mlp", "loss": "feature-matching",
                  "steps": 10_000, "opt": {"name": "adam", "betas": [0.5, 0.999]}},
    )
