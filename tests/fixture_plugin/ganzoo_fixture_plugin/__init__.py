"""A third-party plugin as a user would write it: a generator and a command, through ganzoo's public API only."""

import click
from torch import nn

from ganzoo import GeneratorSpec, Param, hookimpl


class LinearGenerator(nn.Module):
    def __init__(self, latent_dim, data, scale):
        super().__init__()
        self.shape = tuple(data.shape)
        self.net = nn.Linear(latent_dim, data.numel)
        self.scale = scale

    def forward(self, z):
        return (self.scale * self.net(z)).view(len(z), *self.shape)


@hookimpl
def ganzoo_generators():
    yield GeneratorSpec(
        name="fixture-linear",
        factory=LinearGenerator,
        description="One linear layer (a test fixture).",
        params=(Param("scale", float, 1.0, "output scale"),),
    )


@hookimpl
def ganzoo_commands(cli):
    @cli.command("fixture-hello")
    def hello():
        """Say hello from a plugin command."""
        click.echo("hello from ganzoo-fixture-plugin")
