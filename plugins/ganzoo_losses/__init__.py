"""Built-in plugin: the original GAN losses (minimax and non-saturating), computed from logits."""

from ganzoo import LossSpec, Param, hookimpl

from .bce import MinimaxLoss, NonSaturatingLoss

_LABELS = (
    Param("real_label", float, 1.0, "D's target for real samples (< 1 is one-sided label smoothing)"),
    Param("fake_label", float, 0.0, "D's target for generated samples"),
)


@hookimpl
def ganzoo_losses():
    yield LossSpec(
        name="bce",
        aliases=("minimax",),
        factory=MinimaxLoss,
        description="Minimax BCE: D minimises BCE(real->1, fake->0); G minimises log(1 - D(G(z))) (saturating).",
        params=_LABELS,
    )
    yield LossSpec(
        name="nonsaturating",
        aliases=("ns",),
        factory=NonSaturatingLoss,
        description="Non-saturating: D minimises BCE(real->1, fake->0); G maximises log D(G(z)).",
        params=_LABELS,
    )
