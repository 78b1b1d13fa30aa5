"""The hooks a ganzoo plugin implements. These docstrings are the plugin author's reference.

A plugin is a module (or object) with functions decorated by ``ganzoo.hookimpl``, registered through the
``ganzoo`` entry-point group in its ``pyproject.toml``::

    [project.entry-points.ganzoo]
    my_plugin = "my_package"

Each component hook returns (or yields) typed records. Implement only the hooks you need; an implementation may take
fewer arguments than the specification, so hooks can gain arguments without breaking old plugins.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from .specs import DatasetSpec, DiscriminatorSpec, GeneratorSpec, LossSpec, MetricSpec, RecipeSpec

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def ganzoo_generators() -> Iterable[GeneratorSpec]:
    """Return or yield :class:`ganzoo.GeneratorSpec` records.

    The factory is called as ``factory(latent_dim, data, **params)`` with ``data`` a :class:`ganzoo.DataSpec`, and
    returns an ``nn.Module`` mapping noise of shape (B, latent_dim) to samples of shape (B, *data.shape) in the
    dataset's normalised space (images in [-1, 1]).
    """


@hookspec
def ganzoo_discriminators() -> Iterable[DiscriminatorSpec]:
    """Return or yield :class:`ganzoo.DiscriminatorSpec` records.

    The factory is called as ``factory(data, **params)`` and returns an ``nn.Module`` mapping a batch of shape
    (B, *data.shape) to **logits** of shape (B,) — no sigmoid; the loss applies it stably.
    """


@hookspec
def ganzoo_losses() -> Iterable[LossSpec]:
    """Return or yield :class:`ganzoo.LossSpec` records.

    The factory is called as ``factory(**params)`` and returns a :class:`ganzoo.GANLoss`, whose
    ``discriminator_loss(real_logits, fake_logits, ctx)`` and ``generator_loss(fake_logits, ctx)`` return scalars;
    ``ctx`` (:class:`ganzoo.LossContext`) holds the real and fake batches and the discriminator.
    """


@hookspec
def ganzoo_datasets() -> Iterable[DatasetSpec]:
    """Return or yield :class:`ganzoo.DatasetSpec` records.

    The factory is called as ``factory(**params)`` and returns a :class:`ganzoo.Data` (build it with
    ``Data.images(pixels)`` or ``Data.points(xy, curve=...)``). Give the record a ``shape(**params)`` function so
    that compatibility is checked without loading the data.
    """


@hookspec
def ganzoo_metrics() -> Iterable[MetricSpec]:
    """Return or yield :class:`ganzoo.MetricSpec` records: quality metrics for every dataset they apply to.

    ``applies(data)`` receives the loaded :class:`ganzoo.Data`; ``compute(ctx)`` receives a
    :class:`ganzoo.EvalContext` and returns ``{key: number}``. A metric for one dataset only belongs on that
    dataset's record instead (``DatasetSpec(metrics=...)``).
    """


@hookspec
def ganzoo_recipes() -> Iterable[RecipeSpec]:
    """Return or yield :class:`ganzoo.RecipeSpec` records: named, complete training configurations.

    ``settings`` is laid out like a config file: top-level options plus ``generator``/``discriminator``/``loss``/
    ``dataset`` tables with a ``name`` and parameters, e.g. ``{"steps": 5000, "generator": {"name": "mlp",
    "hidden": [256, 256]}}``. ``ganzoo train --recipe NAME`` puts it above the dataset's suggestions and below
    ``--config`` and flags; its contents are checked like a config file, and errors name the recipe and plugin.
    """


@hookspec
def ganzoo_commands(cli) -> None:
    """Add commands to the ``ganzoo`` command line: ``cli`` is the top-level :class:`click.Group`; call
    ``cli.add_command(...)``."""


#: Hook name for each component kind (plural, as in ``ganzoo list KIND``).
COMPONENT_HOOKS = {
    "generators": "ganzoo_generators",
    "discriminators": "ganzoo_discriminators",
    "losses": "ganzoo_losses",
    "datasets": "ganzoo_datasets",
}
