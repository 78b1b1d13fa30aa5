"""Training speed: ganzoo against the tutorial loop and against the bare compute floor, on the same device.

    python benchmarks/bench_train.py --data-root ../shared/data              # batch 64 and 256
    python benchmarks/bench_train.py --data-root ../shared/data --sweep      # batch 64 ... 4096
    python benchmarks/bench_train.py --data-root ../shared/data --amp --compile   # the GPU paths (CUDA)

Three loops train the same MNIST GAN (G 100-128-256-512-1024-784 with BatchNorm on the last three hidden layers and
tanh, D 784-512-256-1, Adam 2e-4 (0.5, 0.999), one D and one G update per step):

- **textbook**: ``benchmarks/textbook.py``, a ``DataLoader`` with per-sample ``ToTensor`` + ``Normalize``, shuffle,
  sigmoid + ``nn.BCELoss``;
- **bare**: the same models and updates with the data preloaded as one tensor on the device and indexed — no data
  pipeline, no logging: the compute floor;
- **ganzoo**: ``ganzoo.train("mlp", "mlp", "nonsaturating", "mnist", ...)`` set to that architecture (the textbook's
  G loss is the non-saturating one), with its live progress bar on (a rich console that believes it is a terminal,
  writing into memory), metrics every 50 steps and the default sample and checkpoint cadence.

Each measurement runs in a fresh child process, so its peak memory is its own (peak RSS on the CPU,
``max_memory_allocated`` on CUDA) and no loop inherits another's allocator or thread state. A child warms up, then
times consecutive windows of ``--steps`` steps, at least ``--span`` steps in all; its speed is total steps over total
time. The default span, 1,000 steps, is ganzoo's checkpoint interval: with its default cadence (a metrics line every
50 steps, a sample grid every 500, a checkpoint every 1,000) the display, logging, samples and one checkpoint are
all inside its clock, at the rate a user pays for them. Every loop times the same span, so the runs compared in a
round are equally exposed to the machine's drift.

A shared machine's speed drifts (this project's 2-core VM: up to 2x within minutes), so the loops run in ``--rounds``
rounds, one after another within a round, in a rotated order. Speeds are medians over rounds; a ratio is the median
of the per-round ratios, each taken between runs minutes apart at most. Compare numbers from one run only.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from textbook import LATENT, Discriminator, Generator, make_loader, train_textbook  # noqa: E402

GANZOO_SETS = ["generator.hidden=128,256,512,1024", "generator.batchnorm=true", "generator.slope=0.2",
               "generator.output=tanh", "discriminator.hidden=512,256", "discriminator.slope=0.2"]


class _Clock:
    """Marks the end of each timed window; synchronises CUDA only at those marks (never every step)."""

    def __init__(self, device: torch.device, warmup: int, steps: int, repeats: int) -> None:
        self.device, self.marks = device, {warmup + i * steps: i for i in range(repeats + 1)}
        self.times: list[float] = []
        self.last = warmup + repeats * steps

    def __call__(self, step: int) -> None:
        if step in self.marks:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.times.append(time.perf_counter())

    def windows(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:])]


def _textbook(args, batch: int, clock: _Clock) -> None:
    train_textbook(args.data_root, steps=clock.last, batch_size=batch, device=str(clock.device),
                   on_step=lambda done, *_: clock(done))


def _bare(args, batch: int, clock: _Clock, compiled: bool = False) -> None:
    """The textbook's models and updates, data preloaded on the device; optionally torch.compile'd."""
    dev = clock.device
    torch.manual_seed(0)
    images = make_loader(args.data_root, 60_000).dataset.data.to(dev).float().div_(127.5).sub_(1).unsqueeze(1)
    G, D = Generator().to(dev), Discriminator().to(dev)
    fused = dev.type in {"cuda", "cpu"}
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    loss = nn.BCELoss()
    g_fwd, d_fwd = (torch.compile(G, mode=_mode(dev)), torch.compile(D, mode=_mode(dev))) if compiled else (G, D)
    valid, fake = torch.ones(batch, 1, device=dev), torch.zeros(batch, 1, device=dev)
    amp = _amp(args, dev)
    for step in range(1, clock.last + 1):
        if compiled and dev.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()
        real = images[torch.randint(len(images), (batch,), device=dev)]
        z = torch.randn(batch, LATENT, device=dev)
        with amp:
            gen = g_fwd(z)
            g_loss = loss(d_fwd(gen).float(), valid)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        with amp:
            d_loss = (loss(d_fwd(real).float(), valid) + loss(d_fwd(gen.detach()).float(), fake)) / 2
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        clock(step)


def _mode(dev: torch.device) -> str:
    return "reduce-overhead" if dev.type == "cuda" else "default"  # CUDA graphs where launches dominate


def _amp(args, dev: torch.device):
    if args.amp and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    return torch.autocast(dev.type, enabled=False)


class _TimedReporter:
    """ganzoo's own live bar (RichReporter on a fake terminal), plus the window clock on every step."""

    def __new__(cls, clock: _Clock):
        from rich.console import Console

        from ganzoo.ui import RichReporter

        class Timed(RichReporter):
            step = 0

            def advance(self, steps: int = 1) -> None:
                super().advance(steps)
                self.step += steps
                clock(self.step)

        return Timed(Console(file=io.StringIO(), force_terminal=True, width=120))


def _ganzoo(args, batch: int, clock: _Clock, compiled: bool = False) -> None:
    import ganzoo

    with tempfile.TemporaryDirectory() as tmp:
        ganzoo.train("mlp", "mlp", "nonsaturating", "mnist", steps=clock.last, batch_size=batch, latent_dim=LATENT,
                     lr_g=2e-4, lr_d=2e-4, betas=[0.5, 0.999], ema=0, seed=0, device=str(clock.device),
                     amp=args.amp, compile=compiled, out=Path(tmp) / "run", reporter=_TimedReporter(clock),
                     set=[*GANZOO_SETS, f"dataset.root={args.data_root}", "dataset.download=false"])


LOOPS = {"textbook": _textbook, "bare": _bare, "ganzoo": _ganzoo,
         "bare+compile": lambda a, b, c: _bare(a, b, c, True), "ganzoo+compile": lambda a, b, c: _ganzoo(a, b, c, True)}


REF_LABELS = {"textbook": "/textbk", "bare": "/bare", "bare+compile": "/bare+c"}
#: The default span: ganzoo's checkpoint interval, so its default cadence is inside its clock (see the docstring).
CHECKPOINT_EVERY = 1000


def _windows(args) -> int:
    return max(args.repeats, -(-args.span // args.steps))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(args, name: str, batch: int, queue) -> None:
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        dev = torch.device(args.device)
        clock = _Clock(dev, args.warmup, args.steps, _windows(args))
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        LOOPS[name](args, batch, clock)
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else _peak_rss_mb()
        windows = clock.windows()
        queue.put({"steps_per_sec": args.steps * len(windows) / sum(windows), "peak_mb": peak, "windows": windows})
    except BaseException as err:  # noqa: BLE001 - report any failure to the parent as one line
        queue.put({"error": f"{type(err).__name__}: {err}"})


def measure(args, name: str, batch: int) -> dict:
    """Run one loop at one batch size in a fresh process: its steps/s over the timed windows and its peak memory."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(args, name, batch, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def measure_rounds(args, loops: list[str], batch: int) -> dict[str, list[dict]]:
    """Every loop once per round, in an order rotated each round so no loop always runs first or last."""
    runs: dict[str, list[dict]] = {loop: [] for loop in loops}
    for r in range(args.rounds):
        for loop in loops[r % len(loops):] + loops[:r % len(loops)]:
            runs[loop].append(measure(args, loop, batch))
    return runs


def paired_ratio(runs: dict[str, list[dict]], loop: str, ref: str) -> tuple[float, list[float]] | None:
    """The median over rounds of loop/ref, each round's two runs close in time (drift cancels); None if unmeasured."""
    pairs = [a["steps_per_sec"] / b["steps_per_sec"] for a, b in zip(runs[loop], runs.get(ref, []))
             if "steps_per_sec" in a and "steps_per_sec" in b]
    return (statistics.median(pairs), pairs) if pairs and loop != ref else None


def _row(cells, widths) -> str:
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("GANZOO_DATA", "../shared/data"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", default="64,256", help="batch sizes, comma separated")
    parser.add_argument("--sweep", action="store_true", help="batch sizes 64, 128, ..., 4096")
    parser.add_argument("--steps", type=int, default=0, help="steps per timed window (default: by device)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="timed windows per run, at least")
    parser.add_argument("--span", type=int, default=CHECKPOINT_EVERY,
                        help="steps every run times, at least (default: ganzoo's checkpoint interval, so one "
                             "checkpoint and two sample grids fall inside its clock)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every loop, interleaved (the median counts)")
    parser.add_argument("--loops", default="textbook,bare,ganzoo")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast in bare and ganzoo (CUDA only)")
    parser.add_argument("--compile", action="store_true", help="also time bare+compile and ganzoo+compile")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads in each loop (0: torch's)")
    args = parser.parse_args()
    args.steps = args.steps or (300 if args.device.startswith("cuda") else 100)
    batches = [64 * 2**i for i in range(7)] if args.sweep else [int(b) for b in args.batch.split(",")]
    loops = args.loops.split(",") + (["bare+compile", "ganzoo+compile"] if args.compile else [])
    refs = [ref for ref in ("textbook", "bare", "bare+compile") if ref in loops]
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {args.threads or torch.get_num_threads()} threads"
    print(f"# bench_train: {name}; torch {torch.__version__}; {args.rounds} rounds; windows of {args.steps} steps "
          f"x {_windows(args)} after {args.warmup} warm-up steps; "
          f"amp {'on' if args.amp else 'off'}\n", flush=True)
    widths = [15, 6, 9, 10, 9] + [9] * len(refs)
    print(_row(["loop", "batch", "steps/s", "samples/s", "peak MB", *[REF_LABELS[r] for r in refs]], widths))
    for batch in batches:
        runs = measure_rounds(args, loops, batch)
        notes = []
        for loop in loops:
            ok = [r for r in runs[loop] if "steps_per_sec" in r]
            if not ok:
                print(_row([loop, batch, "error", "", "", *[""] * len(refs)], widths), runs[loop][0]["error"])
                continue
            speed = statistics.median(r["steps_per_sec"] for r in ok)
            ratios = {ref: paired_ratio(runs, loop, ref) for ref in refs}
            cells = [f"{ratios[ref][0]:.2f}x" if ratios[ref] else "" for ref in refs]
            print(_row([loop, batch, f"{speed:.1f}", f"{speed * batch:.0f}", f"{max(r['peak_mb'] for r in ok):.0f}",
                        *cells], widths), flush=True)
            notes += [f"{loop}/{ref} " + " ".join(f"{x:.2f}" for x in ratios[ref][1])
                      for ref in refs if ratios[ref] and loop.startswith("ganzoo")]
        print(f"  batch {batch}, per round: " + "; ".join(notes), flush=True)


if __name__ == "__main__":
    main()
