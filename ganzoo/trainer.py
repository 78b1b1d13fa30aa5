"""The training loop — written once, for every mix of components.

The data lives on the device as one tensor and batches are drawn by index; G(z) is computed once per step and reused
(detached) for D; statistics stay on the device and are read only when a metrics line is logged, so the loop does
not synchronise with the GPU every step.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .assemble import assemble
from .checkpoint import CHECKPOINT_FIX, atomic_write, save_checkpoint
from .compiled import compile_error, compile_models, resolve_mode
from .config import TrainConfig
from .device import describe, resolve_device
from . import distributed
from .distributed import World
from .errors import CheckpointError, ConfigError, TrainingDiverged, first_line
from .evaluation import Evaluator
from .loss import LossContext
from .plot import Figure
from .registry import Registry
from .run import RunDir
from .samples import generate, noise, save_png
from .ui import Reporter

SAMPLE_COUNT = {"image": 64, "points": 1000}
STATS = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class RunResult:
    """What a finished (or interrupted) run reports."""

    run_dir: Path
    label: str
    device: str
    step: int
    total_steps: int
    seconds: float
    steps_per_sec: float
    final: dict[str, float] = field(default_factory=dict)
    last_sample: Path | None = None
    interrupted: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    #: The trained (plain, unwrapped) generator and discriminator, for notebooks (the EMA copy is in the checkpoint).
    generator: nn.Module | None = field(default=None, repr=False)
    discriminator: nn.Module | None = field(default=None, repr=False)
    #: False on the ranks of a multi-process run that do not write or report (every rank but 0).
    is_main: bool = True


class _StopRequests:
    """The first Ctrl-C or SIGTERM asks the loop to stop after the current step (and save); a second Ctrl-C aborts."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self) -> _StopRequests:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread (e.g. a notebook worker): leave signals alone
            self._previous.clear()
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _scores_per_sample(spec, D: nn.Module) -> bool:
    """Whether real and generated batches may share D's forward pass: the plugin promises it (``per_sample``) and no
    BatchNorm layer (batch statistics would mix real and generated samples) says otherwise."""
    return spec.per_sample and not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())


class Trainer:
    """Builds the components of a config and trains them, writing everything into a run directory."""

    def __init__(self, config: TrainConfig, registry: Registry, run_dir: RunDir, reporter: Reporter | None = None,
                 resume_from: dict | None = None, world: World | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        self.world = world or World()
        self.reporter = (reporter or Reporter()) if self.world.is_main else Reporter()
        self.device = distributed.device_for(self.world, config.device) if self.world.enabled \
            else resolve_device(config.device)
        torch.manual_seed(config.seed)
        parts = assemble(registry, config)
        self.data = parts.data
        self.samples = parts.data.samples.to(self.device)
        self.G = parts.generator.to(self.device)
        self.D = parts.discriminator.to(self.device)
        self.loss = parts.loss
        # what the D(x) / D(G(z)) statistics show: probabilities for BCE losses, raw outputs for critics
        self._d_output = torch.sigmoid if self.loss.probability_outputs else (lambda logits: logits)
        self.opt_g = self._adam(self.G, config.lr_g)
        self.opt_d = self._adam(self.D, config.lr_d)
        self.ema = copy.deepcopy(self.G).requires_grad_(False) if config.ema else None
        self._g_params = list(self.G.parameters())
        self._ema_params = list(self.ema.parameters()) if self.ema is not None else []
        self._d_trainable = [p for p in self.D.parameters() if p.requires_grad]
        self.joint_d = _scores_per_sample(registry.get("discriminator", config.discriminator.name), self.D)
        if self.world.enabled:  # same initial weights everywhere (DDP broadcasts rank 0's), different batches and z
            torch.manual_seed(distributed.rank_seed(config.seed, self.world.rank))
        G_loop, D_loop = distributed.wrap(self.G, self.D, self.device, self.world)
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
        self.sample_z = noise(SAMPLE_COUNT[self.data.spec.kind], config.latent_dim, config.seed + 1, self.device)
        self.evaluator = (Evaluator(registry, config, self.data, self.device, self.reporter.progress)
                          if config.eval_every and self.world.is_main else None)
        if resume_from is not None:
            self._restore(resume_from)

    # -- setup ----------------------------------------------------------------------------------------------------

    def _adam(self, module: nn.Module, lr: float) -> torch.optim.Adam:
        params = [p for p in module.parameters() if p.requires_grad]
        # The fused kernel does one launch per step instead of one per tensor (CUDA), and is fastest on CPU too.
        fused = self.device.type in {"cuda", "cpu"}
        return torch.optim.Adam(params, lr=lr, betas=self.config.betas, fused=fused)

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
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": {
                "cpu": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            },
            "rng_ranks": distributed.gather_rng(self.device, self.world),
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
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.elapsed = int(ckpt["step"]), float(ckpt.get("elapsed", 0.0))
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

    # -- the loop -------------------------------------------------------------------------------------------------

    def _batch(self) -> torch.Tensor:
        idx = torch.randint(len(self.samples), (self.config.batch_size,), device=self.device)
        return self.samples[idx]

    def _z(self) -> torch.Tensor:
        return torch.randn(self.config.batch_size, self.config.latent_dim, device=self.device)

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:  # GradScaler allows one step() per update(): update after each optimizer step
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            loss.backward()
            optimizer.step()

    def train_step(self, stats: torch.Tensor) -> None:
        """``d_steps`` D updates, then ``g_steps`` G updates; the last D update's fake batch feeds the first G one."""
        cfg, G, D, D_for_g = self.config, self._g_fwd, self._d_fwd, self._d_for_g
        if self.compiled is not None:
            self.compiled.step_begin()
        for i in range(cfg.d_steps):
            real = self._batch()
            keep_graph = i == cfg.d_steps - 1
            with self._autocast(), (nullcontext() if keep_graph else torch.no_grad()):
                fake = G(self._z())
            with self._autocast():
                real_logits, fake_logits = self._score(D, real, fake.detach())
                d_loss = self.loss.discriminator_loss(real_logits, fake_logits, LossContext(real, fake.detach(), self.D))
            self._backward_step(d_loss, self.opt_d)
        for p in self._d_trainable:  # G's update needs gradients through D, not D's own weight gradients
            p.requires_grad_(False)
        try:
            for j in range(cfg.g_steps):
                if j > 0:
                    with self._autocast():
                        fake = G(self._z())
                with self._autocast():
                    g_logits = D_for_g(fake)
                    g_loss = self.loss.generator_loss(g_logits, LossContext(real, fake, self.D))
                self._backward_step(g_loss, self.opt_g)
        finally:
            for p in self._d_trainable:
                p.requires_grad_(True)
        if self.ema is not None:
            torch._foreach_lerp_(self._ema_params, self._g_params, 1 - self.config.ema)
        with torch.no_grad():
            stats += torch.stack([
                d_loss.detach().float(), g_loss.detach().float(),
                self._d_output(real_logits.detach().float()).mean(), self._d_output(fake_logits.detach().float()).mean(),
            ])

    def _score(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits for both batches: one forward pass of 2B samples when D scores samples independently."""
        if not self.joint_d:
            return D(real), D(fake)
        logits = D(torch.cat([real, fake.to(real.dtype)]))
        return logits[:len(real)], logits[len(real):]

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
        save_png(path, generate(self.sampler, self.sample_z), self.data.spec, self.data, title=title)
        return path

    def write_loss_curve(self) -> None:
        records = self.run_dir.read_metrics()
        if not records:
            return
        records = [r for r in records if "d_loss" in r and "g_loss" in r]  # evaluation-only lines have no losses
        steps = [r["step"] for r in records]
        fig = Figure(title=f"losses: {self.config.label()}", xlabel="step", ylabel="loss")
        fig.line(steps, [r["d_loss"] for r in records], label="D loss")
        fig.line(steps, [r["g_loss"] for r in records], label="G loss")
        fig.save(self.run_dir.loss_curve)

    def fit(self) -> RunResult:
        """Train up to ``config.steps`` (or ``time_limit``); Ctrl-C / SIGTERM save a checkpoint first; NaN losses
        stop the run."""
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
        try:
            if self.evaluator is not None:
                self.evaluator.prepare()  # first-use work (a feature classifier) before the clock starts
            with _StopRequests() as stop:
                result = self._loop(stop)
        except torch.cuda.OutOfMemoryError:
            raise ConfigError(f"out of memory on {self.device} at batch size {cfg.batch_size}; try a smaller "
                              f"--batch-size or smaller models") from None
        except torch._dynamo.exc.TorchDynamoException as err:  # compiler failures (BackendCompilerFailed...)
            if self.compiled is None:
                raise
            raise compile_error(err) from None
        finally:
            self.reporter.stop()
        if result.interrupted is None and self.world.is_main:
            self.write_loss_curve()
        return result

    def _loop(self, stop: _StopRequests) -> RunResult:
        cfg = self.config
        stats = torch.zeros(len(STATS), device=self.device)
        logged_at, last_sample, final, evals = self.step, None, {}, {}
        started = clock = time.perf_counter()
        window_clock, window_step, first_step = clock, self.step, self.step
        self.G.train(), self.D.train()
        stopping = False
        while self.step < cfg.steps and not stopping:
            self.train_step(stats)
            self.step += 1
            self.reporter.advance()
            out_of_time = cfg.time_limit is not None and time.perf_counter() - started >= cfg.time_limit
            # ranks must stop at the same step: they agree at log steps (single process: at once, no collective)
            # (every 10 steps at most: torchrun kills the ranks 30 s after forwarding a signal)
            out_of_time, stopping = distributed.agree(out_of_time, stop.signal is not None,
                                                      self.step % min(cfg.log_every, 10) == 0, self.device, self.world)
            last = self.step == cfg.steps or out_of_time
            record = None
            if self.step % cfg.log_every == 0 or last:
                values = (distributed.mean_(stats, self.world) / (self.step - logged_at)).tolist()  # one sync
                now = time.perf_counter()  # after the sync, so queued GPU work counts in this window
                stats.zero_()
                record = {"step": self.step, "time": round(self.elapsed + now - clock, 3),
                          **dict(zip(STATS, values)),
                          "steps_per_sec": (self.step - window_step) / max(now - window_clock, 1e-9)}
                if self.world.enabled:
                    record.update(world_size=self.world.size, global_batch=cfg.batch_size * self.world.size)
                window_clock, window_step, logged_at = now, self.step, self.step
                if not all(math.isfinite(v) for v in values):
                    raise TrainingDiverged(self._divergence_message(record))
                final = record
            if self.evaluator is not None and (self.step % cfg.eval_every == 0 or last):
                evals = self.evaluator(self.sampler, cfg.eval_samples)
                at = {"step": self.step, "time": round(self.elapsed + time.perf_counter() - clock, 3)}
                record = {**(record or at), **evals}
                window_clock = time.perf_counter()  # evaluation time is not training speed
            if record is not None and self.world.is_main:
                self.run_dir.append_metrics(record)
                self.reporter.log(record)
            if ((cfg.sample_every and self.step % cfg.sample_every == 0) or last) and self.world.is_main:
                last_sample = self.write_samples()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and not last:
                self.elapsed += time.perf_counter() - clock
                clock = time.perf_counter()
                self.save(periodic=True)
            if out_of_time:
                break
        self.elapsed += time.perf_counter() - clock
        session = time.perf_counter() - started
        stopped = stop.signal if stop.signal is not None else (signal.SIGTERM if stopping else None)
        self.save(periodic=stopped is None and bool(cfg.checkpoint_every))
        return RunResult(
            run_dir=self.run_dir.path, label=cfg.label(), device=describe(self.device), step=self.step,
            total_steps=cfg.steps, seconds=session, steps_per_sec=(self.step - first_step) / max(session, 1e-9),
            final=final, last_sample=last_sample, metrics=evals,
            interrupted=signal.Signals(stopped).name if stopped is not None else None,
            generator=self.G, discriminator=self.D, is_main=self.world.is_main,
        )

    def _divergence_message(self, record: dict) -> str:
        values = ", ".join(f"{k}={record[k]}" for k in STATS)
        kept = (f"the last good checkpoint is kept in {self.run_dir.latest}" if self.run_dir.latest.is_file()
                else "no checkpoint had been written yet")
        return (
            f"training diverged by step {record['step']} ({values}); {kept}. Try lower learning rates "
            f"(--lr-d/--lr-g), label smoothing (--set loss.real_label=0.9) or another loss"
        )
