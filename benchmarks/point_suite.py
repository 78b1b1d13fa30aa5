"""The point suite: five 2-D datasets every point default must learn, each trained as a ``ganzoo sweep`` over seeds
and scored on what the dataset is about (issue 26's dogfood).

    python benchmarks/point_suite.py                                   # the defaults, every dataset, 3 seeds
    python benchmarks/point_suite.py --datasets ring,grid -- --reg none,lecam --lr-d 2e-4,4e-4
                                                                       # candidates: sweep flags after --

- parabola, sine: built in; scored by ``curve_error`` (mean |y - f(x)| in data units) and ``x_coverage``;
- two moons (10,000 points, noise 0.05) from a CSV: the share of samples within 0.2 of each moon;
- ring: 8 Gaussians of std 0.02 on a circle of radius 2, and grid: 5 x 5 Gaussians of std 0.05, 2 apart — the
  classic mode-collapse tests (Metz et al. 2017; Dumoulin et al. 2017; Lin et al. 2018). A sample is *good* within
  3 std of a mode; a mode is *covered* when at least 0.8% of all samples are good ones near it (PacGAN's rule).

Every dataset is a ``points-file`` CSV (moons, ring, grid) or a built-in one, trained through the ordinary CLI, so
what is measured is what a user gets. Each configuration is judged over every seed: it passes a dataset when every
seed meets the target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "helpers"))
from mixtures import GRID, RING, grid_centres, mixture, modes, ring_centres  # noqa: E402
from moons import moon_shares, two_moons, write_csv  # noqa: E402

SAMPLES = 10_000
@dataclass(frozen=True)
class PointSet:
    """One dataset of the suite: how to train it, how to score samples, and the target every seed must meet."""

    name: str
    flags: Callable[[Path], list[str]]  # `ganzoo sweep run` flags naming the data (writing its file under a folder)
    score: Callable[[Path, dict], dict[str, float]]  # (member run dir, its sweep metrics) -> scores
    passes: Callable[[dict[str, float]], bool]
    target: str
    columns: tuple[str, ...]


def _curve(name: str, max_error: float) -> PointSet:
    return PointSet(
        name, lambda _: ["--dataset", name],
        lambda _, m: {"curve_error": m["curve_error"], "x_coverage": m["x_coverage"]},
        lambda s: s["curve_error"] <= max_error and s["x_coverage"] == 1.0,
        f"curve_error <= {max_error}, x_coverage 1", ("curve_error", "x_coverage"))


def _csv(name: str, points: Callable[[], torch.Tensor]) -> Callable[[Path], list[str]]:
    def flags(folder: Path) -> list[str]:
        path = folder / f"{name}.csv"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_csv(path, points())
        return ["--dataset", "points-file", "--set", f"dataset.path={path.resolve()}"]
    return flags


def _sample(run_dir: Path) -> torch.Tensor:
    import ganzoo

    return ganzoo.sample(run_dir, SAMPLES, seed=1)


def _moons(run_dir: Path, _: dict) -> dict[str, float]:
    upper, lower, neither = moon_shares(_sample(run_dir))
    return {"upper": upper, "lower": lower, "neither": neither}


SUITE = {
    "parabola": _curve("parabola", 0.05),
    "sine": _curve("sine", 0.03),
    "moons": PointSet("moons", _csv("moons", lambda: two_moons(10_000)), _moons,
                      lambda s: min(s["upper"], s["lower"]) >= 0.4 and s["neither"] <= 0.1,
                      ">= 40% near each moon, <= 10% near neither", ("upper", "lower", "neither")),
    "ring": PointSet("ring", _csv("ring", lambda: mixture(ring_centres(), RING["std"])),
                     lambda run, _: modes(_sample(run), ring_centres(), RING["std"]),
                     lambda s: s["modes"] == 8 and s["good"] >= 0.9, "8/8 modes, >= 90% within 3 std",
                     ("modes", "good")),
    "grid": PointSet("grid", _csv("grid", lambda: mixture(grid_centres(), GRID["std"])),
                     lambda run, _: modes(_sample(run), grid_centres(), GRID["std"]),
                     lambda s: s["modes"] >= 24 and s["good"] >= 0.8, ">= 24/25 modes, >= 80% within 3 std",
                     ("modes", "good")),
}


def sweep_members(args: list[str], sweep: Path) -> Iterator[tuple[dict, dict, Path]]:
    """``ganzoo sweep run ARGS --out SWEEP`` (resuming one already there), then each member's plan entry, outcome
    and run directory, in plan order."""
    command = [sys.executable, "-m", "ganzoo", "sweep", "run", *args, "--out", str(sweep)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr.strip()[-2000:]}")
    for member in json.loads((sweep / "plan.json").read_text())["members"]:
        outcome = json.loads((sweep / "outcomes" / f"{member['name']}.json").read_text())
        yield member, outcome, sweep / "members" / member["name"]


def run_sweep(point_set: PointSet, out: Path, seeds: str, extra: list[str]) -> tuple[dict[str, list[dict]], float]:
    """Train the dataset's sweep (resuming one already there) and score every member: {configuration: [scores]}."""
    start = time.perf_counter()
    members = list(sweep_members([*point_set.flags(out / "data"), "--seed", seeds, *extra], out / point_set.name))
    seconds = time.perf_counter() - start
    results: dict[str, list[dict]] = {}
    for member, outcome, run_dir in members:
        if outcome["status"] != "done":
            scores = {"failed": outcome.get("message", outcome["status"])}
        else:
            scores = point_set.score(run_dir, outcome.get("metrics", {}))
        results.setdefault(member["label"], []).append({"seed": member["seed"], **scores})
    return results, seconds


def report(point_set: PointSet, results: dict[str, list[dict]], seconds: float) -> dict[str, bool]:
    """Print one table per dataset; return whether each configuration met the target on every seed."""
    print(f"\n### {point_set.name} ({point_set.target}; sweep {seconds:.0f} s)\n")
    width = max(len(label) for label in results) + 2
    print("configuration".ljust(width) + "".join(f"{c:>22}" for c in point_set.columns) + "   seeds met")
    verdicts = {}
    for label, rows in results.items():
        ok = [("failed" not in r) and point_set.passes(r) for r in rows]
        verdicts[label] = all(ok)
        cells = []
        for column in point_set.columns:
            values = [r[column] for r in rows if column in r]
            if not values:
                cells.append("failed".rjust(22))
                continue
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            per_seed = "/".join(f"{v:g}" for v in values) if column == "modes" else ""
            cells.append((per_seed or f"{statistics.mean(values):.4f} ± {spread:.4f}").rjust(22))
        print(label.ljust(width) + "".join(cells) + f"   {sum(ok)}/{len(ok)}", flush=True)
    return verdicts


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(SUITE))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default=None, help="sweeps go here (default: runs/point-suite/<time>); the same "
                                                    "folder resumes")
    args = parser.parse_args(argv)
    out = Path(args.out or f"runs/point-suite/{time.strftime('%Y%m%d-%H%M%S')}")
    print(f"## Point suite: `ganzoo sweep run --seed {args.seeds} {' '.join(extra)}` per dataset "
          f"({os.cpu_count()} CPU cores, torch {torch.__version__}); {SAMPLES:,} samples scored per member")
    met: dict[str, list[str]] = {}
    for name in args.datasets.split(","):
        point_set = SUITE[name]
        results, seconds = run_sweep(point_set, out, args.seeds, extra)
        for label, ok in report(point_set, results, seconds).items():
            met.setdefault(label, []).extend([name] if ok else [])
    print("\n### Every dataset on every seed\n")
    for label, names in met.items():
        print(f"{label}: {len(names)}/{len(args.datasets.split(','))} ({', '.join(names) or 'none'})")
    print(f"\nsweeps in {out}")


if __name__ == "__main__":
    main()
