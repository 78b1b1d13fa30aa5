"""Built-in plugin: the vanilla fully connected generator and discriminator (any data shape)."""

from ganzoo import DiscriminatorSpec, GeneratorSpec, Param, hookimpl

from .models import MLPDiscriminator, MLPGenerator


@hookimpl
def ganzoo_generators():
    yield GeneratorSpec(
        name="mlp",
        aliases=("vanilla",),
        factory=MLPGenerator,
        description="Fully connected G: z -> Linear+LeakyReLU (optional BatchNorm) layers -> data shape.",
        params=(
            Param("hidden", list[int], [256, 512, 1024], "widths of the hidden layers, e.g. 128 or 256,256"),
            Param("batchnorm", bool, True, "BatchNorm on every hidden layer but the first"),
            Param("slope", float, 0.2, "LeakyReLU negative slope"),
            Param("output", str, "auto", "output activation; auto = tanh for images, linear for points",
                  choices=("auto", "tanh", "linear")),
        ),
    )


@hookimpl
def ganzoo_discriminators():
    yield DiscriminatorSpec(
        name="mlp",
        aliases=("vanilla",),
        factory=MLPDiscriminator,
        description="Fully connected D: flatten -> Linear+LeakyReLU layers (optional dropout) -> 1 logit.",
        params=(
            Param("hidden", list[int], [512, 256], "widths of the hidden layers"),
            Param("slope", float, 0.2, "LeakyReLU negative slope"),
            Param("dropout", float, 0.0, "dropout probability after each hidden layer"),
        ),
    )
