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
  writing into memory), metrics every 50 steps and the default sample and checkpoint cadence;
- **ganzoo-float32** (``--loops ...,ganzoo-float32``): the same with MNIST held as float32 on the device, as images
  were before they stayed uint8 (4x the memory): the reference for that change's memory and speed.

Each loop runs in its own child process, so its peak memory is its own (peak RSS on the CPU,
``max_memory_allocated`` on CUDA) and no loop inherits another's allocator or thread state. A shared machine's speed
drifts (this project's 2-core VM: up to 2x within seconds), so the loops of one batch size are **interleaved**: all
children set up and warm up, then the parent lets them run one timed window of ``--steps`` steps at a time, in
turn, while the others wait. Every loop sees the same stretches of fast and slow machine; a loop's speed is its
total timed steps over its total timed seconds.

Each loop times at least ``--span`` steps. The default, 1,000 steps, is ganzoo's checkpoint interval: with its
default cadence (a metrics line every 50 steps, a sample grid every 500, a checkpoint every 1,000) the display,
logging, samples and one checkpoint are inside its clock, at the rate a user pays for them.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from ganzoo.errors import first_line

sys.path.insert(0, str(Path(__file__).parent))
from textbook import LATENT, Discriminator, Generator, make_loader, train_textbook  # noqa: E402

GANZOO_SETS = ["generator.hidden=128,256,512,1024", "generator.batchnorm=true", "generator.slope=0.2",
               "generator.output=tanh", "discriminator.hidden=512,256", "discriminator.slope=0.2"]


class _Clock:
    """Times the windows the parent grants: from its 'go' to the window's last step. At each window boundary it
    reports to the parent and waits for the next 'go'; CUDA is synchronised only there (never every step)."""

    def __init__(self, device: torch.device, warmup: int, steps: int, windows: int, conn) -> None:
        self.device, self.conn = device, conn
        self.marks = {warmup + i * steps for i in range(windows + 1)}
        self.last = warmup + windows * steps
        self.spans: list[tuple[float, float]] = []  # (start, end) of each window
        self._start: float | None = None

    def __call__(self, step: int) -> None:
        if step not in self.marks:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if self._start is not None:
            self.spans.append((self._start, time.perf_counter()))
        self.conn.send("waiting")  # warmed up, or a window done
        if step < self.last:
            self.conn.recv()  # 'go'
            self._start = time.perf_counter()


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

        from ganzoo.run.progress import RichReporter

        class Timed(RichReporter):
            step = 0

            def advance(self, steps: int = 1) -> None:
                super().advance(steps)
                self.step += steps
                clock(self.step)

        return Timed(Console(file=io.StringIO(), force_terminal=True, width=120))


class _Float32Mnist:
    """MNIST held as float32 on the device, as every image dataset was before images stayed uint8: the reference
    for that change's memory and speed."""

    @staticmethod
    def register() -> None:
        import ganzoo
        from ganzoo.registry.registry import default_registry

        mnist = default_registry().get("dataset", "mnist")

        def load(**params):
            data = mnist.load(params)
            return ganzoo.Data.images(data.samples.float().div_(255), labels=data.labels, classes=10)

        class Plugin:
            @ganzoo.hookimpl
            def ganzoo_datasets(self):
                yield ganzoo.DatasetSpec(name="mnist-float32", factory=load, shape=mnist.shape,
                                         params=mnist.params, description="MNIST held as float32.")

        default_registry().register(Plugin(), name="bench-float32")


def _ganzoo(args, batch: int, clock: _Clock, compiled: bool = False, dataset: str = "mnist") -> None:
    import ganzoo

    if dataset == "mnist-float32":
        _Float32Mnist.register()
    with tempfile.TemporaryDirectory() as tmp:
        ganzoo.train("mlp", "mlp", "nonsaturating", dataset, steps=clock.last, batch_size=batch, latent_dim=LATENT,
                     lr_g=2e-4, lr_d=2e-4, betas=[0.5, 0.999], ema=0, seed=0, device=str(clock.device),
                     amp=args.amp, compile=compiled, out=Path(tmp) / "run", reporter=_TimedReporter(clock),
                     set=[*GANZOO_SETS, f"dataset.root={args.data_root}", "dataset.download=false"])


LOOPS = {"textbook": _textbook, "bare": _bare, "ganzoo": _ganzoo,
         "ganzoo-float32": lambda a, b, c: _ganzoo(a, b, c, dataset="mnist-float32"),
         "bare+compile": lambda a, b, c: _bare(a, b, c, True), "ganzoo+compile": lambda a, b, c: _ganzoo(a, b, c, True)}


REF_LABELS = {"textbook": "/textbk", "bare": "/bare", "bare+compile": "/bare+c", "ganzoo-float32": "/f32"}
#: The default span: ganzoo's checkpoint interval, so its default cadence is inside its clock (see the docstring).
CHECKPOINT_EVERY = 1000


def _windows(args) -> int:
    return max(args.repeats, -(-args.span // args.steps))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(args, name: str, batch: int, conn) -> None:
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        dev = torch.device(args.device)
        clock = _Clock(dev, args.warmup, args.steps, _windows(args), conn)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        LOOPS[name](args, batch, clock)
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else _peak_rss_mb()
        windows = [end - start for start, end in clock.spans]
        conn.send({"steps_per_sec": args.steps * len(windows) / sum(windows), "peak_mb": peak, "windows": windows,
                   "spans": clock.spans})
    except BaseException as err:  # noqa: BLE001 - report any failure to the parent as one line
        conn.send({"error": f"{type(err).__name__}: {first_line(err)}"})


def _receive(conn) -> object:
    try:
        return conn.recv()
    except EOFError:  # the child died without a word (a crash, the OOM killer)
        return {"error": "the process died"}


def measure_interleaved(args, loops: list[str], batch: int, handover: float = 0.02, target=None) -> dict[str, dict]:
    """Run every loop in its own process, taking turns window by window (in an order rotated each window); each
    loop's speed and peak memory. A loop's last window ends with its process exiting before the next loop's starts,
    so no loop's teardown (ganzoo's final checkpoint, interpreter exit) falls inside another's clock. ``target``
    replaces the child's entry point (another benchmark's loops)."""
    ctx = mp.get_context("spawn")
    results: dict[str, dict] = {}
    conns, procs = {}, {}
    for loop in loops:
        parent, child = ctx.Pipe()
        procs[loop] = ctx.Process(target=target or _child, args=(args, loop, batch, child))
        procs[loop].start()
        child.close()  # only the child holds its end now, so its death reads as EOF here instead of a hang
        conns[loop] = parent
    windows = _windows(args)

    def finish(loop: str) -> None:  # the child's result (it is past its last window), then its exit
        message = _receive(conns[loop])
        results[loop] = message if isinstance(message, dict) else {"error": f"unexpected message {message!r}"}
        procs[loop].join()

    try:
        for loop, conn in conns.items():  # everyone set up and warmed up (their warm-ups overlap; none is timed)
            message = _receive(conn)
            if isinstance(message, dict):
                results[loop] = message
        for w in range(windows):
            for loop in loops[w % len(loops):] + loops[:w % len(loops)]:
                if loop in results:
                    continue
                time.sleep(handover)  # let the previous loop's threads go idle before this window starts
                try:
                    conns[loop].send("go")
                except OSError:  # it died while waiting (e.g. the OOM killer)
                    results[loop] = {"error": "the process died"}
                    continue
                message = _receive(conns[loop])
                if isinstance(message, dict):
                    results[loop] = message
                elif w == windows - 1:
                    finish(loop)
    finally:
        for conn in conns.values():
            conn.close()  # a child still waiting for 'go' (the parent failed) reads EOF and exits
        for proc in procs.values():
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
    return results


def ratio(results: dict[str, dict], loop: str, ref: str) -> float | None:
    a, b = results.get(loop, {}), results.get(ref, {})
    if loop == ref or "steps_per_sec" not in a or "steps_per_sec" not in b:
        return None
    return a["steps_per_sec"] / b["steps_per_sec"]


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
    parser.add_argument("--loops", default="textbook,bare,ganzoo")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast in bare and ganzoo (CUDA only)")
    parser.add_argument("--compile", action="store_true", help="also time bare+compile and ganzoo+compile")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads in each loop (0: torch's)")
    args = parser.parse_args()
    args.steps = args.steps or (300 if args.device.startswith("cuda") else 100)
    batches = [64 * 2**i for i in range(7)] if args.sweep else [int(b) for b in args.batch.split(",")]
    loops = args.loops.split(",") + (["bare+compile", "ganzoo+compile"] if args.compile else [])
    refs = [ref for ref in ("textbook", "bare", "bare+compile", "ganzoo-float32") if ref in loops]
    dev = torch.device(args.device)
    threads = args.threads or torch.get_num_threads()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {threads} thread{'s' * (threads != 1)}"
    print(f"# bench_train: {name}; torch {torch.__version__}; {_windows(args)} interleaved windows of {args.steps} "
          f"steps per loop after {args.warmup} warm-up steps; "
          f"amp {'on' if args.amp else 'off'}\n", flush=True)
    widths = [15, 6, 9, 10, 9] + [9] * len(refs)
    print(_row(["loop", "batch", "steps/s", "samples/s", "peak MB", *[REF_LABELS[r] for r in refs]], widths))
    for batch in batches:
        results = measure_interleaved(args, loops, batch)
        for loop in loops:
            r = results[loop]
            if "error" in r:
                print(_row([loop, batch, "error", "", "", *[""] * len(refs)], widths), r["error"], flush=True)
                continue
            cells = [f"{x:.2f}x" if (x := ratio(results, loop, ref)) else "" for ref in refs]
            print(_row([loop, batch, f"{r['steps_per_sec']:.1f}", f"{r['steps_per_sec'] * batch:.0f}",
                        f"{r['peak_mb']:.0f}", *cells], widths), flush=True)

if __name__ == "__main__":
    main()
