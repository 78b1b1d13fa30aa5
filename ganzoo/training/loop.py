"""What the training loop does between steps, each in one place: the time limit and the ranks' agreement to stop,
metrics lines, evaluations, sample images and checkpoints.

The loop itself is ``Loop.run``: a step, then :meth:`Loop.after_step`. Each side effect reads the trainer's state
and the loop's clocks; none of them runs inside a step, so a step never waits for the host.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

from ..errors import TrainingDiverged
from ..run.checkpoint import atomic_write
from ..run.plot import loss_png
from ..run.rundir import RunDir
from . import distributed
from .device import describe
from .memory import release_host_memory
from .result import RunResult
from .step import MAIN_STATS


class StopRequests:
    """The first Ctrl-C or SIGTERM asks the loop to stop after the current step (and save); a second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> StopRequests:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (e.g. a notebook worker): leave signals alone
            self._previous.clear()
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Loop:
    """One training session of a trainer: steps until the end, the time limit or a stop request."""

    def __init__(self, trainer, stop: StopRequests) -> None:
        self.trainer, self.stop = trainer, stop
        self.started = self.clock = time.perf_counter()
        self.window_clock, self.window_step, self.first_step = self.clock, trainer.step, trainer.step
        self.last_sample: Path | None = None
        self.final: dict[str, float] = {}
        self.evals: dict[str, float] = {}
        self.stopping = self.out_of_time = False
        # when the last evaluation ended and at which step: evaluating longer than the training in between is worth
        # a note (once)
        self.eval_clock, self.eval_step, self.eval_warned = self.clock, trainer.step, False

    def run(self):
        self.begin()
        while self.going():
            self.trainer.train_step()
            self.advance()
        return self.end()

    # A population (population.py) drives one Loop per member through these: its step replaces train_step.

    def begin(self) -> None:
        self.trainer.G.train(), self.trainer.D.train()

    def going(self) -> bool:
        """Whether another step is due: not at the last step, not out of time, not asked to stop."""
        return self.trainer.step < self.trainer.config.steps and not self.stopping and not self.out_of_time

    def advance(self) -> None:
        """The bookkeeping of a step just taken: count it, then everything due after it."""
        t = self.trainer
        t.step += 1
        t.reporter.advance()
        self.out_of_time = self.after_step()

    def end(self):
        """The session's last checkpoint and its :class:`RunResult`."""
        t, cfg = self.trainer, self.trainer.config
        t.elapsed += time.perf_counter() - self.clock
        session = time.perf_counter() - self.started
        stopped = self.stop.signal if self.stop.signal is not None else (signal.SIGTERM if self.stopping else None)
        t.save(periodic=stopped is None and bool(cfg.checkpoint_every))
        return RunResult(
            run_dir=t.run_dir.path, label=cfg.label(), device=describe(t.device), step=t.step,
            total_steps=cfg.steps, seconds=session, steps_per_sec=(t.step - self.first_step) / max(session, 1e-9),
            final=self.final, last_sample=self.last_sample, metrics=self.evals,
            interrupted=signal.Signals(stopped).name if stopped is not None else None,
            generator=t.G, discriminator=t.D, is_main=t.world.is_main,
            plugin_states={key: obj.state_dict() for key, obj in t.plugin_states.items()},
        )

    def after_step(self) -> bool:
        """Everything due after this step; True when the time limit ends the session here."""
        t, cfg = self.trainer, self.trainer.config
        out_of_time = cfg.time_limit is not None and time.perf_counter() - self.started >= cfg.time_limit
        # ranks must stop at the same step: they agree at log steps (single process: at once, no collective)
        # (every 10 steps at most: torchrun kills the ranks 30 s after forwarding a signal)
        out_of_time, self.stopping = distributed.agree(out_of_time, self.stop.signal is not None,
                                                       t.step % min(cfg.log_every, 10) == 0, t.device, t.world)
        last = t.step == cfg.steps or out_of_time
        line = self.metrics_line() if t.step % cfg.log_every == 0 or last else None
        record = line
        if t.evaluator is not None and (t.step % cfg.eval_every == 0 or last):
            record = self.evaluate(record)
        if record is not None and t.world.is_main:
            t.run_dir.append_metrics(record)
            t.reporter.log(record)
            if line is not None:
                t.reporters.metrics(t.step, {k: v for k, v in line.items() if k not in ("step", "time")})
            if record is not line:
                t.reporters.evaluation(t.step, dict(self.evals))
        if ((cfg.sample_every and t.step % cfg.sample_every == 0) or last) and t.world.is_main:
            self.last_sample = t.write_samples()
            t.reporters.sample(t.step, self.last_sample)
        if cfg.checkpoint_every and t.step % cfg.checkpoint_every == 0 and not last:
            t.elapsed += time.perf_counter() - self.clock
            self.clock = time.perf_counter()
            t.save(periodic=True)
        return out_of_time

    def metrics_line(self) -> dict:
        """The statistics averaged since the last line (one host sync), with the time and speed of the window."""
        t, cfg = self.trainer, self.trainer.config
        values = t.stats.take(lambda sums: distributed.mean_(sums, t.world))  # one sync
        now = time.perf_counter()  # after the sync, so queued GPU work counts in this window
        record = {"step": t.step, "time": round(t.elapsed + now - self.clock, 3), **values,
                  "steps_per_sec": (t.step - self.window_step) / max(now - self.window_clock, 1e-9)}
        if t.world.enabled:
            record.update(world_size=t.world.size, global_batch=cfg.batch_size * t.world.size)
        self.window_clock, self.window_step = now, t.step
        release_host_memory()  # a double backward's freed buffers would otherwise pile up in the C heap
        if not all(math.isfinite(v) for v in values.values()):
            raise TrainingDiverged(divergence_message(t, record))
        self.final = record
        return record

    def evaluate(self, record: dict | None) -> dict:
        t = self.trainer
        start = time.perf_counter()
        training = start - self.eval_clock  # since the last evaluation ended: training, samples, checkpoints
        self.evals = t.evaluator(t.sampler, t.config.eval_samples)
        took = time.perf_counter() - start
        self.eval_clock = time.perf_counter()
        full_interval = t.step - self.eval_step >= t.config.eval_every
        self.eval_step = t.step
        if full_interval and took > training and not self.eval_warned:  # e.g. Inception features on a CPU
            self.eval_warned = True
            t.reporter.message(f"note: evaluating {t.config.eval_samples} samples took {took:.0f} s, longer than "
                               f"the {training:.0f} s of training between two evaluations (--eval-every "
                               f"{t.config.eval_every}); raise --eval-every or lower --eval-samples")
        at = {"step": t.step, "time": round(t.elapsed + time.perf_counter() - self.clock, 3)}
        self.window_clock = time.perf_counter()  # evaluation time is not training speed
        return {**(record or at), **self.evals}


def divergence_message(t, record: dict) -> str:
    values = ", ".join(f"{k}={record[k]}" for k in MAIN_STATS if k in record)
    kept = (f"the last good checkpoint is kept in {t.run_dir.latest}" if t.run_dir.latest.is_file()
            else "no checkpoint had been written yet")
    return (
        f"training diverged by step {record['step']} ({values}); {kept}. Try lower learning rates "
        f"(--lr-d/--lr-g), label smoothing (--set loss.real_label=0.9) or another loss"
    )


def write_loss_curve(run_dir: RunDir, label: str) -> None:
    """``loss_curve.png``: D and G losses over the run, from ``metrics.jsonl``."""
    records = [r for r in run_dir.read_metrics() if "d_loss" in r and "g_loss" in r]  # evaluation lines have none
    if not records:
        return
    steps, d_loss, g_loss = ([r[k] for r in records] for k in ("step", "d_loss", "g_loss"))
    atomic_write(run_dir.loss_curve, lambda f: loss_png(f, steps, d_loss, g_loss, title=f"losses: {label}"))
