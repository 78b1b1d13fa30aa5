"""Built-in plugin: the conv upsampling generator and the max-pool discriminator (image data)."""

from ganzoo import DataSpec, DiscriminatorSpec, GeneratorSpec, Param, hookimpl

from .models import MaxPoolDiscriminator, UpconvGenerator


def _divisible_by_4(data: DataSpec) -> str | None:
    _, h, w = data.shape
    return None if h % 4 == 0 and w % 4 == 0 else f"it needs H and W divisible by 4, got {h}x{w}"


def _at_least_16(data: DataSpec) -> str | None:
    _, h, w = data.shape
    return None if h >= 16 and w >= 16 else f"it needs images of at least 16x16, got {h}x{w}"


@hookimpl
def ganzoo_generators():
    yield GeneratorSpec(
        name="upconv",
        factory=UpconvGenerator,
        description="Conv upsampling G: z -> fc -> fc -> 128 maps at H/4 x W/4 -> (upsample, conv) x 2 -> tanh.",
        data_kinds=("image",),
        check=_divisible_by_4,
        params=(
            Param("fc", int, 1024, "width of the first fully connected layer", min=1),
            Param("channels", int, 128, "feature maps at H/4 x W/4", min=1),
            Param("mid_channels", int, 64, "feature maps after the first upsampling conv", min=1),
            Param("kernel", int, 3, "conv kernel size (odd)", min=1),
            Param("batchnorm", bool, True, "BatchNorm after the fully connected layers and the first conv"),
            Param("slope", float, 0.0, "LeakyReLU negative slope (0 = ReLU)"),
        ),
    )


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="maxpool",
        factory=MaxPoolDiscriminator,
        per_sample=True,  # no BatchNorm: real and generated batches may share a forward pass
        outputs=("features",),  # the hidden fc layer, for feature matching
        description="Max-pool D: conv 64 -> pool -> conv 128 -> pool -> fc -> fc -> 1 logit (images >= 16x16).",
        data_kinds=("image",),
        check=_at_least_16,
        params=(
            Param("channels", list[int], [64, 128], "feature maps of the two conv layers", min=1, length=2),
            Param("fc", int, 1024, "width of the hidden fully connected layer", min=1),
            Param("slope", float, 0.2, "LeakyReLU negative slope"),
            Param("dropout", float, 0.0, "dropout probability before the last layer", min=0, below=1),
            Param("spectral_norm", bool, False, "spectral normalisation of every layer (Miyato et al. 2018)"),
        ),
    )
