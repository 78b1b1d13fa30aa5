"""Built-in plugin: the GAN losses: minimax and non-saturating BCE, least squares, hinge and WGAN-GP."""

from ganzoo import LossSpec, Param, hookimpl

from .bce import MinimaxLoss, NonSaturatingLoss
from .hinge import HingeLoss
from .least_squares import LeastSquaresLoss
from .wasserstein import WassersteinGPLoss

_LABELS = (
    Param("real_label", float, 1.0, "D's target for real samples (< 1 is one-sided label smoothing)", min=0, max=1),
    Param("fake_label", float, 0.0, "D's target for generated samples (below real_label)", min=0, max=1),
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
    yield LossSpec(
        name="lsgan",
        aliases=("least-squares",),
        factory=LeastSquaresLoss,
        description="Least squares on raw D outputs: D minimises ½E[(D(x)−a)²] + ½E[(D(G(z))−b)²]; "
                    "G minimises ½E[(D(G(z))−c)²].",
        params=(
            Param("real_label", float, 1.0, "a: D's target output for real samples"),
            Param("fake_label", float, 0.0, "b: D's target output for generated samples (must differ from a)"),
            Param("generator_target", float, 1.0, "c: the output G wants D to give its samples"),
        ),
    )
    yield LossSpec(
        name="hinge",
        factory=HingeLoss,
        description="Hinge: D minimises E[relu(1 − D(x))] + E[relu(1 + D(G(z)))]; G minimises −E[D(G(z))].",
    )
    yield LossSpec(
        name="wgan-gp",
        factory=WassersteinGPLoss,
        description="Wasserstein + gradient penalty: D minimises E[D(G(z))] − E[D(x)] + λ·E[(‖∇D(x̂)‖₂ − 1)²] on "
                    "x̂ = εx + (1−ε)G(z); G minimises −E[D(G(z))].",
        citation="Gulrajani et al. 2017, 'Improved Training of Wasserstein GANs' (Algorithm 1: n_critic 5, Adam "
                 "1e-4, betas 0, 0.9)",
        params=(Param("gp_weight", float, 10.0, "λ, the weight of the gradient penalty (0: plain Wasserstein loss)",
                      min=0),),
        # the paper's n_critic and betas (its 1e-4 learning rate is left to the data's tuning): without them a run
        # on two moons covered 13% of the data, with them 93% (reported in issue 15)
        suggested={"d_steps": 5, "opt": {"betas": [0.0, 0.9]}},
    )
