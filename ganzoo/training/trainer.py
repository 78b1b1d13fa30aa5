"""The trainer: builds a config's components into one training run and owns its state — the modules, the players,
the data, checkpoints and samples — while the step's phases live in ``step.py`` and what happens between steps
(metrics, samples, evaluation, checkpoints, the time limit, the ranks' agreement to stop) in ``loop.py``.

The data lives on the device as one tensor (uint8 for images) and batches are drawn by index, or, for a dataset over
the memory budget, stream from the host (``batches.py``); G(z) is computed once per step and reused (detached) for
D; statistics stay on the device and are read only when a metrics line is logged, so a step never synchronises with
the GPU.
"""

from __future__ import annotations

import copy
import os
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from ..config import TrainConfig
from ..data.batches import real_batches
from ..data.contract import Data
from ..data.fingerprint import data_record
from ..errors import (
    CheckpointError,
    ConfigError,
    GanzooError,
    OutputError,
    PluginError,
    TrainingDiverged,
    first_line,
)
from ..registry.registry import Registry
from ..run.checkpoint import CHECKPOINT_FIX, atomic_write, save_checkpoint
from ..run.evaluation import evaluator_for
from ..run.progress import Reporter
from ..run.reporting import Reporters, RunInfo
from ..run.rundir import RunDir
from ..run.samples import generate, noise, save_png
from . import distributed
from .assemble import Penalty, assemble
from .blame import Culprits, phase
from .compiled import compile_error, compile_models, resolve_mode
from .conditioning import LabelSampler
from .device import describe, resolve_device
from .distributed import World
from .loop import Loop, StopRequests, write_loss_curve
from .owners import live_components, plugin_states
from .players import players_for
from .result import RunResult
from .step import Precision, Step, StepStats
from .trial import trial_step

SAMPLE_COUNT = {"image": 64, "points": 1000}


def _scores_per_sample(spec, D: nn.Module) -> bool:
    """Whether real and generated batches may share D's forward pass: the plugin promises it (``per_sample``) and no
    BatchNorm layer (batch statistics would mix real and generated samples) says otherwise."""
    return spec.per_sample and not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())


def _host_out_of_memory(err: RuntimeError) -> bool:
    """Whether torch's CPU allocator (or another device's) ran out: torch raises a plain RuntimeError there."""
    text = str(err)
    return "can't allocate memory" in text or "not enough memory" in text or "out of memory" in text.lower()


class Trainer:
    """Builds the components of a config and trains them, writing everything into a run directory."""

    def __init__(self, config: TrainConfig, registry: Registry, run_dir: RunDir, reporter: Reporter | None = None,
                 resume_from: dict | None = None, world: World | None = None,
                 reporters: Reporters | None = None, data_changed_ok: bool = False, data: Data | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        self.world = world or World()
        self.reporter = (reporter or Reporter()) if self.world.is_main else Reporter()
        #: The run's event reporters (plugins: TensorBoard, MLflow...); rank 0 alone reports.
        self.reporters = (reporters or Reporters()) if self.world.is_main else Reporters()
        self.device = distributed.device_for(self.world, config.device) if self.world.enabled \
            else resolve_device(config.device)
        torch.manual_seed(config.seed)
        parts = assemble(registry, config, data)
        self.data, self.cond = parts.data, parts.conditioning
        self.real = real_batches(parts.data, self.cond.real_labels, self.device, config.batch_size,
                                 distributed.rank_seed(config.seed, self.world.rank), config.data_memory)
        self.fake_labels = LabelSampler(self.cond, parts.data.labels, config.label_dist, self.device)
        self.G = parts.generator.to(self.device)
        self.D = parts.discriminator.to(self.device)
        self.loss, self.augmentations = parts.loss, parts.augmentations
        self.loss_owner = f"loss '{config.loss.name}'"
        # what the D(x) / D(G(z)) statistics show: probabilities for BCE losses, raw outputs for critics
        self.d_output = torch.sigmoid if self.loss.probability_outputs else (lambda logits: logits)
        self.g, self.d = players_for(registry, config, self.G, self.D, parts.penalties, parts.constraints)
        self.penalties: list[tuple[Penalty, str]] = [(p, player) for p in parts.penalties for player in p.players]
        self.ema = copy.deepcopy(self.G).requires_grad_(False) if config.ema else None
        self.g_params = list(self.G.parameters())
        self.ema_params = list(self.ema.parameters()) if self.ema is not None else []
        self.d_trainable = [p for p in self.D.parameters() if p.requires_grad]
        self.joint_d = _scores_per_sample(registry.get("discriminator", config.discriminator.name), self.D)
        if self.world.enabled:  # same initial weights everywhere (DDP broadcasts rank 0's), different batches and z
            torch.manual_seed(distributed.rank_seed(config.seed, self.world.rank))
        d_spec = registry.get("discriminator", config.discriminator.name)
        G_loop, D_loop = distributed.wrap(self.G, self.D, self.device, self.world, bool(d_spec.outputs))
        # The loop calls these; with --compile they are compiled wrappers around the same modules (see compiled.py).
        resolve_mode(config.compile_mode, self.device)  # a misspelt mode is an error even while --compile is off
        self.compiled = compile_models(G_loop, D_loop, self.device, config.compile_mode) if config.compile else None
        self.g_fwd = self.compiled.generator if self.compiled else G_loop
        self.d_fwd = self.compiled.discriminator if self.compiled else D_loop
        # G's update must not go through a DDP-wrapped D: D's weights get no gradient there, and DDP would wait for it
        self.d_for_g = self.D if self.world.enabled else self.d_fwd
        self.precision = Precision(self._amp_dtype(), self.device)
        self.step, self.elapsed = 0, 0.0
        #: What the steps accumulate between two metrics lines.
        #: Components that adapt to D's outputs (``observe(ctx)`` after each D update) and that report values of
        #: their own (``logged() -> {name: tensor}``, averaged into the metrics lines like the losses).
        steppers = [self.loss, *self.augmentations, *(p.regulariser for p in parts.penalties)]
        self.observers = [c for c in steppers if callable(getattr(c, "observe", None))]
        self.reporting = [c for c in steppers if callable(getattr(c, "logged", None))]
        logged = tuple(name for c in self.reporting for name in c.logged())
        self.stats = StepStats(self.penalties, self.device, logged)
        self.reporter.shown = logged
        self.step_phases = Step(self)
        self.sample_labels = self.cond.grid_labels(sorted(set(parts.data.labels.tolist()))
                                                   if parts.data.labels is not None else None,
                                                   SAMPLE_COUNT[self.data.spec.kind])
        count = len(self.sample_labels) if self.sample_labels is not None else SAMPLE_COUNT[self.data.spec.kind]
        self.sample_z = noise(count, config.latent_dim, config.seed + 1, self.device)
        # built before anything trains, on every rank: a named metric that cannot run here is refused by all of them
        # at once (one rank alone would leave the others waiting); rank 0 evaluates and prints the notes
        evaluator = (evaluator_for(registry, config, self.data, self.device, self.reporter.progress, self.cond,
                                   show_notes=self.world.is_main) if config.eval_every else None)
        self.evaluator = evaluator if self.world.is_main else None
        components = live_components(registry, config, {
            "generator": [self.G], "discriminator": [self.D], "loss": [parts.loss], "augment": parts.augmentations,
            "regularisers": [p.regulariser for p in parts.penalties], "constraints": [c for c, _ in parts.constraints],
            "opt_g": [self.g.optimizer], "opt_d": [self.d.optimizer]})
        self.components = components
        self.culprits = Culprits(components)
        #: The step's plugin objects that keep state of their own (moving averages, ADA's p), saved in checkpoints.
        self.plugin_states = plugin_states(components, self.device)
        self.shared_buffers = [b for obj in self.plugin_states.values() if isinstance(obj, nn.Module)
                               for b in obj.buffers() if b.is_floating_point()]
        #: What checkpoints record of the data (its digest; for points, the map to data coordinates).
        self.data_record = data_record(self.data)
        if resume_from is not None:
            self._check_same_data(resume_from.get("data"), data_changed_ok)
            self._restore(resume_from)

    # -- setup ----------------------------------------------------------------------------------------------------

    def _amp_dtype(self) -> torch.dtype | None:
        if not self.config.amp:
            return None
        if self.device.type != "cuda":
            self.reporter.message(f"note: --amp only acts on CUDA; training in float32 on {self.device.type}")
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def state(self) -> dict:
        """Everything needed to continue bit for bit: weights, optimizers, EMA, step and every RNG state."""
        return {
            "step": self.step,
            "elapsed": self.elapsed,
            "config": self.config.to_dict(),
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "ema": self._synced_ema().state_dict() if self.ema is not None else None,
            "opt_g": self.g.optimizer.state_dict(),
            "opt_d": self.d.optimizer.state_dict(),
            "players": {"generator": self.g.state(), "discriminator": self.d.state()},
            "scaler": self.precision.scaler.state_dict() if self.precision.scaler.is_enabled() else None,
            "rng": {
                "cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            },
            "rng_ranks": distributed.gather_rng(self.device, self.world),
            "batches": self.real.state(),
            "data": self.data_record,
            "plugins": {key: obj.state_dict() for key, obj in self.plugin_states.items()},
        }

    def _check_same_data(self, then: dict | None, changed_ok: bool) -> None:
        """A resumed run trains on the data it started on, unless the user says the change is wanted."""
        if not isinstance(then, dict) or then.get("digest") == self.data_record["digest"] or changed_ok:
            return
        raise ConfigError(
            f"the data of {self.run_dir.path} changed since its checkpoint ({self.config.dataset.name}: "
            f"{then.get('n')} samples then, {self.data_record['n']} now, different contents); restore it, or pass "
            f"--data-changed-ok to continue on the new data")

    def _restore(self, ckpt: dict) -> None:
        try:
            self.restore_state(ckpt)
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise CheckpointError(
                f"{self.run_dir.latest} does not fit the components of its own config ({first_line(err)}); "
                f"{CHECKPOINT_FIX}"
            ) from None

    def restore_state(self, ckpt: dict) -> None:
        """Put back a state from :meth:`state` (a checkpoint, or the copy a trial step made)."""
        self.G.load_state_dict(ckpt["generator"])
        self.D.load_state_dict(ckpt["discriminator"])
        if self.ema is not None:
            self.ema.load_state_dict(ckpt["ema"])
        players = ckpt.get("players")
        if players:
            self.g.load(players["generator"])
            self.d.load(players["discriminator"])
        else:  # a checkpoint from before players had schedules and update counts
            self.g.optimizer.load_state_dict(ckpt["opt_g"])
            self.d.optimizer.load_state_dict(ckpt["opt_d"])
        for key, state in (ckpt.get("plugins") or {}).items():
            if key in self.plugin_states:
                self.plugin_states[key].load_state_dict(state)
        if self.precision.scaler.is_enabled() and ckpt.get("scaler"):
            self.precision.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.elapsed = int(ckpt["step"]), float(ckpt.get("elapsed", 0.0))
        batches = ckpt.get("batches") or {}
        # drawn the other way before: keep that way
        if "streamed" in batches and batches["streamed"] != self.real.streamed:
            self.real.close()
            self.real = real_batches(self.data, self.cond.real_labels, self.device, self.config.batch_size,
                                     distributed.rank_seed(self.config.seed, self.world.rank),
                                     self.config.data_memory, streamed=bool(batches.get("streamed")))
        self.real.load(batches)
        if self.world.enabled:
            distributed.restore_rng(ckpt, self.config.seed, self.step, self.device, self.world)
            return
        torch.set_rng_state(ckpt["rng"]["cpu"])
        if self.device.type == "cuda" and len(ckpt["rng"]["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])

    def save(self, periodic: bool = False) -> None:
        """Write ``latest.pt`` (and a kept ``step_N.pt``), never from weights that have gone NaN."""
        weights = [p.detach() for p in (*self.G.parameters(), *self.D.parameters())]
        if not torch.stack([w.isfinite().all() for w in weights]).all():  # one host sync per save
            kept = "the last good checkpoint is kept" if self.run_dir.latest.is_file() else "no checkpoint was written"
            raise TrainingDiverged(f"the weights became NaN or infinite by step {self.step}; {kept}. Try lower "
                                   f"learning rates (--lr-d/--lr-g) or another loss")
        state = self.state()  # on every rank: gathering the ranks' RNG states is collective
        if not self.world.is_main:
            return
        try:
            self._write_checkpoint(state, periodic)
        except OutputError as err:
            if not self.run_dir.latest.is_file():
                raise
            raise OutputError(f"{err}; the last checkpoint ({self.run_dir.latest}) is whole: continue with "
                              f"`ganzoo train --resume {self.run_dir.path}`") from None

    def _write_checkpoint(self, state: dict, periodic: bool) -> None:
        if periodic:  # serialise once, then copy: the two files are the same bytes
            kept = self.run_dir.periodic_checkpoint(self.step)
            save_checkpoint(kept, state)
            data = kept.read_bytes()
            atomic_write(self.run_dir.latest, lambda f: f.write(data))
        else:
            save_checkpoint(self.run_dir.latest, state)

    # -- one step -------------------------------------------------------------------------------------------------

    def train_step(self) -> None:
        """One step: D's updates, D's due lazy regularisers, G's updates, G's due lazy regularisers, then EMA and the
        schedules (see ``step.py``)."""
        self.step_phases()

    # -- samples --------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def _synced_ema(self) -> nn.Module:
        """The EMA generator with G's buffers (BatchNorm statistics), copied only when it is about to be used."""
        for ema_buf, buf in zip(self.ema.buffers(), self.G.buffers()):
            ema_buf.copy_(buf)
        return self.ema

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples: the EMA copy when there is one."""
        return self._synced_ema() if self.ema is not None else self.G

    def write_samples(self) -> Path:
        path = self.run_dir.sample_path(self.step)
        title = f"{self.config.label()}  step {self.step}"
        labels = self.sample_labels
        save_png(path, generate(self.sampler, self.sample_z, labels), self.data.spec, self.data, title=title,
                 labels=labels, label_word=self.cond.label_word)
        return path

    # -- the run --------------------------------------------------------------------------------------------------

    def fit(self) -> RunResult:
        """Train up to ``config.steps`` (or ``time_limit``), holding the run directory's lock; Ctrl-C / SIGTERM save a
        checkpoint first; NaN losses stop the run."""
        lock = self.run_dir.training_lock() if self.world.is_main else nullcontext()  # rank 0 alone writes the run
        existed, new_run = self.run_dir.path.exists(), self.step == 0
        with lock:
            try:
                return self._fit()
            except (ConfigError, PluginError):  # out of memory, a plugin's bug: leave no half-started run
                if new_run and self.world.is_main:
                    self.run_dir.discard_unstarted(existed)
                raise

    def _fit(self) -> RunResult:
        self.open()
        try:
            try:
                self.prepare()
                with StopRequests() as stop:
                    result = Loop(self, stop).run()
            except Exception as err:
                explained = self.explain(err)
                if explained is err:
                    raise
                raise explained from None
        except BaseException:
            self.reporters.end(self.step, "failed", None)
            raise
        finally:
            self.release()
        return self.close(result)

    # The session's pieces, in order (a population calls them per member, its own loop in between).

    def open(self) -> None:
        """The run directory with this config (metrics beyond a resumed checkpoint dropped), the header, the
        reporters told."""
        cfg = self.config
        if self.world.is_main:
            self.run_dir.create()
            self.run_dir.write_config(cfg)
            if self.step:
                self.run_dir.truncate_metrics(self.step)
        batch = (f"{self.world.size} processes, global batch {cfg.batch_size * self.world.size}"
                 if self.world.enabled else f"batch {cfg.batch_size}")
        header = (f"ganzoo: training {cfg.label()} on {describe(self.device)}, steps {self.step}->{cfg.steps}, "
                  f"{batch}; run directory {self.run_dir.path}")
        self.reporter.start(cfg.steps, self.step, header)
        self.reporters.start(RunInfo(self.run_dir.path, cfg.label(), cfg.to_dict(), cfg.steps, self.step,
                                     self.run_dir.config_path))

    def prepare(self) -> None:
        """First-use work (a feature classifier) before the clock starts, and a new run's trial step: a plugin's
        fault named before the first real step."""
        if self.evaluator is not None:
            self.evaluator.prepare()
        if self.step == 0:
            trial_step(self)

    def explain(self, err: Exception, where: str | None = None) -> Exception:
        """The one-line error a failure in training stands for (out of memory, a compiler failure, a plugin's
        exception naming the component and, from the traceback or else ``where``, the phase), or ``err`` itself when
        it is ganzoo's own or nothing explains it."""
        if isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)) or \
                (isinstance(err, RuntimeError) and _host_out_of_memory(err)):
            return self._out_of_memory(err)
        if isinstance(err, torch._dynamo.exc.TorchDynamoException) and self.compiled is not None:
            return compile_error(err)  # compiler failures (BackendCompilerFailed...)
        owner = self.culprits.blame(err) if not isinstance(err, GanzooError) else None
        if owner is None or os.environ.get("GANZOO_TRACEBACK"):
            return err
        return self._plugin_failure(owner, err, phase(err) or where)

    def release(self) -> None:
        """What the session holds beyond the run directory: the batch source's thread, the progress display."""
        self.real.close()
        self.reporter.stop()

    def close(self, result: RunResult) -> RunResult:
        """A session that ended well: the loss curve of a finished run, the reporters told."""
        if result.interrupted is None and self.world.is_main:
            write_loss_curve(self.run_dir, self.config.label())
        curve = self.run_dir.loss_curve if self.run_dir.loss_curve.is_file() and result.interrupted is None else None
        self.reporters.end(self.step, result.interrupted, curve)
        return result

    def _plugin_failure(self, owner: str, err: BaseException, where: str | None) -> PluginError:
        """One line naming the component that raised, and what the run directory holds now."""
        if self.run_dir.latest.is_file():
            kept = (f"the last checkpoint ({self.run_dir.latest}) is kept: once fixed, continue with "
                    f"`ganzoo train --resume {self.run_dir.path}`")
        else:
            kept = "no checkpoint had been written, so the run directory is cleared for the same command to start again"
        return PluginError(f"{owner} raised in {where + ' at ' if where else ''}step {self.step + 1}: "
                           f"{type(err).__name__}: {first_line(err)}; {kept} (GANZOO_TRACEBACK=1 shows where)")

    def _out_of_memory(self, err: BaseException) -> ConfigError:
        kept = (f"the last checkpoint ({self.run_dir.latest}) is kept" if self.run_dir.latest.is_file()
                else "no checkpoint had been written")
        return ConfigError(f"out of memory on {self.device} at batch size {self.config.batch_size} "
                           f"({first_line(err, 80)}); {kept}; try a smaller --batch-size or smaller models")
