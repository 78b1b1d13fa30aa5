"""The training loop — written once, for every mix of components.

A step has four phases, as in stylegan2: D's updates (``d_steps``), D's lazy regularisers when due, G's updates
(``g_steps``, D frozen) and G's lazy regularisers; then EMA and the learning-rate schedules. Every D input, real or
generated, goes through the augmentations and, for a conditional D, comes with its labels; the loss and the
regularisers see what D returned through one :class:`ganzoo.StepContext`. What happens between steps (metrics,
samples, evaluation, checkpoints, the time limit, the ranks' agreement to stop) lives in ``periodic.py``.

The data lives on the device as one tensor (uint8 for images) and batches are drawn by index, or, for a dataset over
the memory budget, stream from the host (``batches.py``); G(z) is computed once per step and reused
(detached) for D; statistics stay on the device and are read only when a metrics line is logged, so a step never
synchronises with the GPU.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..config import TrainConfig
from ..data.batches import real_batches
from ..errors import CheckpointError, ConfigError, TrainingDiverged, first_line
from ..registry.registry import Registry
from ..run.checkpoint import CHECKPOINT_FIX, atomic_write, save_checkpoint
from ..run.evaluation import Evaluator
from ..run.progress import Reporter
from ..run.reporting import Reporters, RunInfo
from ..run.rundir import RunDir
from ..run.samples import generate, noise, save_png
from . import distributed
from .assemble import Penalty, assemble
from .compiled import compile_error, compile_models, resolve_mode
from .conditioning import GRID_COLUMNS, LabelSampler
from .contracts import DOutput, StepContext
from .device import describe, resolve_device
from .distributed import World
from .loop import Loop, StopRequests, write_loss_curve
from .players import Player, players_for
from .result import RunResult

SAMPLE_COUNT = {"image": 64, "points": 1000}
STATS = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class Batch:
    """One step's inputs: a real batch with its labels, and the noise and labels of a generated batch."""

    real: torch.Tensor
    real_labels: torch.Tensor | None
    z: torch.Tensor
    fake_labels: torch.Tensor | None


def _scores_per_sample(spec, D: nn.Module) -> bool:
    """Whether real and generated batches may share D's forward pass: the plugin promises it (``per_sample``) and no
    BatchNorm layer (batch statistics would mix real and generated samples) says otherwise."""
    return spec.per_sample and not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())


def _host_out_of_memory(err: RuntimeError) -> bool:
    """Whether torch's CPU allocator (or another device's) ran out: torch raises a plain RuntimeError there."""
    text = str(err)
    return "can't allocate memory" in text or "not enough memory" in text or "out of memory" in text.lower()


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


class Trainer:
    """Builds the components of a config and trains them, writing everything into a run directory."""

    def __init__(self, config: TrainConfig, registry: Registry, run_dir: RunDir, reporter: Reporter | None = None,
                 resume_from: dict | None = None, world: World | None = None,
                 reporters: Reporters | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        self.world = world or World()
        self.reporter = (reporter or Reporter()) if self.world.is_main else Reporter()
        #: The run's event reporters (plugins: TensorBoard, MLflow...); rank 0 alone reports.
        self.reporters = (reporters or Reporters()) if self.world.is_main else Reporters()
        self.device = distributed.device_for(self.world, config.device) if self.world.enabled \
            else resolve_device(config.device)
        torch.manual_seed(config.seed)
        parts = assemble(registry, config)
        self.data, self.cond = parts.data, parts.conditioning
        self.real = real_batches(parts.data, self.cond.real_labels, self.device, config.batch_size,
                                 distributed.rank_seed(config.seed, self.world.rank), config.data_memory)
        self.fake_labels = LabelSampler(self.cond, parts.data.labels, config.label_dist, self.device)
        self.G = parts.generator.to(self.device)
        self.D = parts.discriminator.to(self.device)
        self.loss, self.augmentations = parts.loss, parts.augmentations
        # what the D(x) / D(G(z)) statistics show: probabilities for BCE losses, raw outputs for critics
        self._d_output = torch.sigmoid if self.loss.probability_outputs else (lambda logits: logits)
        self.g, self.d = players_for(registry, config, self.G, self.D, parts.penalties, parts.constraints)
        self.penalties: list[tuple[Penalty, str]] = [(p, player) for p in parts.penalties for player in p.players]
        self.ema = copy.deepcopy(self.G).requires_grad_(False) if config.ema else None
        self._g_params = list(self.G.parameters())
        self._ema_params = list(self.ema.parameters()) if self.ema is not None else []
        self._d_trainable = [p for p in self.D.parameters() if p.requires_grad]
        self.joint_d = _scores_per_sample(registry.get("discriminator", config.discriminator.name), self.D)
        if self.world.enabled:  # same initial weights everywhere (DDP broadcasts rank 0's), different batches and z
            torch.manual_seed(distributed.rank_seed(config.seed, self.world.rank))
        d_spec = registry.get("discriminator", config.discriminator.name)
        G_loop, D_loop = distributed.wrap(self.G, self.D, self.device, self.world, bool(d_spec.outputs))
        # The loop calls these; with --compile they are compiled wrappers around the same modules (see compiled.py).
        resolve_mode(config.compile_mode, self.device)  # a misspelt mode is an error even while --compile is off
        self.compiled = compile_models(G_loop, D_loop, self.device, config.compile_mode) if config.compile else None
        self._g_fwd = self.compiled.generator if self.compiled else G_loop
        self._d_fwd = self.compiled.discriminator if self.compiled else D_loop
        # G's update must not go through a DDP-wrapped D: D's weights get no gradient there, and DDP would wait for it
        self._d_for_g = self.D if self.world.enabled else self._d_fwd
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.step, self.elapsed = 0, 0.0
        #: What ``train_step`` accumulates: the losses and D outputs, then each penalty's raw value per player
        #: (``r1_d``...); ``stat_counts`` says how often each was added since the last metrics line (a host-side
        #: count, so averaging needs no sync).
        self.stat_names = [*STATS, *(f"{p.name}_{player[0]}" for p, player in self.penalties)]
        self.stat_counts = [0] * len(self.stat_names)
        self._stat_slot = {(id(p), player): len(STATS) + i for i, (p, player) in enumerate(self.penalties)}
        self.sample_labels = self.cond.grid_labels(sorted(set(parts.data.labels.tolist()))
                                                   if parts.data.labels is not None else None)
        count = len(self.sample_labels) if self.sample_labels is not None else SAMPLE_COUNT[self.data.spec.kind]
        self.sample_z = noise(count, config.latent_dim, config.seed + 1, self.device)
        self.evaluator = (Evaluator(registry, config, self.data, self.device, self.reporter.progress,
                                    self.cond)
                          if config.eval_every and self.world.is_main else None)
        if resume_from is not None:
            self._restore(resume_from)

    # -- setup ----------------------------------------------------------------------------------------------------

    def _amp_dtype(self) -> torch.dtype | None:
        if not self.config.amp:
            return None
        if self.device.type != "cuda":
            self.reporter.message(f"note: --amp only acts on CUDA; training in float32 on {self.device.type}")
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

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
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": {
                "cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            },
            "rng_ranks": distributed.gather_rng(self.device, self.world),
            "batches": self.real.state(),
        }

    def _restore(self, ckpt: dict) -> None:
        try:
            self._load_states(ckpt)
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise CheckpointError(
                f"{self.run_dir.latest} does not fit the components of its own config ({first_line(err)}); "
                f"{CHECKPOINT_FIX}"
            ) from None

    def _load_states(self, ckpt: dict) -> None:
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
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.elapsed = int(ckpt["step"]), float(ckpt.get("elapsed", 0.0))
        batches = ckpt.get("batches") or {}
        if "streamed" in batches and batches["streamed"] != self.real.streamed:  # drawn the other way before: keep that way
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
        if periodic:  # serialise once, then copy: the two files are the same bytes
            kept = self.run_dir.periodic_checkpoint(self.step)
            save_checkpoint(kept, state)
            data = kept.read_bytes()
            atomic_write(self.run_dir.latest, lambda f: f.write(data))
        else:
            save_checkpoint(self.run_dir.latest, state)

    # -- one step -------------------------------------------------------------------------------------------------

    def _draw(self) -> Batch:
        n = self.config.batch_size
        real = self.real(n)
        return Batch(real.samples, real.labels, torch.randn(n, self.config.latent_dim, device=self.device),
                     self.fake_labels(n))

    def _generate(self, G: nn.Module, batch: Batch) -> torch.Tensor:
        return G(batch.z, batch.fake_labels) if self.cond.generator else G(batch.z)

    def _d(self, D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> DOutput:
        """D as every step sees it: augmented input, and the labels for a conditional D."""
        for augment in self.augmentations:
            x = augment(x)
        return DOutput.of(D(x, labels) if self.cond.discriminator else D(x))

    def _score_both(self, D: nn.Module, batch: Batch, fake: torch.Tensor) -> tuple[DOutput, DOutput]:
        """D's outputs for both batches: one forward pass of 2B samples when D scores samples independently."""
        if not self.joint_d:
            return self._d(D, batch.real, batch.real_labels), self._d(D, fake, batch.fake_labels)
        labels = torch.cat([batch.real_labels, batch.fake_labels]) if self.cond.discriminator else None
        return self._d(D, torch.cat([batch.real, fake.to(batch.real.dtype)]), labels).split(len(batch.real))

    def _context(self, player: str, batch: Batch, fake: torch.Tensor, real_out: DOutput | None,
                 fake_out: DOutput | None) -> StepContext:
        return StepContext(batch.real, fake, self.D, batch.real_labels, batch.fake_labels, real_out, fake_out,
                           batch.z, player, self.step, scorer=lambda x, labels=None: self._d(self.D, x, labels))

    def _penalty(self, player: Player, penalties: list[Penalty], ctx: StepContext, stats: torch.Tensor,
                 scale: int = 1) -> torch.Tensor | None:
        """The weighted sum of the player's penalties (each one's raw value goes into the statistics)."""
        total = None
        for pen in penalties:
            method = pen.regulariser.discriminator_penalty if player is self.d else pen.regulariser.generator_penalty
            value = method(ctx)
            slot = self._stat_slot[id(pen), player.name]
            stats[slot] += value.detach().float()
            self.stat_counts[slot] += 1
            term = value.float() * (pen.weight * scale)
            total = term if total is None else total + term
        return total

    def _update(self, player: Player, loss: torch.Tensor, sync: bool = False) -> None:
        """One optimizer step of ``player`` on ``loss``, then its constraints. ``sync``: average the gradients over
        the ranks by hand (a lazy step's graph does not pass through the DDP wrapper)."""
        optimizer = player.optimizer
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:  # GradScaler allows one step() per update(): update after each optimizer step
            self.scaler.scale(loss).backward()
            if sync:
                distributed.average_gradients(player.module, self.world)
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if sync:
                distributed.average_gradients(player.module, self.world)
            optimizer.step()
        player.constrain()

    def _lazy(self, player: Player, before: int, ctx_of, stats: torch.Tensor) -> None:
        """Phase Dreg / Greg: each due lazy regulariser is an optimizer step of its own, scaled by its interval."""
        for pen in player.due(before):
            with self._autocast():
                loss = self._penalty(player, [pen], ctx_of(), stats, scale=pen.every)
            self._update(player, loss, sync=self.world.enabled)

    def train_step(self, stats: torch.Tensor) -> None:
        """``d_steps`` D updates, D's lazy regularisers, ``g_steps`` G updates (the last D update's generated batch
        feeds the first), G's lazy regularisers; then EMA and the schedules."""
        cfg, G, D = self.config, self._g_fwd, self._d_fwd
        if self.compiled is not None:
            self.compiled.step_begin()
        before = self.d.updates
        for i in range(cfg.d_steps):  # phase Dmain
            batch = self._draw()
            keep_graph = i == cfg.d_steps - 1
            with self._autocast(), (nullcontext() if keep_graph else torch.no_grad()):
                fake = self._generate(G, batch)
            with self._autocast():
                real_out, fake_out = self._score_both(D, batch, fake.detach())
                ctx = self._context("discriminator", batch, fake.detach(), real_out, fake_out)
                d_loss = self.loss.discriminator_loss(real_out.logits, fake_out.logits, ctx)
                penalty = self._penalty(self.d, self.d.eager, ctx, stats)
                if penalty is not None:
                    d_loss = d_loss + penalty
            self._update(self.d, d_loss)
            self.d.updates += 1
        real_seen = real_out.detach()
        self._lazy(self.d, before, lambda: self._context("discriminator", batch, fake.detach(), real_seen, None),
                   stats)  # phase Dreg
        before = self.g.updates
        with frozen(self._d_trainable):
            for j in range(cfg.g_steps):  # phase Gmain
                if j > 0:
                    batch = Batch(batch.real, batch.real_labels, torch.randn_like(batch.z),
                                  self.fake_labels(len(batch.z)))
                    with self._autocast():
                        fake = self._generate(G, batch)
                with self._autocast():
                    g_out = self._d(self._d_for_g, fake, batch.fake_labels)
                    ctx = self._context("generator", batch, fake, real_seen, g_out)
                    g_loss = self.loss.generator_loss(g_out.logits, ctx)
                    penalty = self._penalty(self.g, self.g.eager, ctx, stats)
                    if penalty is not None:
                        g_loss = g_loss + penalty
                self._update(self.g, g_loss)
                self.g.updates += 1
            if self.g.lazy:  # phase Greg: a fresh generated batch, since the last one's graph is spent
                def g_context() -> StepContext:
                    regenerated = self._generate(G, batch)
                    return self._context("generator", batch, regenerated, real_seen,
                                         self._d(self._d_for_g, regenerated, batch.fake_labels))
                self._lazy(self.g, before, g_context, stats)
        if self.ema is not None:
            torch._foreach_lerp_(self._ema_params, self._g_params, 1 - self.config.ema)
        for player in (self.d, self.g):
            if player.scheduler is not None:
                player.scheduler.step()
        for i in range(len(STATS)):
            self.stat_counts[i] += 1
        with torch.no_grad():
            stats[:len(STATS)] += torch.stack([
                d_loss.detach().float(), g_loss.detach().float(),
                self._d_output(real_out.logits.detach().float()).mean(),
                self._d_output(fake_out.logits.detach().float()).mean(),
            ])

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
                 columns=GRID_COLUMNS if labels is not None else None)
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
            except ConfigError:  # a user's mistake met in training (out of memory): leave no half-started run
                if new_run and self.world.is_main:
                    self.run_dir.discard_unstarted(existed)
                raise

    def _fit(self) -> RunResult:
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
        try:
            try:
                if self.evaluator is not None:
                    self.evaluator.prepare()  # first-use work (a feature classifier) before the clock starts
                with StopRequests() as stop:
                    result = Loop(self, stop).run()
            except (torch.cuda.OutOfMemoryError, MemoryError) as err:
                raise self._out_of_memory(err) from None
            except RuntimeError as err:
                if not _host_out_of_memory(err):
                    raise
                raise self._out_of_memory(err) from None
            except torch._dynamo.exc.TorchDynamoException as err:  # compiler failures (BackendCompilerFailed...)
                if self.compiled is None:
                    raise
                raise compile_error(err) from None
        except BaseException:
            self.reporters.end(self.step, "failed", None)
            raise
        finally:
            self.real.close()
            self.reporter.stop()
        if result.interrupted is None and self.world.is_main:
            write_loss_curve(self.run_dir, cfg.label())
        curve = self.run_dir.loss_curve if self.run_dir.loss_curve.is_file() and result.interrupted is None else None
        self.reporters.end(self.step, result.interrupted, curve)
        return result

    def _out_of_memory(self, err: BaseException) -> ConfigError:
        kept = (f"the last checkpoint ({self.run_dir.latest}) is kept" if self.run_dir.latest.is_file()
                else "no checkpoint had been written")
        return ConfigError(f"out of memory on {self.device} at batch size {self.config.batch_size} "
                           f"({first_line(err, 80)}); {kept}; try a smaller --batch-size or smaller models")

    def divergence_message(self, record: dict) -> str:
        values = ", ".join(f"{k}={record[k]}" for k in STATS)
        kept = (f"the last good checkpoint is kept in {self.run_dir.latest}" if self.run_dir.latest.is_file()
                else "no checkpoint had been written yet")
        return (
            f"training diverged by step {record['step']} ({values}); {kept}. Try lower learning rates "
            f"(--lr-d/--lr-g), label smoothing (--set loss.real_label=0.9) or another loss"
        )

