"""Populations: member-steps per second of 1, 2, 4 ... 32 GANs trained as one population in one process, against one
ordinary run (``Trainer``) in the same process, on the same device.

    python benchmarks/bench_population.py                                  # point GANs and MNIST MLP GANs
    python benchmarks/bench_population.py --data points --sizes 1,8,32 --steps 300
    python benchmarks/bench_population.py --data mnist --data-root ../shared/data   # real MNIST, not random pixels
    python benchmarks/bench_population.py --data points --set generator.hidden=8 --set discriminator.hidden=8 \
        --batch-size 16                                                    # small models: overhead-bound

Two mixes, each ganzoo's defaults for its data:

- **points**: the default point GAN (``--dataset parabola``: G 64-128-128-128-2, D 2-256-256-1, batch 128);
- **mnist**: the MNIST MLP GAN (G 100-256-512-1024-784, D 784-512-256-1) at batch 64, with the generator's BatchNorm
  off (``generator.batchnorm=false``: BatchNorm's running statistics change in forward, so it does not stack). Without
  ``--data-root`` the pixels are random uint8 images in MNIST's files (the speed does not depend on what they show).

Members differ in seed. A speed is read from the members' own metrics lines (each window of ``--log-every`` steps
times the population's wall clock for those steps), leaving out the first window (warm-up) and everything outside
the loop (building, the trial step, the last checkpoint): member-steps/s is the sum over the members. Each population
is measured between two measurements of the one run, and its ratio is against their mean (a shared machine's speed
drifts: this project's 2-core VM measured the same run at 102 and 222 steps/s within a minute). Threads: torch's
default unless ``--threads`` (on a shared machine, ``OMP_NUM_THREADS=1``).

Measured on this project's 2-core VM while others worked on it (one thread, ``--steps 100``, ``--steps 60`` for
MNIST): point GANs 0.65x (1 member), 0.77x (2), 0.80x (4), 0.86x (8), 0.84x (16), 0.74x (32); MNIST MLP GANs 0.69x
(1), 0.81x (4), 0.87x (8). On one CPU thread these models are bound by their matrix products, which batching does
not shorten (8 point-GAN discriminators: 13.6 ms as one pre-stacked ``baddbmm`` chain, 14.9 ms one after another,
18.0 ms through vmap, which adds each bias after its product); what a population saves is per-step overhead, which
wins for small models (``--set generator.hidden=8 --set discriminator.hidden=8 --batch-size 16``: 1.3x-1.6x at 8
members, 1.4x-1.9x at 32 over four runs) and on a GPU, where kernel launches dominate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganzoo.api import _flags
from ganzoo.config import resolve_config
from ganzoo.registry.registry import default_registry
from ganzoo.run.rundir import RunDir
from ganzoo.training.population import train_population
from ganzoo.training.trainer import Trainer

MIXES = {
    "points": ({"dataset": "parabola"}, []),
    "mnist": ({"dataset": "mnist", "batch_size": 64}, ["generator.batchnorm=false"]),
}


def _write_idx(path: Path, tensor: torch.Tensor) -> None:
    dims = tuple(tensor.shape)
    header = struct.pack(">I", 0x0800 | len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(header + tensor.to(torch.uint8).contiguous().numpy().tobytes())


def random_mnist(root: Path, n: int = 10_000) -> Path:
    """MNIST's four files in torchvision's layout, holding random pixels and labels."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    for prefix, count in (("train", n), ("t10k", 1000)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", torch.randint(0, 256, (count, 28, 28), generator=gen))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", torch.randint(0, 10, (count,), generator=gen))
    return root


def _rate(run: Path) -> float:
    """Steps per second of a run's metrics windows, the first (warm-up) left out."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    windows = [r["steps_per_sec"] for r in lines if "steps_per_sec" in r][1:]
    return statistics.mean(windows)


def measure(mix: str, members: int, args, scratch: Path) -> float:
    """Member-steps per second: of one ordinary run (``members == 0``), or of a population of ``members``."""
    registry = default_registry()
    options, sets = MIXES[mix]
    options = {**options, "steps": args.steps, "log_every": args.log_every, "sample_every": 0,
               "checkpoint_every": 0, "device": args.device}
    if args.batch_size:
        options["batch_size"] = args.batch_size
    sets = [*sets, *args.set]
    configs = [resolve_config(registry, _flags({**options, "seed": i}), None, sets) for i in range(max(members, 1))]
    runs = [Path(tempfile.mkdtemp(dir=scratch)) / "run" for _ in configs]
    if members == 0:
        Trainer(configs[0], registry, RunDir(runs[0])).fit()
    else:
        results = train_population(configs, runs, registry)
        failed = [r for r in results if not hasattr(r, "step")]
        if failed:
            raise SystemExit(f"{mix}, {members} members: {failed[0]}")
    return sum(_rate(run) for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="points,mnist", help="mixes to measure: points, mnist or both")
    parser.add_argument("--sizes", default="1,2,4,8,16,32", help="population sizes")
    parser.add_argument("--steps", type=int, default=200, help="steps per measurement (the first window is warm-up)")
    parser.add_argument("--log-every", type=int, default=25, help="steps per timed window")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--data-root", default=None, help="a folder holding MNIST/raw (default: random pixels)")
    parser.add_argument("--set", action="append", default=[], help="KIND.PARAM=VALUE for every run (repeatable)")
    parser.add_argument("--batch-size", type=int, default=None, help="instead of the mix's batch size")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.steps < 2 * args.log_every:
        raise SystemExit("--steps must be at least twice --log-every: the first window is warm-up")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        os.environ["GANZOO_DATA"] = args.data_root or str(random_mnist(scratch / "data"))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
              f"{args.steps} steps per measurement", flush=True)
        print(f"{'data':8} {'members':>8} {'member-steps/s':>15} {'one run':>8} {'ratio':>7}")
        for mix in args.data.split(","):
            one = measure(mix, 0, args, scratch)
            for m in sizes:  # each population between two measurements of the one run: a ratio of neighbours
                started = time.perf_counter()
                rate = measure(mix, m, args, scratch)
                took = time.perf_counter() - started
                after = measure(mix, 0, args, scratch)
                base = (one + after) / 2
                print(f"{mix:8} {m:8d} {rate:15.0f} {base:8.0f} {rate / base:6.2f}x  (one run {one:.0f} before, "
                      f"{after:.0f} after; population {took:.0f} s)", flush=True)
                one = after
    sys.stdout.flush()


if __name__ == "__main__":
    main()
