"""Several members of a sweep trained as one population in one process.

Each member is an ordinary :class:`Trainer` (its own modules, optimizers, seed, plugin state, batch source and run
directory) driven by its own :class:`Loop` (metrics lines, samples, evaluations, checkpoints, divergence), so each
run directory ends up exactly as ``ganzoo train`` writes it. Only the step is shared: ``population_step.py`` runs the
members in lockstep with their forwards batched. A member that diverges, or whose plugin raises, stops alone with its
one-line error; the others go on. ``stacking.py`` says which members can share a population.

Each member's random stream is its separate run's: the one its trainer left after seeding and building, swapped in
around everything the member does. So a member trains as it would alone, up to the rounding of a batched matrix
product (about 1e-7 relative per product, which a GAN's dynamics may grow: tests/test_population.py measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import torch

from ..config import TrainConfig
from ..data.contract import Data
from ..errors import ConfigError, GanzooError, PluginError
from ..registry.registry import Registry
from ..run.progress import Reporter
from ..run.reporting import Reporters
from ..run.rundir import RunDir
from . import distributed
from .assemble import load_data
from .device import describe
from .loop import Loop, StopRequests
from .population_step import Member, PopulationStep
from .result import RunResult
from .stacking import StackGroup, difference, stack_groups

__all__ = ["StackGroup", "stack_groups", "train_population"]  # what a sweep calls
from .trainer import Trainer


class _MemberReporter(Reporter):
    """A member's progress, into the population's display: its steps counted, its notes named."""

    def __init__(self, population: Reporter, name: str) -> None:
        self.population, self.name = population, name

    def advance(self, steps: int = 1) -> None:
        self.population.advance(steps)

    def message(self, text: str) -> None:
        self.population.message(f"{self.name}: {text}")

    def progress(self, description: str, total: int):
        return self.population.progress(f"{self.name}: {description}", total)


def train_population(configs: Sequence[TrainConfig], run_dirs: Sequence[RunDir | str | Path], registry: Registry,
                     reporter: Reporter | None = None, resume_from: Sequence[dict | None] | None = None,
                     reporters: Sequence[Reporters | None] | None = None) -> list[RunResult | GanzooError]:
    """Train ``configs`` (resolved; the same architecture: see :func:`stack_groups`) as one population,
    member ``i`` into ``run_dirs[i]``, resuming it from ``resume_from[i]`` (its checkpoint, as
    ``load_checkpoint(RunDir(...).latest)`` reads it, with ``configs[i]`` the checkpoint's config and any new
    ``steps``) when given. Returns one entry per member: its :class:`RunResult`, or the one-line error that stopped
    it alone. Members that cannot share a population are refused first (:class:`ConfigError`, naming the member)."""
    n = len(configs)
    for name, given in (("run_dirs", run_dirs), ("resume_from", resume_from), ("reporters", reporters)):
        if given is not None and len(given) != n:
            raise ConfigError(f"train_population: {n} configs but {len(given)} {name}")
    if not n:
        return []
    if distributed.world_from_env().enabled:
        raise ConfigError("a population trains in one process: start it without torchrun")
    why = difference(registry, configs)
    if why:
        raise ConfigError(f"these members cannot train as one population: {why}")
    return _Population(registry, reporter or Reporter()).train(
        configs, [d if isinstance(d, RunDir) else RunDir(d) for d in run_dirs],
        resume_from or [None] * n, reporters or [None] * n)


class _Population:
    """One population's session: its members, what each ended with, and the display they share."""

    def __init__(self, registry: Registry, reporter: Reporter) -> None:
        self.registry, self.reporter = registry, reporter
        self.outcomes: dict[int, RunResult | GanzooError] = {}
        self.live: list[Member] = []
        self._data: dict[str, Data | None] = {}

    def train(self, configs, run_dirs, resume_from, reporters) -> list[RunResult | GanzooError]:
        for i, (config, run_dir) in enumerate(zip(configs, run_dirs)):
            try:
                trainer = Trainer(config, self.registry, run_dir, _MemberReporter(self.reporter, _name(i, run_dir)),
                                  resume_from=resume_from[i], reporters=reporters[i], data=self._shared_data(config))
            except GanzooError as err:
                self.outcomes[i] = err
                self.reporter.message(f"{_name(i, run_dir)}: {err}")
                continue
            member = Member(i, trainer)
            member.existed, member.new_run = run_dir.path.exists(), trainer.step == 0
            member.held = member.opened = False
            self.live.append(member)
        if self.live:
            self._session()
        return [self.outcomes[i] for i in range(len(configs))]

    def _shared_data(self, config: TrainConfig) -> Data | None:
        """The members' dataset, loaded once for all that share it; unless loading draws from torch's random
        stream, which each member's separate run would draw after its own seed (then each member loads its own)."""
        key = config.data_key()
        if key not in self._data:
            before = torch.get_rng_state()
            data = load_data(self.registry, config)
            self._data[key] = data if torch.equal(torch.get_rng_state(), before) else None
        return self._data[key]

    def _session(self) -> None:
        first = self.live[0].trainer
        total, done = sum(m.trainer.config.steps for m in self.live), sum(m.trainer.step for m in self.live)
        self.reporter.start(total, done, f"ganzoo: training a population of {len(self.live)} members "
                                         f"({first.config.label()}...) on {describe(first.device)}, batch "
                                         f"{first.config.batch_size}, their forwards batched")
        with ExitStack() as held:
            try:
                for m in list(self.live):
                    self._guarded(m, lambda m=m: self._lock(m, held))
                for m in list(self.live):
                    self._guarded(m, lambda m=m: self._open(m))
                with StopRequests() as stop:
                    for m in self.live:
                        m.loop = Loop(m.trainer, stop)
                        m.loop.begin()
                    self._loop(PopulationStep(first, self.fail, self.reporter.message))
            except BaseException:  # interrupted, or ganzoo's own bug: every member still training stops as it is
                for m in self.live:
                    if m.opened:
                        m.trainer.reporters.end(m.trainer.step, "failed", None)
                    m.trainer.release()
                raise
            finally:
                self.reporter.stop()

    def _lock(self, member: Member, held: ExitStack) -> None:
        held.enter_context(member.trainer.run_dir.training_lock())  # held until the whole population ends
        member.held = True

    def _open(self, member: Member) -> None:
        member.trainer.open()
        member.opened = True
        member.trainer.prepare()

    def _loop(self, step: PopulationStep) -> None:
        while True:
            for m in [m for m in self.live if not m.loop.going()]:
                self._guarded(m, lambda m=m: self._finish(m))
            if not self.live:
                return
            for m in step(list(self.live)):
                self._guarded(m, lambda m=m: m.loop.advance())

    def _guarded(self, member: Member, fn) -> None:
        """``fn`` in the member's turn; if it raises, the member stops with its error."""
        try:
            with member.turn():
                fn()
        except Exception as err:  # noqa: BLE001 - the member's own failure: it stops alone
            self.fail(member, err)

    def _finish(self, member: Member) -> None:
        trainer = member.trainer
        result = member.loop.end()
        self.live.remove(member)
        trainer.release()
        self.outcomes[member.index] = trainer.close(result)

    def fail(self, member: Member, err: Exception, where: str | None = None) -> None:
        """Stop ``member`` with the one-line error ``err`` stands for; an error nothing explains is ganzoo's own bug,
        raised for the whole population (the members keep their last checkpoints)."""
        trainer = member.trainer
        explained = trainer.explain(err, where)
        if not isinstance(explained, GanzooError):
            raise err
        if member in self.live:
            self.live.remove(member)
        if member.opened:
            trainer.reporters.end(trainer.step, "failed", None)
        trainer.release()
        if member.held and member.new_run and isinstance(explained, (ConfigError, PluginError)):
            trainer.run_dir.discard_unstarted(member.existed)  # nothing half-started left: the same plan can rerun
        self.outcomes[member.index] = explained
        self.reporter.message(f"{_name(member.index, trainer.run_dir)} stopped: {explained}")


def _name(index: int, run_dir: RunDir) -> str:
    return f"member {index} ({run_dir.path.name})"
