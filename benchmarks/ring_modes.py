"""Mode coverage on a ring of 8 Gaussians, over seeds: the standard mode-collapse test, for the regularisers of the
step's second opening against the default point mix.

    python benchmarks/ring_modes.py                      # 3 seeds, 2,000 steps each
    python benchmarks/ring_modes.py --seeds 5 --steps 4000

The ring (8 Gaussians of std 0.05 on a circle of radius 2, 10,000 points) is written as a points file, so every
mix trains through the ordinary `points-file` dataset with ganzoo's defaults for 2-D points. After training, 2,000
samples of the EMA generator are drawn; a sample is *good* within 3 std of a mode, and a mode is *covered* when at
least 1% of the samples are good ones near it (Srivastava et al. 2017's VEEGAN protocol, with its 3-std rule).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

MODES, RADIUS, STD = 8, 2.0, 0.05
MIXES = {
    "default (nonsaturating)": {},
    "lecam": {"reg": [{"name": "lecam"}]},
    "bcr": {"reg": [{"name": "bcr"}]},
    "rpgan + r1 + r2 (R3GAN)": {"loss": "rpgan"},
}


def write_ring(path: Path, n: int = 10_000) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    angle = torch.randint(0, MODES, (n,), generator=gen) * (2 * math.pi / MODES)
    points = torch.stack([angle.cos(), angle.sin()], 1) * RADIUS + STD * torch.randn(n, 2, generator=gen)
    path.write_text("x,y\n" + "".join(f"{x:.5f},{y:.5f}\n" for x, y in points.tolist()))
    centres = torch.stack([torch.arange(MODES) * (2 * math.pi / MODES)]).T
    return torch.cat([centres.cos(), centres.sin()], 1) * RADIUS


def coverage(samples: torch.Tensor, centres: torch.Tensor) -> tuple[int, float]:
    """(modes covered, share of good samples)."""
    distance = torch.cdist(samples, centres)
    nearest, which = distance.min(1)
    good = nearest < 3 * STD
    counts = torch.bincount(which[good], minlength=MODES)
    return int((counts >= 0.01 * len(samples)).sum()), good.float().mean().item()


def main() -> None:
    import ganzoo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("GANZOO_LOAD_PLUGINS", "")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "ring.csv"
        centres = write_ring(data)
        print(f"# ring_modes: {MODES} Gaussians (std {STD}, radius {RADIUS}), {args.steps} steps, "
              f"{args.seeds} seeds, 2,000 EMA samples; torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"{'mix':26} {'modes covered per seed':24} {'mean':>5} {'good samples':>13} {'s/run':>6}")
        for name, options in MIXES.items():
            modes, good, seconds = [], [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                run = ganzoo.train(dataset="points-file", set=[f"dataset.path={data}"], steps=args.steps,
                                   seed=seed, sample_every=0, checkpoint_every=0, out=Path(tmp) / f"{name}-{seed}",
                                   reporter=None, **options)
                seconds.append(time.perf_counter() - start)
                m, g = coverage(ganzoo.sample(run.run_dir, 2000, seed=seed), centres)
                modes.append(m)
                good.append(g)
            print(f"{name:26} {'/'.join(map(str, modes)):24} {statistics.mean(modes):5.1f} "
                  f"{statistics.mean(good):13.2f} {statistics.mean(seconds):6.1f}")


if __name__ == "__main__":
    main()
