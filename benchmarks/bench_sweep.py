"""Wall time of a sweep against the shell loop it replaces (issue 26), measured in the same run on an idle machine,
and where each one's time went.

    python benchmarks/bench_sweep.py                 # 8 seeds of the default point run (the issue's benchmark)
    python benchmarks/bench_sweep.py --seeds 4 --steps 1500   # a quicker look

Reference: N sequential ``ganzoo train --seed k`` processes, one after another (what a user's shell loop does; no
evaluation). Sweep: ``ganzoo sweep --seeds N``, which also evaluates every member on its metrics. Both start from
the command line, so both pay for Python and torch starting up. Goal on the 2-core CPU: sweep / loop <= 0.5.
Population throughput (member-steps per second against one run) is ``benchmarks/bench_population.py``.

The breakdown reads the times the runs' files were written: a member starts training when it locks its run
directory (``.lock``) and ends when it draws its loss curve (``loss_curve.png``); a sweep member's outcome is written
after its evaluation. On a machine shared with other work the ratio moves with the load: two-thread processes (the
loop's) lose more to a busy core than one-thread ones (the sweep's), so quote idle measurements.
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


def _run(command: list[str]) -> tuple[float, float, float, str]:
    start = time.time()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    end = time.time()
    return end - start, start, end, done.stdout + done.stderr


def _stamps(run: Path) -> tuple[float, float]:
    """When a run started training (its lock) and when it ended (its loss curve)."""
    return (run / ".lock").stat().st_mtime, (run / "loss_curve.png").stat().st_mtime


def loop_breakdown(runs: list[tuple[Path, float, float]]) -> dict[str, float]:
    """Seconds summed over the loop's processes: before training, training, after it (writing, exiting)."""
    out = {"start-up": 0.0, "training": 0.0, "exit": 0.0}
    for run, start, end in runs:
        began, ended = _stamps(run)
        out["start-up"] += began - start
        out["training"] += ended - began
        out["exit"] += end - ended
    return out


def sweep_breakdown(sweep: Path, start: float, end: float) -> dict[str, float]:
    """The sweep's wall time: until its first member trained, while members trained, evaluating and writing the
    outcomes after the last one, and the leaderboard, picture and exit after that."""
    stamps = [_stamps(run) for run in sorted((sweep / "members").iterdir())]
    finished = [json.loads(p.read_text())["finished"] for p in (sweep / "outcomes").glob("*.json")]
    first, last = min(b for b, _ in stamps), max(e for _, e in stamps)
    return {"start-up": first - start, "training": last - first, "evaluation": max(finished) - last,
            "board and exit": end - max(finished)}


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
        runs, loop = [], 0.0
        for k in range(args.seeds):
            out = work / f"loop-{k}"
            seconds, start, end, _ = _run([*ganzoo, "train", *steps, "--seed", str(k), "--out", str(out), "-q"])
            runs.append((out, start, end))
            loop += seconds
        print(f"shell loop of ganzoo train:  {loop:7.1f} s", flush=True)
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        sweep, start, end, said = _run([*ganzoo, "sweep", *steps, "--seeds", str(args.seeds), *jobs, "--out",
                                        str(work / "sweep")])
        board = json.loads(subprocess.run([*ganzoo, "sweep", "show", str(work / "sweep"), "--json"], check=True,
                                          capture_output=True, text=True).stdout)
        (row,) = board["configurations"]
        print(f"ganzoo sweep (+ evaluation): {sweep:7.1f} s   ({row['done']} members done)", flush=True)
        key = board["by"]
        stat = row["metrics"][key]
        print(f"\nsweep / loop = {sweep / loop:.2f} (goal <= 0.50); {key} over the seeds: {stat['mean']:.3f} ± "
              f"{stat['std']:.3f} (n = {stat['n']})")
        print("how the sweep ran:", *[line for line in said.splitlines() if "member(s)" in line], sep="\n")
        print("\nwhere the time went (s):")
        print("  loop, summed over its processes: " + ", ".join(f"{k} {v:.1f}"
                                                              for k, v in loop_breakdown(runs).items()))
        print("  sweep, wall: " + ", ".join(f"{k} {v:.1f}"
                                           for k, v in sweep_breakdown(work / "sweep", start, end).items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
