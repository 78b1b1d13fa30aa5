"""Built-in plugin: DCGAN (Radford, Metz & Chintala 2016) for images of any colour and of square power-of-two sides
from 16 to 256, and DCGAN bodies for the conditional variants (cDCGAN, projection, ACGAN).

G: z -> 4x4 -> transposed convs with BatchNorm and ReLU -> tanh; D: strided convs with LeakyReLU (BatchNorm after
the first) -> one logit. The paper's Adam settings (lr 2e-4, betas 0.5, 0.999) are ganzoo's defaults already.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo import DataSpec, DiscriminatorSpec, GeneratorSpec, Param, hookimpl

from .models import (
    AuxiliaryDCGANDiscriminator,
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    ProjectionDCGANDiscriminator,
    side_problem,
)

CITATION = ("Radford, Metz & Chintala 2016, 'Unsupervised Representation Learning with Deep Convolutional "
            "Generative Adversarial Networks'")
PROJECTION = "Miyato & Koyama 2018, 'cGANs with Projection Discriminator', on a DCGAN body (Radford et al. 2016)"
ACGAN = ("Odena, Olah & Shlens 2017, 'Conditional Image Synthesis with Auxiliary Classifier GANs', on a DCGAN body "
         "(Radford et al. 2016)")


def _sized(alternative: str) -> Callable[[DataSpec], str | None]:
    def check(data: DataSpec) -> str | None:
        problem = side_problem(data)
        if not problem:
            return None
        return f"{problem}; choose one (e.g. --set dataset.size=32 where the dataset takes a size) or use {alternative}"
    return check


def _sized_and_labelled(data: DataSpec) -> str | None:
    if not data.classes:
        return "it classifies samples, so it needs a labelled dataset"
    return _sized("-d acgan")(data)


def _widths(layer: str) -> tuple[Param, ...]:
    return (Param("width", int, 64, f"channels of the {layer} (at half the side); they double towards 4x4",
                  min=1),
            Param("max_width", int, 512, "the most channels any layer has, at least width (keeps 128 and 256 px "
                                         "affordable)", min=1))


def _embed(where: str) -> Param:
    return Param("embed", int, 10, f"size of the learned label embedding ({where})", min=1)


D_PARAMS = (*_widths("first layer"),
            Param("batchnorm", bool, True, "BatchNorm after every conv but the first and the last (the paper's)"),
            Param("spectral_norm", bool, False, "spectral normalisation of every layer (SNGAN; then usually "
                                                "batchnorm=false)"))
# per_sample: with BatchNorm (D's default) the trainer finds it and scores real and generated batches apart
D_IMAGES = {"data_kinds": ("image",), "per_sample": True}


@hookimpl
def ganzoo_generators():
    image = {"data_kinds": ("image",), "check": _sized("-g mlp")}
    yield GeneratorSpec(
        name="dcgan", factory=DCGANGenerator, citation=CITATION, params=_widths("last hidden layer"), **image,
        description="DCGAN G: z -> 4x4 -> (ConvTranspose 4,2,1 + BatchNorm + ReLU) per doubling -> tanh.",
    )
    yield GeneratorSpec(
        name="cdcgan", factory=ConditionalDCGANGenerator, conditional=True, citation=CITATION,
        params=(*_widths("last hidden layer"), _embed("concatenated to z")), **image,
        description="Conditional DCGAN G: [z, label embedding] -> the DCGAN generator.",
    )


@hookimpl
def ganzoo_discriminators():
    image = {**D_IMAGES, "check": _sized("-d mlp"), "outputs": ("features",)}
    yield DiscriminatorSpec(
        name="dcgan", factory=DCGANDiscriminator, citation=CITATION, params=D_PARAMS, **image,
        description="DCGAN D: (Conv 4,2,1 + BatchNorm + LeakyReLU 0.2) per halving down to 4x4 -> 1 logit.",
    )
    yield DiscriminatorSpec(
        name="cdcgan", factory=ConditionalDCGANDiscriminator, conditional=True, citation=CITATION,
        params=(*D_PARAMS, _embed("broadcast as extra input channels")), **image,
        description="Conditional DCGAN D: the label embedding as extra input channels -> the DCGAN discriminator.",
    )
    yield DiscriminatorSpec(
        name="dcgan-projection", factory=ProjectionDCGANDiscriminator, conditional=True, citation=PROJECTION,
        params=D_PARAMS, **image,
        description="Projection D on a DCGAN body: ψ(φ(x)) + <embed(y), φ(x)>, φ the sum-pooled 4x4 block.",
    )
    yield DiscriminatorSpec(
        name="dcgan-acgan", factory=AuxiliaryDCGANDiscriminator, citation=ACGAN, params=D_PARAMS, **D_IMAGES,
        outputs=("classes", "features"), check=_sized_and_labelled,
        description="DCGAN D with an auxiliary classifier: 1 logit and class logits per sample (use with --reg ac).",
    )
