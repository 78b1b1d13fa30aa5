"""One training step, as stylegan2's phases: D's updates (Dmain), D's due lazy regularisers (Dreg), G's updates with
D frozen (Gmain), G's due lazy regularisers (Greg); then EMA and the learning-rate schedules.

Each phase is a method that returns what the next phase needs as a small record, so nothing leaks between phases
by accident: D's phase hands G's phase the last batch, its generated samples (with G's graph kept, so G's first
update reuses them) and D's detached outputs on the real batch. Statistics are added to :class:`StepStats` by the
phase that computed them. Every D input, real or generated, goes through the augmentations and, for a conditional
D, comes with its labels; the loss and the regularisers see what D returned through one :class:`ganzoo.StepContext`.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import PluginError
from . import distributed
from .assemble import Penalty
from .contracts import DOutput, Drawing, StepContext
from .players import Player

MAIN_STATS = ("d_loss", "g_loss", "d_real", "d_fake")


class Precision:
    """Mixed precision, decided once: the autocast context (built once and re-entered, as in nanoGPT) and a
    ``GradScaler`` that is a no-op unless the run is float16, so an update has one code path."""

    def __init__(self, dtype: torch.dtype | None, device: torch.device) -> None:
        self.dtype = dtype
        self.autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
        self.scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)


class StepStats:
    """The step's statistics: their names (the losses, D's mean outputs, then each penalty's raw value per player,
    ``r1_d``...), their running sums in one device tensor, and how often each was added since the last read — a
    host-side count, so averaging needs no sync."""

    def __init__(self, penalties: list[tuple[Penalty, str]], device: torch.device,
                 logged: tuple[str, ...] = ()) -> None:
        self.names = [*MAIN_STATS, *(f"{p.name}_{player[0]}" for p, player in penalties), *logged]
        self._slot = {(id(p), player): len(MAIN_STATS) + i for i, (p, player) in enumerate(penalties)}
        self._logged = {name: len(MAIN_STATS) + len(penalties) + i for i, name in enumerate(logged)}
        #: Which regulariser each penalty statistic comes from (for messages naming it).
        self.penalty_of = {f"{p.name}_{player[0]}": p for p, player in penalties}
        self.counts = [0] * len(self.names)
        self.sums = torch.zeros(len(self.names), device=device)
        self._d_slots = torch.tensor([0, 2, 3], device=device)

    def add_d(self, loss: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> None:
        """D's loss and its mean outputs on the real and the generated batch (one kernel)."""
        self.sums.index_add_(0, self._d_slots, torch.stack([loss.detach().float(), real, fake]))
        for slot in (0, 2, 3):
            self.counts[slot] += 1

    def add_g(self, loss: torch.Tensor) -> None:
        self.sums[1] += loss.detach().float()
        self.counts[1] += 1

    def add_penalty(self, penalty: Penalty, player: str, value: torch.Tensor) -> None:
        slot = self._slot[id(penalty), player]
        self.sums[slot] += value.detach().float()
        self.counts[slot] += 1

    def add_logged(self, values: dict[str, torch.Tensor]) -> None:
        """What adaptive components report of themselves (ADA's p), once per step."""
        for name, value in values.items():
            slot = self._logged[name]
            self.sums[slot] += value.detach().float()
            self.counts[slot] += 1

    def take(self, mean=lambda sums: sums) -> dict[str, float]:
        """The averages since the last call of the statistics added since then (one host sync), and a reset.
        ``mean`` averages the sums over the processes of a distributed run."""
        counts = torch.tensor([max(c, 1) for c in self.counts], device=self.sums.device, dtype=torch.float32)
        values = (mean(self.sums) / counts).tolist()  # the sync
        seen = [c > 0 for c in self.counts]
        self.sums.zero_()
        self.counts[:] = [0] * len(self.counts)
        return {name: value for name, value, ok in zip(self.names, values, seen) if ok}


@dataclass
class Batch:
    """One update's inputs: a real batch with its labels, and the noise and labels of a generated batch."""

    real: torch.Tensor
    real_labels: torch.Tensor | None
    z: torch.Tensor
    fake_labels: torch.Tensor | None


@dataclass
class DPhase:
    """What D's phase leaves to the rest of the step."""

    batch: Batch  # the last D update's batch
    fake: torch.Tensor  # its generated samples, with G's graph: G's first update reuses them
    real_out: DOutput  # D's output on ``batch.real`` (detached): G's context reads it (relativistic losses)


def _scalar(value, owner: str, what: str) -> torch.Tensor:
    """A loss or penalty as the step needs it: a scalar tensor (its shape is known on the host: no sync)."""
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise PluginError(f"{owner} returned a {what} of {got}; it must be a scalar tensor (reduce it with .mean())")
    return value


@contextmanager
def frozen(parameters: list[nn.Parameter]):
    """G's update needs gradients *through* D, not D's own weight gradients: switch them off meanwhile."""
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in parameters:
            p.requires_grad_(True)


class Step(Drawing):
    """The phases of one step over a trainer's modules, players and data (read from the trainer at each step, since
    a resume may replace the batch source)."""

    def __init__(self, trainer) -> None:
        self.t = trainer
        self.precision = trainer.precision
        self.stats = trainer.stats

    def __call__(self) -> None:
        t = self.t
        if t.compiled is not None:
            t.compiled.step_begin()
        before = t.d.updates
        seen = self.d_phase()
        self.d_lazy(before, seen)
        before = t.g.updates
        with frozen(t.d_trainable):
            batch = self.g_phase(seen)
            self.g_lazy(before, batch, seen)
        self.finish()

    def d_lazy(self, before: int, seen: DPhase) -> None:
        """D's lazy regularisers due since ``before`` D updates, on the last D update's batches."""
        self.lazy_phase(self.t.d, before, lambda: self.d_context(seen.batch, seen.fake.detach()))

    def g_lazy(self, before: int, batch: Batch, seen: DPhase) -> None:
        """G's lazy regularisers due since ``before`` G updates (D frozen), on a fresh generated batch, since the last
        one's graph is spent."""
        if self.t.g.lazy:
            self.lazy_phase(self.t.g, before, lambda: self.g_context(
                batch, self.generate(batch.z, batch.fake_labels), seen.real_out))

    # -- the pieces every phase uses ------------------------------------------------------------------------------

    def draw(self) -> Batch:
        t, n = self.t, self.t.config.batch_size
        real = t.real(n)
        return Batch(real.samples, real.labels, torch.randn(n, t.config.latent_dim, device=t.device), t.fake_labels(n))

    # G as the step runs it; a StepContext's generate / noise / labels call these too (a second generated batch)
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        G = self.t.g_fwd
        return G(z, labels) if self.t.cond.generator else G(z)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.t.config.latent_dim, device=self.t.device)

    def labels(self, n: int) -> torch.Tensor | None:
        return self.t.fake_labels(n)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        for augment in self.t.augmentations:
            x = augment(x)
        return x

    def forward_d(self, D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> DOutput:
        return DOutput.of(D(x, labels) if self.t.cond.discriminator else D(x))

    def score(self, D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> DOutput:
        """D as every step sees it: augmented input, and the labels for a conditional D."""
        return self.forward_d(D, self.augment(x), labels)

    def d_inputs(self, batch: Batch, fake: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """What D's passes over both batches take, augmented: one input of 2B samples when D scores samples
        independently, else the real batch's and the generated batch's. (A population runs D on them batched.)"""
        if not self.t.joint_d:
            return [(self.augment(batch.real), batch.real_labels), (self.augment(fake), batch.fake_labels)]
        labels = torch.cat([batch.real_labels, batch.fake_labels]) if self.t.cond.discriminator else None
        return [(self.augment(torch.cat([batch.real, fake.to(batch.real.dtype)])), labels)]

    def d_outputs(self, outs: list[DOutput], n: int) -> tuple[DOutput, DOutput]:
        """D's outputs of :meth:`d_inputs`' passes as (real, generated)."""
        return outs[0].split(n) if len(outs) == 1 else (outs[0], outs[1])

    def score_both(self, D: nn.Module, batch: Batch, fake: torch.Tensor) -> tuple[DOutput, DOutput]:
        """D's outputs for both batches: one forward pass of 2B samples when D scores samples independently."""
        if not self.t.joint_d:  # augment, score, augment, score: a D that draws random numbers keeps its stream
            return self.score(D, batch.real, batch.real_labels), self.score(D, fake, batch.fake_labels)
        [(x, labels)] = self.d_inputs(batch, fake)
        return self.forward_d(D, x, labels).split(len(batch.real))

    def context(self, player: str, batch: Batch, fake: torch.Tensor, real_out: DOutput | None,
                fake_out: DOutput | None) -> StepContext:
        t = self.t
        return StepContext(batch.real, fake, t.D, batch.real_labels, batch.fake_labels, real_out, fake_out, batch.z,
                           player, t.step, scorer=lambda x, labels=None: self.score(t.D, x, labels), generator=t.G,
                           drawing=self)

    def d_context(self, batch: Batch, fake: torch.Tensor) -> StepContext:
        """D's context for a lazy regulariser's own step: fresh outputs for both batches, with gradients, as an
        eager one gets (through the plain D under DDP: a lazy step averages its gradients by hand)."""
        t = self.t
        real_out, fake_out = self.score_both(t.D if t.world.enabled else t.d_fwd, batch, fake)
        return self.context("discriminator", batch, fake, real_out, fake_out)

    def g_context(self, batch: Batch, fake: torch.Tensor, real_out: DOutput) -> StepContext:
        return self.context("generator", batch, fake, real_out, self.score(self.t.d_for_g, fake, batch.fake_labels))

    def penalty(self, player: Player, penalties: list[Penalty], ctx: StepContext,
                scale: int = 1) -> torch.Tensor | None:
        """The weighted sum of the player's penalties (each one's raw value goes into the statistics)."""
        total = None
        for pen in penalties:
            method = (pen.regulariser.discriminator_penalty if player.name == "discriminator"
                      else pen.regulariser.generator_penalty)
            value = _scalar(method(ctx), f"regulariser '{pen.name}'", "penalty")
            self.stats.add_penalty(pen, player.name, value)
            term = value.float() * (pen.weight * scale)
            total = term if total is None else total + term
        return total

    def _with_penalties(self, loss: torch.Tensor, player: Player, ctx: StepContext) -> torch.Tensor:
        penalty = self.penalty(player, player.eager, ctx)
        return loss if penalty is None else loss + penalty

    def d_loss(self, batch: Batch, fake: torch.Tensor, real_out: DOutput,
               fake_out: DOutput) -> tuple[StepContext, torch.Tensor]:
        """D's context and its loss with the eager penalties, from D's outputs on both batches."""
        t = self.t
        ctx = self.context("discriminator", batch, fake, real_out, fake_out)
        loss = _scalar(t.loss.discriminator_loss(real_out.logits, fake_out.logits, ctx), t.loss_owner, "D loss")
        return ctx, self._with_penalties(loss, t.d, ctx)

    def g_loss(self, ctx: StepContext) -> torch.Tensor:
        """G's loss with the eager penalties, from its context (D's output on the generated batch in it)."""
        t = self.t
        loss = _scalar(t.loss.generator_loss(ctx.fake_out.logits, ctx), t.loss_owner, "G loss")
        return self._with_penalties(loss, t.g, ctx)

    def observe(self, ctx: StepContext) -> None:
        for component in self.t.observers:  # adaptive components follow D's outputs (ADA's p)
            component.observe(ctx)

    def add_d_stats(self, loss: torch.Tensor, real_out: DOutput, fake_out: DOutput) -> None:
        t = self.t
        with torch.no_grad():
            self.stats.add_d(loss, t.d_output(real_out.logits.float()).mean(),
                             t.d_output(fake_out.logits.float()).mean())

    def redraw(self, batch: Batch) -> Batch:
        """The batch of a further G update: the same real samples, new noise and labels."""
        return Batch(batch.real, batch.real_labels, torch.randn_like(batch.z), self.t.fake_labels(len(batch.z)))

    # -- the phases -----------------------------------------------------------------------------------------------

    def d_phase(self) -> DPhase:
        """Dmain: ``d_steps`` updates of D on fresh batches; G's graph is kept only for the last batch's samples."""
        t = self.t
        for i in range(t.config.d_steps):
            batch = self.draw()
            keep_graph = i == t.config.d_steps - 1
            with self.precision.autocast:
                with nullcontext() if keep_graph else torch.no_grad():
                    fake = self.generate(batch.z, batch.fake_labels)
                real_out, fake_out = self.score_both(t.d_fwd, batch, fake.detach())
                ctx, loss = self.d_loss(batch, fake.detach(), real_out, fake_out)
            t.d.update(loss, self.precision.scaler)
            self.observe(ctx)
        self.add_d_stats(loss, real_out, fake_out)
        return DPhase(batch, fake, real_out.detach())

    def g_phase(self, seen: DPhase) -> Batch:
        """Gmain: ``g_steps`` updates of G through the frozen D; the first reuses D's last generated batch. Returns
        the last update's batch."""
        t, batch, fake = self.t, seen.batch, seen.fake
        for j in range(t.config.g_steps):
            if j > 0:
                batch = self.redraw(batch)
            with self.precision.autocast:
                if j > 0:
                    fake = self.generate(batch.z, batch.fake_labels)
                loss = self.g_loss(self.g_context(batch, fake, seen.real_out))
            t.g.update(loss, self.precision.scaler)
        self.stats.add_g(loss)
        return batch

    def lazy_phase(self, player: Player, before: int, context_of) -> None:
        """Dreg / Greg: each lazy regulariser due since ``before`` updates is an optimizer step of its own, scaled
        by its interval. Its graph does not pass through the DDP wrapper, so gradients are averaged by hand."""
        for pen in player.due(before):
            with self.precision.autocast:
                loss = self.penalty(player, [pen], context_of(), scale=pen.every)
            player.update(loss, self.precision.scaler, world=self.t.world if self.t.world.enabled else None,
                          main=False)

    def finish(self) -> None:
        """After the updates: the EMA generator follows G, and the schedules advance.

        The EMA warms up: its decay is min(ema, (1 + step) / (10 + step)), so it averages over about the last ninth
        of the steps until that reaches 1 / (1 - ema) steps. A fixed 0.999 would keep the random initial G in short
        runs' samples (97% of it after 30 steps). The decay depends on the step alone, so resuming stays exact."""
        t = self.t
        distributed.average_buffers(t.shared_buffers, t.world)  # plugin state agrees across the ranks
        for component in t.reporting:
            self.stats.add_logged(component.logged())
        if t.ema is not None:
            decay = min(t.config.ema, (1 + t.step) / (10 + t.step))
            torch._foreach_lerp_(t.ema_params, t.g_params, 1 - decay)
        for player in (t.d, t.g):
            if player.scheduler is not None:
                player.scheduler.step()
