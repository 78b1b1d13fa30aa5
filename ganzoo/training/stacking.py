"""Which members of a sweep can train as one population, and why the others cannot; and the batched forward itself.

A population runs its members' generators (and discriminators) as one forward: ``torch.func.vmap`` over
``functional_call``, each weight stacked along a leading member dimension. That needs one architecture (the same
components with the same parameters, latent size and data shape), one batch size, the same number of D and G updates
per step and one device, without ``--amp`` or ``--compile``; and modules whose forward is a function of their weights
and input alone. A module that changes its buffers in ``forward`` (BatchNorm's running statistics, spectral norm's
vectors) would change a stacked copy, not its own; one that draws random numbers there (dropout) cannot get, inside
one batched call, the stream each member draws in its separate run. Everything else may differ: seeds, learning
rates, optimizers, losses, regularisers, augmentations, EMA, schedules, step counts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..config import Choice, TrainConfig
from ..data.contract import DataSpec
from ..errors import PluginError, first_line
from ..registry.registry import Registry
from .assemble import build_models, data_spec, load_data
from .device import resolve_device

#: How far a batched forward may drift from the module's own before the probe calls it a different computation. A
#: batched product rounds otherwise than a single one (vmap adds a Linear's bias after the product, a one-column
#: layer leaves the gemv path): about 1e-7 relative, below 1e-6 on the probe's outputs of freshly built modules.
PROBE_TOLERANCE = 1e-4


class Stacked:
    """Modules of one architecture as one batched forward. Each call stacks the members' weights and buffers along a
    new leading dimension (``torch.stack`` is differentiable: every member's gradient reaches its own parameters, which
    its own optimizer then steps) and vmaps ``functional_call`` on a template copy over them and the inputs."""

    def __init__(self, template: nn.Module) -> None:
        self.template = copy.deepcopy(template)
        self.names = [name for name, _ in template.named_parameters()]
        self.buffer_names = [name for name, _ in template.named_buffers()]
        self._tensors: dict[int, tuple[nn.Module, list[torch.Tensor], list[torch.Tensor]]] = {}

    def _own(self, module: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        held = self._tensors.get(id(module))
        if held is None or held[0] is not module:
            held = self._tensors[id(module)] = (module, [p for _, p in module.named_parameters()],
                                                [b for _, b in module.named_buffers()])
        return held[1], held[2]

    def __call__(self, modules: Sequence[nn.Module], *inputs: torch.Tensor):
        """The outputs of every module on its own slice of ``inputs`` (each ``(len(modules), B, ...)``), stacked the
        same way (a dict of outputs: each value stacked)."""
        own = [self._own(m) for m in modules]
        params = {name: torch.stack([p[k] for p, _ in own]) for k, name in enumerate(self.names)}
        buffers = {name: torch.stack([b[k] for _, b in own]) for k, name in enumerate(self.buffer_names)}
        return torch.func.vmap(self._one, randomness="error")(params, buffers, *inputs)

    def _one(self, params, buffers, *inputs):
        return torch.func.functional_call(self.template, (params, buffers), inputs)


def unstack(out, n: int) -> list:
    """A batched output split into each member's (``unbind``: one autograd node for all members, not one each)."""
    if isinstance(out, torch.Tensor):
        return list(out.unbind(0))
    if isinstance(out, dict):
        parts = {key: value.unbind(0) for key, value in out.items()}
        return [{key: value[i] for key, value in parts.items()} for i in range(n)]
    raise TypeError(f"a stacked module returned {type(out).__name__}; expected a tensor or a dict of tensors")


@torch.no_grad()
def generate_stacked(generators: Sequence[nn.Module], z: torch.Tensor, labels: torch.Tensor | None = None,
                     batch_size: int = 4096) -> list[torch.Tensor]:
    """What :func:`ganzoo.run.samples.generate` gives each of ``generators`` (one architecture) for the same ``z``
    (and labels), from one batched forward per chunk. In eval mode, where BatchNorm reads its running statistics and
    dropout is off, so generators stack here that could not in training. Raises what ``vmap`` raises where a module
    cannot run batched; the results differ from each generator's own by a batched product's rounding."""
    modes = [g.training for g in generators]
    for g in generators:
        g.eval()
    try:
        stacked, n = Stacked(generators[0]), len(generators)
        parts = [z.split(batch_size)] + ([labels.to(z.device).split(batch_size)] if labels is not None else [])
        chunks = [stacked(generators, *(x.expand(n, *x.shape) for x in inputs)).float().cpu()
                  for inputs in zip(*parts)]
    finally:
        for g, mode in zip(generators, modes):
            g.train(mode)
    return list(torch.cat(chunks, dim=1).unbind(0))


# -- what stacks -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackGroup:
    """Members (indices into the configs) that train alike: as one population when ``stackable``, else each in a
    process of its own; ``reason`` says why, in words a sweep prints."""

    members: tuple[int, ...]
    stackable: bool
    reason: str


def _choice(choice: Choice) -> str:
    params = ", ".join(f"{k}={json.dumps(v)}" for k, v in choice.params.items())
    return f"'{choice.name}' ({params})" if params else f"'{choice.name}'"


def _data_spec(registry: Registry, config: TrainConfig, specs: dict) -> DataSpec:
    """The config's data spec, from its record or else loaded, once per dataset among ``specs``."""
    key = config.data_key()
    if key not in specs:
        specs[key] = data_spec(registry, config) or load_data(registry, config).spec
    return specs[key]


def signature(registry: Registry, config: TrainConfig, specs: dict | None = None) -> dict[str, str]:
    """What members must share to stack, by name (a sweep says which of them parts two groups)."""
    spec = _data_spec(registry, config, {} if specs is None else specs)
    device = resolve_device(config.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return {"generator": _choice(config.generator), "discriminator": _choice(config.discriminator),
            "latent_dim": str(config.latent_dim), "data": spec.describe(), "batch_size": str(config.batch_size),
            "d_steps": str(config.d_steps), "g_steps": str(config.g_steps), "device": str(device),
            "amp": str(config.amp), "compile": str(config.compile)}


def settings_reason(config: TrainConfig) -> str | None:
    """Why a member's own settings keep it out of any population, or None."""
    if config.amp:
        return "--amp: mixed precision's autocast and loss scaling are not batched across members"
    if config.compile:
        return "--compile: a compiled module is not batched across members"
    return None


def models_reason(registry: Registry, config: TrainConfig, specs: dict | None = None) -> str | None:
    """Why this config's generator or discriminator cannot run as one batched forward, or None: their records'
    ``stacks``, else a probe of freshly built modules."""
    spec = _data_spec(registry, config, {} if specs is None else specs)
    rng = torch.get_rng_state()
    try:
        models = build_models(registry, config, spec)
    finally:
        torch.set_rng_state(rng)  # building draws initial weights: the caller's stream stays as it was
    gen = torch.Generator().manual_seed(0)
    z, x = torch.randn(4, config.latent_dim, generator=gen), torch.randn(4, *spec.shape, generator=gen)
    g_labels = torch.randint(models.conditioning.classes or 1, (4,), generator=gen)
    d_labels = torch.randint(spec.classes or 1, (4,), generator=gen)
    for kind, choice, module, inputs in (
            ("generator", config.generator, models.generator, (z, g_labels) if models.conditioning.generator else (z,)),
            ("discriminator", config.discriminator, models.discriminator,
             (x, d_labels) if models.conditioning.discriminator else (x,))):
        record = registry.get(kind, choice.name)
        what = f"{kind} '{choice.name}'"
        if record.stacks not in (None, True, False):
            raise PluginError(f"{record.owner}: stacks must be True, False or None (let ganzoo probe the module)")
        if record.stacks is False:
            return f"{what} declares that its module does not stack (stacks=False)"
        why = None if record.stacks else module_reason(what, module, inputs)
        if why:
            return why
    return None


def module_reason(what: str, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> str | None:
    """Why ``module`` (in training mode) cannot run batched, found by running it: buffers changed or random numbers
    drawn in its forward, a failure under vmap, or a batched result that differs from its own forward."""
    mine = copy.deepcopy(module).train()
    rng = torch.get_rng_state()
    try:
        # values and versions: a native kernel (batch_norm's running statistics) writes without a version bump
        before = {name: (b._version, b.clone()) for name, b in mine.named_buffers()}
        with torch.no_grad():
            alone = mine(*inputs)
        changed = [name for name, b in mine.named_buffers()
                   if b._version != before[name][0] or not torch.equal(b, before[name][1])]
        if changed:
            owner = changed[0].rpartition(".")[0]
            layer = type(mine.get_submodule(owner)).__name__ if owner else type(mine).__name__
            names = ", ".join(n.rpartition(".")[2] for n in changed if n.rpartition(".")[0] == owner)
            return f"{what} has {layer} ({owner or 'the module'}), which changes its buffers in forward ({names})"
        if not torch.equal(torch.get_rng_state(), rng):
            drawers = sorted({type(m).__name__ for m in mine.modules() if isinstance(m, nn.modules.dropout._DropoutNd)})
            return (f"{what} draws random numbers in forward ({', '.join(drawers) or 'its own code'}): one batched "
                    f"call cannot give each member the stream of its separate run")
        other = copy.deepcopy(mine)
        with torch.no_grad():
            gen = torch.Generator().manual_seed(1)
            for p in other.parameters():  # other weights: each member's slice must use its own
                p.add_(torch.randn(p.shape, generator=gen).to(p) * 0.01)
            theirs = other(*inputs)
            try:
                batched = unstack(Stacked(mine)([mine, other], *(torch.stack([a, a]) for a in inputs)), 2)
            except Exception as err:  # noqa: BLE001 - any failure: the module does not stack
                return f"{what} fails under torch.func.vmap ({type(err).__name__}: {first_line(err, 100)})"
        for own, got in ((alone, batched[0]), (theirs, batched[1])):
            diff = _max_difference(own, got)
            if diff is None or diff > PROBE_TOLERANCE:
                return f"{what} computes otherwise when batched (largest difference {diff})"
        return None
    finally:
        torch.set_rng_state(rng)


def _max_difference(a, b) -> float | None:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape:
        return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        diffs = [_max_difference(a[k], b[k]) for k in a]
        return None if None in diffs else max(diffs, default=0.0)
    return None


def stack_groups(configs: Sequence[TrainConfig], registry: Registry, probe: bool = True) -> list[StackGroup]:
    """The members grouped by what they must share, in order of their first member: each group stacks, or says
    why not (its settings, or its modules: see :func:`models_reason`). Without ``probe`` the modules are not built
    and run (a caller that will not stack them anyway): ``stackable`` then says only that the settings allow it."""
    keys: dict[tuple, list[int]] = {}
    signatures, specs = [], {}
    for i, config in enumerate(configs):
        sig = signature(registry, config, specs)
        signatures.append(sig)
        keys.setdefault(tuple(sig.items()), []).append(i)
    groups = []
    for members in keys.values():
        first = configs[members[0]]
        why = settings_reason(first) or (models_reason(registry, first, specs) if probe else None)
        if why:
            groups.append(StackGroup(tuple(members), False, why))
            continue
        sig = signatures[members[0]]
        reason = (f"{len(members)} member{'s' if len(members) > 1 else ''} share generator {sig['generator']}, "
                  f"discriminator {sig['discriminator']}, batch {sig['batch_size']} on {sig['device']}"
                  + (": one batched forward per step" if probe else ""))
        groups.append(StackGroup(tuple(members), True, reason + _apart(sig, signatures, groups)))
    return groups


def _apart(sig: dict[str, str], signatures: list[dict[str, str]], groups: list[StackGroup]) -> str:
    """What sets a group apart from the first group before it, in words."""
    if not groups:
        return ""
    other = signatures[groups[0].members[0]]
    differ = [k for k in sig if sig[k] != other[k]]
    return f" (apart from member {groups[0].members[0]}'s group by {', '.join(k.replace('_', ' ') for k in differ)})"


def difference(registry: Registry, configs: Sequence[TrainConfig]) -> str | None:
    """Why ``configs`` cannot all train as one population, naming the first member that cannot, or None."""
    if not configs:
        return None
    specs: dict = {}
    first = signature(registry, configs[0], specs)
    for i, config in enumerate(configs):
        why = settings_reason(config)
        if why:
            return f"member {i}: {why}"
        sig = first if i == 0 else signature(registry, config, specs)
        differ = [k for k in first if sig[k] != first[k]]
        if differ:
            k = differ[0]
            return f"member {i} has {k.replace('_', ' ')} {sig[k]}, member 0 {first[k]}: they cannot share a forward"
    why = models_reason(registry, configs[0], specs)
    return f"every member: {why}" if why else None
