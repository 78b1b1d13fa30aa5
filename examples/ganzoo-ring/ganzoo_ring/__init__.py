"""ganzoo-ring: an example third-party ganzoo plugin.

It shows the two halves of a plugin: a model (the ``strided`` discriminator, DCGAN-style) and a dataset that brings
its own quality metric (the ``ring`` of Gaussians). It uses nothing but ganzoo's public API, ``from ganzoo import ...``.
"""

from ganzoo import DatasetSpec, DiscriminatorSpec, MetricSpec, Param, hookimpl

from . import ring
from .dcgan import StridedDiscriminator, at_least_16


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="strided",
        factory=StridedDiscriminator,
        description="DCGAN-style D: strided 4x4 convs (stride 2) + LeakyReLU 0.2 -> linear -> 1 logit (>= 16x16).",
        data_kinds=("image",),
        check=at_least_16,
        params=(
            Param("channels", list[int], [64, 128, 256], "feature maps of the strided convs, one layer each"),
            Param("slope", float, 0.2, "LeakyReLU negative slope"),
            Param("batchnorm", bool, True, "BatchNorm after every conv but the first"),
        ),
    )


@hookimpl
def ganzoo_datasets():
    yield DatasetSpec(
        name="ring",
        factory=ring.ring,
        shape=ring.shape,
        description="2-D mixture of Gaussians on a circle (8 modes by default): the standard mode-collapse test.",
        params=(
            Param("n", int, 10_000, "number of points"),
            Param("modes", int, 8, "number of Gaussians, evenly spaced on the circle"),
            Param("radius", float, 2.0, "radius of the circle"),
            Param("std", float, 0.05, "standard deviation of each Gaussian"),
            Param("seed", int, 0, "seed of the point sampler (independent of the training seed)"),
        ),
        metrics=(
            MetricSpec(
                name="ring-modes",
                description="Modes covered and share of high-quality samples on the ring.",
                compute=ring.compute,
                applies=ring.applies,
                keys=ring.KEYS,
                better=ring.BETTER,
            ),
        ),
    )
