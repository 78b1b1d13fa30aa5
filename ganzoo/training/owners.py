"""The chosen components' live objects, each named twice: by the key its state is checkpointed under
(``regularisers.0``) and by the owner a message names (``regulariser 'lecam' (ganzoo 0.1.0)``).

One list serves both: :mod:`blame` names the component a failure came from, and the trainer saves and restores the
state that plugin objects keep across steps (moving averages, an adaptive probability).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import TrainConfig
from ..registry.kinds import SLOTS
from ..registry.registry import Registry
from .assemble import chosen

#: Slots whose objects the trainer checkpoints itself (weights, optimizer states).
OWN_STATE = ("generator", "discriminator", "opt_g", "opt_d")


@dataclass(frozen=True)
class Owned:
    key: str
    owner: str
    obj: object


def _provider(registry: Registry, slot: str, name: str) -> str:
    for provided in registry.components(SLOTS[slot].kind):
        if provided.spec.name == name:
            return provided.plugin.label
    return "unknown plugin"


def live_components(registry: Registry, config: TrainConfig, live: dict[str, list]) -> list[Owned]:
    """Each chosen component's object from ``live`` (slot -> objects in the config's order), keyed and owned."""
    found, taken = [], {}
    for slot, record, _ in chosen(registry, config):
        index = taken[slot] = taken.get(slot, -1) + 1
        objects = live.get(slot, [])
        if index < len(objects):
            owner = f"{record.owner} ({_provider(registry, slot, record.name)})"
            found.append(Owned(f"{slot}.{index}", owner, objects[index]))
    return found


def stateful(obj: object) -> bool:
    """Whether a plugin object keeps state a checkpoint must hold: a module with buffers or parameters, or an
    object with ``state_dict`` and ``load_state_dict`` of its own."""
    if isinstance(obj, nn.Module):
        return any(True for _ in obj.buffers()) or any(True for _ in obj.parameters())
    return callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None))


def plugin_states(components: list[Owned], device: torch.device) -> dict[str, object]:
    """The step's plugin objects with state of their own, by key; modules are moved to the run's device."""
    states = {c.key: c.obj for c in components if not c.key.startswith(OWN_STATE) and stateful(c.obj)}
    for obj in states.values():
        if isinstance(obj, nn.Module):
            obj.to(device)
    return states
