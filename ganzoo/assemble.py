"""From a resolved config to live components: compatibility first, then construction and a shape check.

Incompatible mixes are rejected before any data is loaded; shapes are checked with a two-sample dry run so a
plugin bug surfaces as one clear line naming the component, not as a matmul error deep in the training loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import TrainConfig
from .data import Data, DataSpec
from .errors import IncompatibleError, PluginError
from .loss import GANLoss
from .registry import PLURAL, Registry
from .specs import DatasetSpec


@dataclass
class Parts:
    """The live components of a run, on the CPU until the trainer moves them."""

    data: Data
    generator: nn.Module
    discriminator: nn.Module
    loss: GANLoss


def data_spec(registry: Registry, config: TrainConfig) -> DataSpec | None:
    """The dataset's sample spec without loading it, or None when its record cannot tell."""
    spec: DatasetSpec = registry.get("dataset", config.dataset.name)
    return spec.data_spec(config.dataset.params) if spec.shape is not None else None


def check_compatible(registry: Registry, config: TrainConfig, data: DataSpec) -> None:
    """Raise :class:`IncompatibleError` naming the misfit and the compatible alternatives."""
    for kind in ("generator", "discriminator"):
        spec = registry.get(kind, config.component(kind).name)
        why = spec.incompatibility(data)
        if why:
            others = ", ".join(registry.compatible(kind, data)) or "none installed"
            raise IncompatibleError(
                f"{spec.owner} cannot train on dataset '{config.dataset.name}' ({data.describe()}): {why}; "
                f"compatible {PLURAL[kind]}: {others}"
            )


def load_data(registry: Registry, config: TrainConfig) -> Data:
    return registry.get("dataset", config.dataset.name).load(config.dataset.params)


def build_models(registry: Registry, config: TrainConfig, data: DataSpec) -> tuple[nn.Module, nn.Module, GANLoss]:
    """Build G, D and the loss, and check that G and D produce the shapes the contract promises."""
    g_spec = registry.get("generator", config.generator.name)
    d_spec = registry.get("discriminator", config.discriminator.name)
    l_spec = registry.get("loss", config.loss.name)
    generator = _construct(g_spec, config.latent_dim, data, **config.generator.params)
    discriminator = _construct(d_spec, data, **config.discriminator.params)
    loss = _construct(l_spec, **config.loss.params)
    if not isinstance(loss, GANLoss):
        raise PluginError(f"{l_spec.owner}: factory returned {type(loss).__name__}, not a ganzoo.GANLoss")
    for module, spec in ((generator, g_spec), (discriminator, d_spec)):
        if not isinstance(module, nn.Module):
            raise PluginError(f"{spec.owner}: factory returned {type(module).__name__}, not a torch nn.Module")
    _dry_run(generator, discriminator, config.latent_dim, data, g_spec.owner, d_spec.owner)
    return generator, discriminator, loss


def assemble(registry: Registry, config: TrainConfig) -> Parts:
    """Check, load and build everything a run needs."""
    declared = data_spec(registry, config)
    if declared is not None:  # before a possibly long load or download
        check_compatible(registry, config, declared)
    data = load_data(registry, config)
    check_compatible(registry, config, data.spec)
    return Parts(data, *build_models(registry, config, data.spec))


def _construct(spec, *args, **params):
    return spec.call("building it", spec.factory, *args, **params)


def _dry_run(generator: nn.Module, discriminator: nn.Module, latent_dim: int, data: DataSpec,
             g_owner: str, d_owner: str) -> None:
    modes = generator.training, discriminator.training
    generator.eval(), discriminator.eval()
    try:
        with torch.no_grad():
            try:
                fake = generator(torch.zeros(2, latent_dim))
            except Exception as err:  # noqa: BLE001
                raise PluginError(f"{g_owner} failed on noise of shape (2, {latent_dim}): {err}") from None
            if tuple(fake.shape) != (2, *data.shape):
                raise PluginError(
                    f"{g_owner} returned shape {tuple(fake.shape)} for a batch of 2; expected {(2, *data.shape)}"
                )
            try:
                logits = discriminator(fake)
            except Exception as err:  # noqa: BLE001
                raise PluginError(f"{d_owner} failed on a batch of shape {(2, *data.shape)}: {err}") from None
            if tuple(logits.shape) != (2,):
                raise PluginError(
                    f"{d_owner} returned shape {tuple(logits.shape)} for a batch of 2; expected (2,) logits"
                )
    finally:
        generator.train(modes[0]), discriminator.train(modes[1])
