"""One training step of several members at once: step.py's phases, each member's G and D forwards batched.

The members share an architecture (``stacking.py``), so G's forward for all of them is one vmapped call over their
stacked weights, and so is each of D's. The rest of the step is each member's own, through its :class:`Step`'s
pieces: its batches, noise and labels drawn from its own random stream (swapped in around each of its turns, in the
order its separate run draws them), its augmentations, loss, regularisers (a gradient penalty runs the member's own
D, outside vmap), observers, lazy regularisers' steps, EMA and schedules. The members' losses are summed and
differentiated once: each member's gradient is that of its own loss, since its slice of the stacked weights is a
differentiable copy of its own. Then each member's optimizer steps as in its separate run.

A member whose own code raises drops out of the step with its error (naming the phase), and the others go on. So
does one whose module raises inside a batched forward: when a batched forward raises, each member runs its own
module's forward instead, in its turn, so the error is charged to the member whose call raises it. When every
member's own forward works, it is the batched call that cannot run (an op vmap lacks, met only mid-training: a
module reading a tensor's value): the population says so once and goes on with each member's own forwards. A
failure of the shared backward or optimizer step (ganzoo's own code) still stops every member in it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, contextmanager, nullcontext

import torch

from ..errors import first_line
from .blame import PHASES
from .contracts import DOutput
from .stacking import Stacked, unstack
from .step import Batch, DPhase, frozen


class Member:
    """One member of a population: its trainer, and the random stream of its separate run, swapped in for its turns."""

    def __init__(self, index: int, trainer) -> None:
        self.index, self.trainer, self.step = index, trainer, trainer.step_phases
        self.cuda = trainer.device if trainer.device.type == "cuda" else None
        # taken right after the trainer was built: its seed, its initial weights drawn, exactly as its separate run
        self.cpu_rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state(self.cuda) if self.cuda is not None else None
        self.loop = None

    @contextmanager
    def turn(self):
        torch.set_rng_state(self.cpu_rng)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda_rng, self.cuda)
        try:
            yield
        finally:
            self.cpu_rng = torch.get_rng_state()
            if self.cuda is not None:
                self.cuda_rng = torch.cuda.get_rng_state(self.cuda)


class _NoneLeft(Exception):
    """Every member of the step has stopped."""


class Turns:
    """The members still in a step. ``each`` runs a member's own code in its turn (one that raises leaves, through
    ``fail``); ``together`` runs a batched call over all of them (one that raises stops them all)."""

    def __init__(self, members: list[Member], fail: Callable[[Member, Exception, str | None], None]) -> None:
        self.going, self.fail = list(members), fail
        #: The phase running, for messages (a traceback caught here does not reach the phase's frame).
        self.phase: str | None = None

    def each(self, fn: Callable[[Member], object], own: bool = True) -> dict[Member, object]:
        """``fn(member)`` for each member, in its turn (``own=False``: core code that draws no random numbers, which
        needs no turn)."""
        done = {}
        for member in list(self.going):
            try:
                with member.turn() if own else nullcontext():
                    done[member] = fn(member)
            except Exception as err:  # noqa: BLE001 - the member's own failure: it stops alone
                self.going.remove(member)
                self.fail(member, err, self.phase)
        if not self.going:
            raise _NoneLeft
        return done

    def together(self, fn: Callable[[list[Member]], object]):
        """``fn(members)``, one call over every member still going; if it raises, all of them stop with its error."""
        try:
            return fn(self.going)
        except Exception as err:  # noqa: BLE001 - shared by all: each member stops with it
            stopped, self.going = self.going, []
            for member in stopped:
                self.fail(member, err, self.phase)
            raise _NoneLeft from None


#: torch's optimizers whose step is elementwise in each parameter: one step over several members' parameters (their
#: hyperparameters as groups, their own state dicts shared) is each member's own step, bit for bit.
ELEMENTWISE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop, torch.optim.SGD)


def _plain(value) -> bool:
    """A setting whose ``repr`` tells it apart from every other value."""
    if isinstance(value, tuple | list):
        return all(map(_plain, value))
    return value is None or isinstance(value, bool | int | float | str)


class JointOptimizers:
    """Several members' optimizers stepped as one, per optimizer class: a step's Python overhead, paid once instead of
    once per member (on a CPU, most of a small model's optimizer time). Members with equal hyperparameters share one
    param group and one fused or foreach kernel. Others (a plugin's optimizer, one with hooks) step alone."""

    def __init__(self) -> None:
        self._joint: dict[type, torch.optim.Optimizer] = {}

    def step(self, optimizers: list[torch.optim.Optimizer]) -> set[int]:
        """Step those of ``optimizers`` that can go together; returns their ids."""
        by_class: dict[type, list[torch.optim.Optimizer]] = {}
        for opt in optimizers:
            if type(opt) in ELEMENTWISE and not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks:
                by_class.setdefault(type(opt), []).append(opt)
        done = set()
        for cls, group in by_class.items():
            if len(group) < 2:
                continue
            groups, state = {}, {}
            for opt in group:
                for g in opt.param_groups:
                    settings = {k: v for k, v in g.items() if k != "params"}
                    # equal settings share a group; a tensor's repr may hide a difference: such a group stays alone
                    key = repr(sorted(settings.items())) if all(map(_plain, settings.values())) else id(g)
                    joined = groups.setdefault(key, {**settings, "params": []})
                    joined["params"] += g["params"]
                    state.update((p, opt.state[p]) for p in g["params"])  # the member's own dicts: updated in place
            joint = self._joint.get(cls)
            if joint is None:  # an empty optimizer of the class, as unpickling makes one
                joint = self._joint[cls] = cls.__new__(cls)
                joint.__setstate__({"defaults": dict(group[0].defaults), "state": {}, "param_groups": []})
            joint.param_groups, joint.state = list(groups.values()), state
            cls.step(joint)  # the class's step: an instance's may be wrapped (a schedule counts its calls there)
            joint.param_groups, joint.state = [], {}
            done.update(id(opt) for opt in group)
        return done


class PopulationStep:
    """The step of a population, built once from its first member's modules (the template of the batched calls) and
    called with the members still training."""

    def __init__(self, first, fail: Callable[[Member, Exception, str | None], None],
                 say: Callable[[str], None] | None = None) -> None:
        self.G, self.D = Stacked(first.G), Stacked(first.D)
        self.cond, self.config, self.fail = first.cond, first.config, fail
        self.say = say or (lambda text: None)
        self.optimizers = JointOptimizers()
        #: The forwards ("G", "D") that proved unable to run batched: each member runs its own from then on.
        self.alone: set[str] = set()

    def __call__(self, members: list[Member]) -> list[Member]:
        """One step of ``members``; returns those that came through it."""
        turns = Turns(members, self.fail)
        try:
            before = turns.each(lambda m: m.trainer.d.updates, own=False)
            turns.phase = PHASES["d_phase"]
            seen = self.d_phase(turns)
            turns.each(lambda m: m.step.d_lazy(before[m], seen[m]))
            before = turns.each(lambda m: m.trainer.g.updates, own=False)
            turns.phase = PHASES["g_phase"]
            with ExitStack() as stack:
                for m in turns.going:
                    stack.enter_context(frozen(m.trainer.d_trainable))
                batches, losses = self.g_phase(turns, seen)

                def lazy(m):  # one turn (the traceback names a lazy step's phase)
                    m.step.stats.add_g(losses[m])
                    m.step.g_lazy(before[m], batches[m], seen[m])
                turns.each(lazy)
            turns.each(lambda m: m.step.finish())  # D unfrozen, as in step.py
        except _NoneLeft:
            pass
        return turns.going

    # -- the batched calls ----------------------------------------------------------------------------------------

    def forward(self, turns: Turns, which: str, batched: Callable[[list[Member]], dict],
                own: Callable[[Member], object]) -> dict:
        """``batched(members)`` over every member; where it raises, each member's ``own`` forward in its turn (a
        member whose own forward raises stops alone). If none of those raises, the batched call is what cannot run:
        said once, and ``which`` runs each member's own forward from then on."""
        if which in self.alone:
            return turns.each(own)
        try:
            return batched(turns.going)
        except Exception as err:  # noqa: BLE001 - charged below to the member whose own forward raises it, if any
            going = len(turns.going)
            outs = turns.each(own)
            if len(turns.going) == going:
                self.alone.add(which)
                self.say(f"{which}'s batched forward raised ({first_line(err)}) where each member's own does not: "
                         f"the population goes on with each member's own {which} forward")
            return outs

    def generate(self, turns: Turns, batches: dict[Member, Batch]) -> dict[Member, torch.Tensor]:
        def run(members):
            z = torch.stack([batches[m].z for m in members])
            labels = [torch.stack([batches[m].fake_labels for m in members])] if self.cond.generator else []
            return dict(zip(members, unstack(self.G([m.trainer.G for m in members], z, *labels), len(members))))

        def own(m):
            return m.step.generate(batches[m].z, batches[m].fake_labels)
        return self.forward(turns, "G", run, own)

    def score(self, turns: Turns, inputs: dict[Member, list]) -> dict[Member, list[DOutput]]:
        """D's passes over each member's inputs (``Step.d_inputs``' layout: a list of (x, labels)), batched."""
        def run(members):
            outs = {m: [] for m in members}
            for k in range(len(inputs[members[0]])):
                x = torch.stack([inputs[m][k][0] for m in members])
                labels = [torch.stack([inputs[m][k][1] for m in members])] if self.cond.discriminator else []
                batched = self.D([m.trainer.D for m in members], x, *labels)
                for m, out in zip(members, unstack(batched, len(members))):
                    outs[m].append(DOutput.of(out))
            return outs

        def own(m):
            return [m.step.forward_d(m.trainer.D, x, labels) for x, labels in inputs[m]]
        return self.forward(turns, "D", run, own)

    def update(self, turns: Turns, player: str, losses: dict[Member, torch.Tensor], after=None) -> None:
        """Each member's ``player`` steps on its own loss: one backward pass over the sum, then the optimizers (jointly
        where they can), then each member's constraints and ``after``."""
        players = {m: getattr(m.trainer, player) for m in turns.going}
        for p in players.values():
            for group in p.optimizer.param_groups:  # zero_grad(set_to_none=True), without its overhead per member
                for param in group["params"]:
                    param.grad = None
        turns.together(lambda members: torch.stack([losses[m] for m in members]).sum().backward())
        joint = turns.together(lambda members: self.optimizers.step([players[m].optimizer for m in members]))

        def apply(m):
            if id(players[m].optimizer) in joint:
                players[m].stepped()
            else:
                players[m].apply(m.step.precision.scaler)
            if after is not None:
                after(m)
        turns.each(apply)

    # -- the phases (step.py's, batched) --------------------------------------------------------------------------

    def d_phase(self, turns: Turns) -> dict[Member, DPhase]:
        for i in range(self.config.d_steps):
            batches, fakes, done = self.d_update(turns, keep_graph=i == self.config.d_steps - 1)
        turns.each(lambda m: m.step.add_d_stats(*done[m][1:]), own=False)
        return {m: DPhase(batches[m], fakes[m], done[m][2].detach()) for m in turns.going}

    def d_update(self, turns: Turns, keep_graph: bool):
        """One D update of every member on fresh batches; G's graph is kept for the last one's samples only."""
        batches = turns.each(lambda m: m.step.draw())
        with nullcontext() if keep_graph else torch.no_grad():
            fakes = self.generate(turns, batches)
        inputs = turns.each(lambda m: m.step.d_inputs(batches[m], fakes[m].detach()))
        outs = self.score(turns, inputs)

        def loss(m):
            real_out, fake_out = m.step.d_outputs(outs[m], len(batches[m].real))
            ctx, value = m.step.d_loss(batches[m], fakes[m].detach(), real_out, fake_out)
            return ctx, value, real_out, fake_out
        done = turns.each(loss)
        self.update(turns, "d", {m: done[m][1] for m in turns.going}, after=lambda m: m.step.observe(done[m][0]))
        return batches, fakes, done

    def g_phase(self, turns: Turns, seen: dict[Member, DPhase]):
        """G's updates; returns each member's last batch and loss."""
        batches = {m: seen[m].batch for m in turns.going}
        for j in range(self.config.g_steps):
            batches, losses = self.g_update(turns, seen, batches, fresh=j > 0)
        return batches, losses

    def g_update(self, turns: Turns, seen: dict[Member, DPhase], batches: dict[Member, Batch], fresh: bool):
        """One G update of every member through its frozen D: the first on D's last generated batch, further ones
        (``fresh``) on new noise and labels."""
        if fresh:
            batches = turns.each(lambda m: m.step.redraw(batches[m]))
            fakes = self.generate(turns, batches)
        else:
            fakes = {m: seen[m].fake for m in turns.going}
        inputs = turns.each(lambda m: [(m.step.augment(fakes[m]), batches[m].fake_labels)])
        outs = self.score(turns, inputs)
        losses = turns.each(lambda m: m.step.g_loss(
            m.step.context("generator", batches[m], fakes[m], seen[m].real_out, outs[m][0])))
        self.update(turns, "g", losses)
        return batches, losses
