"""From a resolved config to live components: compatibility first, then construction and a shape check.

Incompatible mixes are rejected before any data is loaded, each with one line naming the misfit and the alternatives:
data kinds and shapes, conditional components without labels, a loss or regulariser that reads a discriminator
output the chosen discriminator does not return. Shapes are then checked with a two-sample dry run, so a plugin bug
surfaces as one clear line naming the component, not as a matmul error deep in the training loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import TrainConfig
from ..data.contract import Data, DataSpec
from ..errors import DatasetError, IncompatibleError, PluginError
from ..registry.kinds import SLOTS
from ..registry.registry import Registry
from ..registry.specs import ComponentSpec, DatasetSpec, Mix
from .conditioning import Conditioning, conditioning
from .contracts import Constraint, DOutput, GANLoss, Regulariser


@dataclass
class Penalty:
    """A regulariser as the step applies it: to which players, with which weight, every how many updates."""

    name: str
    regulariser: Regulariser
    weight: float
    every: int
    players: tuple[str, ...]

    @property
    def lazy(self) -> bool:
        """Run as an optimizer step of its own every ``every`` updates (stylegan2), not inside every update."""
        return self.every > 1


@dataclass
class Models:
    """The live components of a run, on the CPU until the trainer moves them."""

    generator: nn.Module
    discriminator: nn.Module
    loss: GANLoss
    conditioning: Conditioning = Conditioning()
    augmentations: list[Callable[[torch.Tensor], torch.Tensor]] = field(default_factory=list)
    penalties: list[Penalty] = field(default_factory=list)
    #: (constraint, player) pairs, applied after each optimizer step of that player, in order.
    constraints: list[tuple[Constraint, str]] = field(default_factory=list)


@dataclass
class Parts(Models):
    """The models and the data they train on."""

    data: Data | None = None


def data_spec(registry: Registry, config: TrainConfig) -> DataSpec | None:
    """The dataset's sample spec without loading it, or None when its record cannot tell."""
    spec: DatasetSpec = registry.get("dataset", config.dataset.name)
    return spec.data_spec(config.dataset.params) if spec.shape is not None else None


def chosen(registry: Registry, config: TrainConfig) -> list[tuple[str, ComponentSpec, dict]]:
    """Every chosen component as ``(slot, record, params)``, in slot order."""
    out = []
    for slot in SLOTS.values():
        value = config.component(slot.name)
        for choice in (value if slot.many else [value]):
            out.append((slot.name, registry.get(slot.kind, choice.name), choice.params))
    return out


def check_compatible(registry: Registry, config: TrainConfig, data: DataSpec) -> Conditioning:
    """Raise :class:`IncompatibleError` naming the misfit and the compatible alternatives; else the label flow."""
    for slot, spec, _ in chosen(registry, config):
        if slot == "dataset":
            continue
        why = spec.incompatibility(data)
        if why:
            # alternatives of the same sort: conditional ones only where the refused one was and labels exist
            conditional = bool(getattr(spec, "conditional", False) and data.classes)
            names = {p.spec.name for p in registry.components(SLOTS[slot].kind)
                     if p.spec.incompatibility(data) is None and getattr(p.spec, "conditional", False) == conditional}
            others = ", ".join(sorted(names)) or "none installed"
            raise IncompatibleError(
                f"{spec.owner} cannot train on dataset '{config.dataset.name}' ({data.describe()}): {why}; "
                f"compatible {SLOTS[slot].kind}: {others}"
            )
    records = chosen(registry, config)
    by_slot = {slot: [spec for s, spec, _ in records if s == slot] for slot in SLOTS}
    mix = Mix(data, by_slot["generator"][0], by_slot["discriminator"][0], by_slot["loss"][0],
              tuple(by_slot["regularisers"]), tuple(by_slot["augment"]), tuple(by_slot["constraints"]))
    for _, spec, _ in records:
        why = spec.call("check_mix", spec.check_mix, mix) if getattr(spec, "check_mix", None) else None
        if why:
            raise IncompatibleError(f"{spec.owner} cannot train in this mix: {why}")
    return conditioning(registry, config, data)


def load_data(registry: Registry, config: TrainConfig) -> Data:
    spec = registry.get("dataset", config.dataset.name)
    data = spec.load(config.dataset.params)
    _check_finite(data, spec.owner)
    return data


#: Samples checked for non-finite values before training (all of them for small data).
FINITE_PROBE = 65536


def _check_finite(data: Data, owner: str) -> None:
    """Non-finite samples in the model's space (values near float32's limit, a standardisation that overflowed)
    would read as a diverged training run; they are the data's fault, and named as such before any step."""
    if not data.samples.is_floating_point():  # stored pixels: always finite
        return
    probe = data.take(slice(0, FINITE_PROBE))
    finite = torch.isfinite(probe).reshape(len(probe), -1).all(dim=0)
    if bool(finite.all()):
        return
    bad = (~finite).nonzero().flatten().tolist()
    where = f"dimension {bad[0]}" if data.spec.kind == "points" else "some pixels"
    raise DatasetError(
        f"{owner}: its samples are not finite numbers once standardised for training ({where}"
        f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}): values near float32's limit (3.4e38) overflow; "
        f"rescale the data (e.g. to units near 1)")


def build_models(registry: Registry, config: TrainConfig, data: DataSpec) -> Models:
    """Build every component of the mix and check that G and D produce the shapes the contract promises."""
    cond = check_compatible(registry, config, data)
    g_spec = registry.get("generator", config.generator.name)
    d_spec = registry.get("discriminator", config.discriminator.name)
    l_spec = registry.get("loss", config.loss.name)
    generator = _construct(g_spec, config.latent_dim, data, **config.generator.params)
    discriminator = _construct(d_spec, data, **config.discriminator.params)
    loss = _expect(l_spec, _construct(l_spec, **config.loss.params), GANLoss, "a ganzoo.GANLoss")
    for module, spec in ((generator, g_spec), (discriminator, d_spec)):
        _expect(spec, module, nn.Module, "a torch nn.Module")
    models = Models(generator, discriminator, loss, cond)
    for choice in config.augment:
        spec = registry.get("augmentations", choice.name)
        augment = _construct(spec, data, **choice.params)
        if not callable(augment):
            raise PluginError(f"{spec.owner}: factory returned {type(augment).__name__}, which is not callable")
        models.augmentations.append(augment)
    for choice in config.regularisers:
        spec = registry.get("regularisers", choice.name)
        params, weight, every = spec.split(choice.params)
        reg = _expect(spec, _construct(spec, **params), Regulariser, "a ganzoo.Regulariser")
        players = reg.players()
        if not players:
            raise PluginError(f"{spec.owner}: its Regulariser overrides neither discriminator_penalty nor "
                              f"generator_penalty")
        models.penalties.append(Penalty(choice.name, reg, weight, every, players))
    for choice in config.constraints:
        spec = registry.get("constraints", choice.name)
        constraint = _expect(spec, _construct(spec, **choice.params), Constraint, "a ganzoo.Constraint")
        models.constraints.append((constraint, spec.player))
    _dry_run(models, config.latent_dim, data, g_spec, d_spec)
    return models


def assemble(registry: Registry, config: TrainConfig, data: Data | None = None) -> Parts:
    """Check, load and build everything a run needs (``data``: the config's dataset, loaded already)."""
    declared = data_spec(registry, config)
    if declared is not None:  # before a possibly long load or download
        check_compatible(registry, config, declared)
    data = data if data is not None else load_data(registry, config)
    models = build_models(registry, config, data.spec)
    return Parts(**vars(models), data=data)


def _construct(spec, *args, **params):
    return spec.call("building it", spec.factory, *args, **params)


def _expect(spec: ComponentSpec, value, cls: type, what: str):
    if not isinstance(value, cls):
        raise PluginError(f"{spec.owner}: factory returned {type(value).__name__}, not {what}")
    return value


def _dry_run(models: Models, latent_dim: int, data: DataSpec, g_spec, d_spec) -> None:
    generator, discriminator, cond = models.generator, models.discriminator, models.conditioning
    modes = generator.training, discriminator.training
    generator.eval(), discriminator.eval()
    labels = torch.zeros(2, dtype=torch.long)
    try:
        with torch.no_grad():
            try:
                fake = generator(torch.zeros(2, latent_dim), labels) if cond.generator else \
                    generator(torch.zeros(2, latent_dim))
            except Exception as err:  # noqa: BLE001
                raise PluginError(f"{g_spec.owner} failed on noise of shape (2, {latent_dim}): {err}") from None
            if not isinstance(fake, torch.Tensor) or tuple(fake.shape) != (2, *data.shape):
                got = tuple(fake.shape) if isinstance(fake, torch.Tensor) else type(fake).__name__
                raise PluginError(f"{g_spec.owner} returned shape {got} for a batch of 2; expected {(2, *data.shape)}")
            for augment in models.augmentations:
                out = augment(fake)
                if not isinstance(out, torch.Tensor) or out.shape != fake.shape:
                    raise PluginError(f"augmentation {augment!r:.40} changed a batch of shape {tuple(fake.shape)}; "
                                      f"it must keep the shape")
            try:
                returned = discriminator(fake, labels) if cond.discriminator else discriminator(fake)
                out = DOutput.of(returned)
            except Exception as err:  # noqa: BLE001
                raise PluginError(f"{d_spec.owner} failed on a batch of shape {(2, *data.shape)}: "
                                  f"{type(err).__name__}: {err}") from None
            if tuple(out.logits.shape) != (2,):
                raise PluginError(
                    f"{d_spec.owner} returned logits of shape {tuple(out.logits.shape)} for a batch of 2; expected (2,)"
                )
            for name in d_spec.outputs:
                head = out.get(name)
                if not isinstance(head, torch.Tensor) or head.dim() == 0 or head.shape[0] != 2:
                    raise PluginError(f"{d_spec.owner} declares the output '{name}' but returned "
                                      f"{'no such key' if head is None else f'shape {tuple(head.shape)}'} for a batch "
                                      f"of 2; return a dict with 'logits' and one (B, ...) tensor per output")
    finally:
        generator.train(modes[0]), discriminator.train(modes[1])
