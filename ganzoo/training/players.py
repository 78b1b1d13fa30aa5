"""The two players of a GAN: each a module with its optimizer, its learning-rate schedule, the regularisers added
to its loss and the constraints applied after its updates.

Optimizers come from plugins (``ganzoo_optimizers``), one per player. When a player has lazy regularisers
(``every`` = N > 1), each runs as an extra optimizer step every N updates, so the player makes 1 + 1/N steps per
update; as in stylegan2-ada, the learning rate and Adam's betas are rescaled by ``ratio = 1 / (1 + sum(1/N))``
(N / (N + 1) for one), so that the extra steps do not change how fast the player moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import Choice
from ..errors import PluginError
from ..registry.registry import Registry
from . import distributed
from .assemble import Penalty
from .contracts import Constraint
from .distributed import World


def lazy_ratio(penalties: list[Penalty]) -> float:
    """stylegan2-ada's ``mb_ratio``: the share of a player's optimizer steps that are main updates."""
    return 1 / (1 + sum(1 / p.every for p in penalties if p.lazy))


def build_optimizer(registry: Registry, choice: Choice, module: nn.Module, lr: float,
                    ratio: float = 1.0) -> torch.optim.Optimizer:
    """The player's optimizer over its trainable parameters, with the lazy-regularisation correction applied."""
    spec = registry.get("optimizers", choice.name)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = spec.call("building it", spec.factory, params, lr * ratio, **choice.params)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise PluginError(f"{spec.owner}: factory returned {type(optimizer).__name__}, not a torch.optim.Optimizer")
    if ratio != 1.0:
        for group in optimizer.param_groups:
            if "betas" in group:
                group["betas"] = tuple(beta ** ratio for beta in group["betas"])
    return optimizer


def schedule(optimizer: torch.optim.Optimizer, kind: str, total_steps: int):
    """The learning-rate schedule, stepped once per training step: None for ``constant``; ``linear`` decays every
    learning rate to 0 at ``total_steps`` (a resumed run with more steps continues from where the rate was)."""
    if kind == "constant":
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total_steps))


@dataclass
class Player:
    """One side of the game."""

    name: str  # "generator" | "discriminator"
    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    constraints: list[Constraint] = field(default_factory=list)
    #: Regularisers added to every update's loss (every = 1), and those that run as their own step (every > 1).
    eager: list[Penalty] = field(default_factory=list)
    lazy: list[Penalty] = field(default_factory=list)
    #: Main updates so far (lazy steps excluded): lazy regularisers are due by this count.
    updates: int = 0

    def due(self, before: int) -> list[Penalty]:
        """The lazy regularisers whose interval was crossed since ``before`` main updates."""
        return [p for p in self.lazy if self.updates // p.every > before // p.every]

    def update(self, loss: torch.Tensor, scaler: torch.amp.GradScaler, world: World | None = None,
               main: bool = True) -> None:
        """One optimizer step on ``loss``, then the constraints. ``scaler`` is a no-op unless the run is float16
        (it allows one ``step`` per ``update``, so it updates after each optimizer step). ``world``: average the
        gradients over the ranks by hand (a lazy step's graph does not pass through the DDP wrapper). ``main``:
        count it as a main update (a lazy regulariser's own step is not one)."""
        self.optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if world is not None:
            distributed.average_gradients(self.module, world)
        self.apply(scaler, main)

    def apply(self, scaler: torch.amp.GradScaler, main: bool = True) -> None:
        """The second half of :meth:`update`, once the gradients are in place: the optimizer step, the constraints,
        the count. A population (``population_step.py``) calls it after one backward pass for all its members."""
        scaler.step(self.optimizer)
        scaler.update()
        self.stepped(main)

    def stepped(self, main: bool = True) -> None:
        """What follows the optimizer's step (a population may step several members' optimizers at once)."""
        self.constrain()
        if main:
            self.updates += 1

    def constrain(self) -> None:
        with torch.no_grad():
            for constraint in self.constraints:
                constraint.apply(self.module)

    def state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "updates": self.updates,
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None}

    def load(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state.get("updates", 0))
        if self.scheduler is not None and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])


def players_for(registry: Registry, config, generator: nn.Module, discriminator: nn.Module, penalties: list[Penalty],
                constraints: list[tuple[Constraint, str]]) -> tuple[Player, Player]:
    """Build both players from the config's optimizers, schedule, regularisers and constraints."""
    players = []
    for name, module, choice, lr in (("generator", generator, config.opt_g, config.lr_g),
                                     ("discriminator", discriminator, config.opt_d, config.lr_d)):
        mine = [p for p in penalties if name in p.players]
        optimizer = build_optimizer(registry, choice, module, lr, lazy_ratio(mine))
        players.append(Player(
            name, module, optimizer, schedule(optimizer, config.lr_schedule, config.steps),
            [c for c, player in constraints if player == name],
            [p for p in mine if not p.lazy], [p for p in mine if p.lazy],
        ))
    return players[0], players[1]
