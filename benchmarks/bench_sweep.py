"""Wall time of a sweep against the shell loop it replaces (issue 26), measured in the same run on an idle machine.

    python benchmarks/bench_sweep.py                 # 8 seeds of the default point run (the issue's benchmark)
    python benchmarks/bench_sweep.py --seeds 4 --steps 1500   # a quicker look

Reference: N sequential ``ganzoo train --seed k`` processes, one after another (what a user's shell loop does; no
evaluation). Sweep: ``ganzoo sweep --seeds N``, which also evaluates every member on its metrics. Both start from
the command line, so both pay for Python and torch starting up. Goal on the 2-core CPU: sweep / loop <= 0.5.
Population throughput (member-steps per second against one run) is ``benchmarks/bench_population.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=None, help="default: the default run's own steps")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    ganzoo = [sys.executable, "-m", "ganzoo"]
    steps = ["--steps", str(args.steps)] if args.steps else []
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    env_note = f"{os.cpu_count()} CPU cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    print(f"## ganzoo sweep --seeds {args.seeds} against {args.seeds} sequential `ganzoo train` ({env_note})\n",
          flush=True)
    try:
        loop = sum(_run([*ganzoo, "train", *steps, "--seed", str(k), "--out", str(work / f"loop-{k}"), "-q"])[0]
                   for k in range(args.seeds))
        print(f"shell loop of ganzoo train: {loop:7.1f} s", flush=True)
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        sweep, said = _run([*ganzoo, "sweep", *steps, "--seeds", str(args.seeds), *jobs, "--out",
                            str(work / "sweep")])
        board = json.loads(subprocess.run([*ganzoo, "sweep", "show", str(work / "sweep"), "--json"], check=True,
                                          capture_output=True, text=True).stdout)
        (row,) = board["configurations"]
        print(f"ganzoo sweep (+ evaluation): {sweep:7.1f} s   ({row['done']} members done)", flush=True)
        key = board["by"]
        stat = row["metrics"][key]
        print(f"\nsweep / loop = {sweep / loop:.2f} (goal <= 0.50); {key} over the seeds: {stat['mean']:.3f} ± "
              f"{stat['std']:.3f} (n = {stat['n']})")
        print("how the sweep ran:", *[line for line in said.splitlines() if "member(s) as" in line], sep="\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
