"""What a sweep engine runs: units of work, each one process's worth, and the contract an engine plugin fulfils.

A unit is one member, or several trained as one population, with its share of threads. An engine decides where
units run (child processes here, Ray tasks on a cluster, batch jobs) and how many at once; each unit runs
:mod:`ganzoo.sweep.worker`, which writes its members' run directories and outcomes into the sweep directory, so
an engine only starts units and waits: nothing comes back through it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SweepUnit:
    """One process's work.

    - ``sweep_dir``: the sweep directory (on storage every machine that runs units can reach).
    - ``names``: the members it trains.
    - ``threads``: its share of the cores (the worker sets ``torch.set_num_threads``).
    - ``population``: train the members as one population (stacked), else one after another.
    - ``why``: how it runs, and why, for the sweep's plan table.
    - ``gpu``: the GPU it is given (its ``CUDA_VISIBLE_DEVICES``: an id as the sweep's process sees it), or None.
    """

    sweep_dir: Path
    names: tuple[str, ...]
    threads: int
    population: bool = False
    why: str = ""
    gpu: str | None = None

    @property
    def argv(self) -> list[str]:
        """The command that runs the unit in a fresh process (with this Python); where it trains several members in
        turn, each one's output goes to its own ``SWEEP/logs/NAME.log``."""
        return [sys.executable, "-m", "ganzoo.sweep.worker", str(self.sweep_dir), *self.names,
                "--threads", str(self.threads), *(["--population"] if self.population else []),
                "--logs", str(self.log_dir)]

    @property
    def log_dir(self) -> Path:
        """Where its members' output goes when it runs in a process of its own: ``NAME.log`` each."""
        return self.sweep_dir / "logs"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of its process: the thread share (OpenMP reads it at start) and its GPU."""
        env = dict(os.environ if base is None else base)
        env.update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu)
        return env

    def run(self) -> int:
        """Run the unit in this process (for an engine whose tasks are Python calls): 0, or 130 if interrupted."""
        from .worker import run_unit

        return run_unit(self.sweep_dir, list(self.names), self.threads, self.population)


class Engine:
    """Base class of sweep engines (``ganzoo sweep --engine NAME``): override :meth:`run`."""

    #: Whether units run on this machine, reading the files this process sees: then a member's named metrics are
    #: checked here, against its data, before anything trains. An engine for a cluster says False.
    runs_here: bool = True

    def run(self, units: list[SweepUnit], jobs: int, tick: Callable[[], None]) -> list[int]:
        """Run every unit, at most ``jobs`` at once, and return each one's exit status (0: its members ended,
        130: interrupted, anything else: it crashed). Call ``tick()`` every second or so while waiting: it
        refreshes the sweep's progress display. A Ctrl-C (KeyboardInterrupt) must stop the units (each member
        then saves a checkpoint) before it propagates."""
        raise NotImplementedError

    def default_jobs(self) -> int | None:
        """How many units run at once when the user gives no ``--jobs``: an engine that reaches beyond this machine
        says what it can reach (a cluster's CPUs); None: this machine's GPUs, else its thread budget."""
        return None
