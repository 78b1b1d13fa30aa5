"""One unit of a sweep, in the process that runs it: train (or resume) its members, evaluate them together, and
write each one's outcome.

    python -m ganzoo.sweep.worker SWEEP_DIR NAME [NAME...] [--threads N] [--population] [--logs DIR]

An engine starts this command (the local engine as a child process, Ray in a task, a batch system in a job), or
calls :func:`run_unit` in a process of its own. A member already finished is skipped; one with a checkpoint resumes
from it; one that diverges or fails gets its one-line message as its outcome, and the others go on.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import GanzooError, TrainingDiverged, first_line
from ..run.evaluation import DEFAULT_SAMPLES
from .plan import Member
from .sessions import finished_outcome, next_session
from .store import DIVERGED, DONE, FAILED, SweepDir

#: Exit status of a unit stopped by Ctrl-C or SIGTERM: its members saved checkpoints and resume next time.
INTERRUPTED = 130


def set_threads(threads: int | None) -> None:
    """This process's share of the cores: two torch processes that each spin every core slow each other down up
    to tenfold."""
    if threads:
        import torch

        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)
        torch.set_num_threads(threads)


def die_with_parent() -> None:
    """Linux: SIGTERM when the sweep's process dies (even by ``kill -9``), so a member saves its checkpoint and
    stops instead of training on, unwatched, in a directory the next run of the sweep resumes."""
    parent = os.environ.get("GANZOO_SWEEP_PARENT")
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


@contextmanager
def member_log(log_dir: Path | None, name: str) -> Iterator[None]:
    """This process's output (its file descriptors, so torch's and plugins' too) into the member's own log while it
    trains (a process trains several members in turn); nothing where ``log_dir`` is None (a process not of its
    own: a Ray task's output goes to Ray's logs)."""
    if log_dir is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


def run_unit(sweep_dir: str | Path, names: list[str], threads: int | None = None,
             population: bool = False, log_dir: Path | None = None) -> int:
    """Train the named members (as one population when ``population``, else in turn, each one's output into
    ``log_dir/NAME.log`` when given), evaluate those that ended together, and write each one's outcome. Returns 0,
    or :data:`INTERRUPTED` when a stop request interrupted training."""
    set_threads(threads)
    sweep = SweepDir(Path(sweep_dir).resolve())
    plan = sweep.read_plan()
    if plan.get("cwd") and Path(plan["cwd"]).is_dir():
        os.chdir(plan["cwd"])  # where the sweep was started: its relative paths mean the same here
    by_name = {m.name: m for m in plan["members"]}
    members = [by_name[n] for n in names if sweep.outcome(n) is None]
    if population and len(members) > 1:
        from .populations import train_members

        outcomes = train_members(sweep, members, plan)
    else:
        outcomes = []
        for member in members:
            with member_log(log_dir, member.name):
                outcome = _train(sweep, member)
            outcomes.append(outcome)
            if outcome is None:  # a stop request: the members after it wait for the next run
                break
    finish(sweep, [(m, o) for m, o in zip(members, outcomes) if o is not None], plan, population)
    return INTERRUPTED if any(outcome is None for outcome in outcomes) else 0


def _train(sweep: SweepDir, member: Member) -> dict[str, Any] | None:
    """One member on its own, as ``ganzoo train`` (or ``--resume``) would run it; None when interrupted (or left
    pending)."""
    from ..api import train

    run = sweep.run_dir(member.name)
    start = time.perf_counter()
    try:
        state, ckpt = next_session(run, member.name)
        if state == "busy":
            return None
        if state == "finished":
            return finished_outcome(run, ckpt)
        result = train(resume=run.path) if state == "resume" else train(**member.kwargs, out=run.path)
    except TrainingDiverged as err:
        return {"status": DIVERGED, "message": first_line(err, 1000), "seconds": time.perf_counter() - start}
    except GanzooError as err:
        return {"status": FAILED, "message": first_line(err, 1000), "seconds": time.perf_counter() - start}
    if result.interrupted:
        return None
    return {"status": DONE, "step": result.step, "seconds": result.seconds, "final": result.final}


def finish(sweep: SweepDir, ended: list[tuple[Member, dict[str, Any]]], plan: dict[str, Any],
           population: bool = False) -> None:
    """Evaluate the members that trained to their end, together (``scoring.py``), each with its own ``--metrics``
    (a plan written before members carried them may name the sweep's), and write every member's outcome."""
    done = [(m, o) for m, o in ended if o["status"] == DONE]
    if done:
        from ..registry.registry import default_registry
        from .scoring import evaluate_members

        samples = [plan.get("eval_samples") or m.kwargs.get("eval_samples") or DEFAULT_SAMPLES for m, _ in done]
        scored = evaluate_members([sweep.run_dir(m.name).path for m, _ in done], samples, default_registry(),
                                  plan.get("metrics") or None, stacked=population)
        for (_, outcome), result in zip(done, scored):
            if isinstance(result, GanzooError):
                outcome.update(status=FAILED, message=f"evaluation: {first_line(result, 1000)}")
            else:
                metrics, evaluator = result
                outcome.update(metrics=metrics, better=evaluator.better(), meaning=evaluator.descriptions())
    for member, outcome in ended:
        outcome["finished"] = time.time()
        sweep.write_outcome(member.name, outcome)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganzoo.sweep.worker", description=__doc__)
    parser.add_argument("sweep_dir")
    parser.add_argument("names", nargs="+")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--population", action="store_true")
    parser.add_argument("--logs", type=Path, default=None, help="each member's output into LOGS/NAME.log")
    args = parser.parse_args(argv)
    die_with_parent()
    try:
        return run_unit(args.sweep_dir, args.names, args.threads, args.population, args.logs)
    except GanzooError as err:
        print(f"error: {first_line(err, 1000)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    code = main()
    # Everything a unit leaves is written (atomically) and closed by now: skip the interpreter's teardown of torch
    # (1-2 s of freeing modules, measured on the 2-core VM), which the sweep would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
