"""Crashes and interruptions (issue 9): ``kill -9`` at any moment, Ctrl-C / SIGTERM and divergence never leave a
run that cannot be loaded or resumed. The bad-input matrix and the security checks are in test_reliability.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganzoo import GANLoss, LossSpec, hookimpl
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.run.rundir import RunDir


def _ganzoo_process(run: Path, *extra: str, log: Path | None = None) -> subprocess.Popen:
    """``python -m ganzoo train`` on tiny parabola data with tiny models, as a real process that signals can reach.

    One thread: on a few shared cores, torch's thread pool spin-waiting against other processes makes a step of these
    tiny models a hundred times slower."""
    env = {**os.environ, "GANZOO_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
    out = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "train", "--steps", "1000000", "--set", "dataset.n=64", "--batch-size", "16",
         "--set", "generator.hidden=16", "--set", "discriminator.hidden=16", "--sample-every", "0", "--out", str(run),
         *extra],
        stdout=out, stderr=subprocess.STDOUT if log else subprocess.PIPE, text=True, env=env,
    )


def _metric_lines(run: Path) -> int:
    try:
        return (run / "metrics.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_a_run_that_loads_and_resumes(tmp_path, invoke):
    """Three real runs killed with SIGKILL at different points (one aimed at a checkpoint being written): each
    time ``latest.pt`` loads, the metrics log parses, and ``--resume`` finishes the run with one line per step."""
    runs = [tmp_path / f"run{i}" for i in range(3)]
    kill_after = [7, 23, 61]  # metric lines (one per step; a checkpoint every 5 steps)
    procs = [_ganzoo_process(run, "--log-every", "1", "--checkpoint-every", "5", "-q", log=tmp_path / f"log{i}")
             for i, run in enumerate(runs)]
    try:
        pending, deadline = set(range(3)), time.time() + 60
        while pending and time.time() < deadline:
            for i in list(pending):
                assert procs[i].poll() is None, (tmp_path / f"log{i}").read_text()
                lines = _metric_lines(runs[i])
                mid_write = i == 1 and lines > 12 and any(runs[i].glob("checkpoints/.*.tmp-*"))
                if lines >= kill_after[i] or mid_write:
                    procs[i].kill()
                    procs[i].wait(timeout=30)
                    pending.discard(i)
            time.sleep(0.002)
        assert not pending, "the runs did not get going within 60 s"
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
    for run in runs:
        step = load_checkpoint(run / "checkpoints" / "latest.pt")["step"]
        assert step >= 5 and step % 5 == 0
        logged = [r["step"] for r in RunDir(run).read_metrics()]  # a partial last line is skipped, not an error
        assert logged == list(range(1, len(logged) + 1)) and len(logged) >= step
        invoke("train", "--resume", run, "--steps", step + 3, "-q")
        assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == step + 3
        assert [r["step"] for r in RunDir(run).read_metrics()] == list(range(1, step + 4))
        assert not list(run.rglob(".*.tmp-*"))  # a killed write's temporary file is cleared by the next session


def test_a_new_session_clears_temporaries_of_dead_writers_only(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = RunDir(tmp_path / "run")
    run.create()
    planted = {
        "dead": [run.checkpoints / f".latest.pt.tmp-{dead.pid}", run.samples / f".step_0000010.tmp-{dead.pid}.png",
                 run.path / f".metrics.jsonl.tmp-{dead.pid}"],
        "alive": [run.checkpoints / f".latest.pt.tmp-{os.getpid()}"],  # e.g. another process writing right now
    }
    for path in (*planted["dead"], *planted["alive"]):
        path.write_bytes(b"half a file")
    run.create()
    assert not any(p.exists() for p in planted["dead"]) and all(p.exists() for p in planted["alive"])


@pytest.mark.slow
def test_sigint_and_sigterm_save_a_checkpoint_and_say_how_to_resume(tmp_path):
    codes = {signal.SIGINT: 130, signal.SIGTERM: 143}
    runs = {sig: tmp_path / sig.name for sig in codes}
    procs = {sig: _ganzoo_process(run, "--log-every", "10", "--checkpoint-every", "0") for sig, run in runs.items()}
    deadline = time.time() + 60
    for sig, proc in procs.items():
        while time.time() < deadline and _metric_lines(runs[sig]) < 1 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(sig)
    for sig, proc in procs.items():
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == codes[sig], stderr
        assert f"stopped by {sig.name}" in stderr and f"Resume with: ganzoo train --resume {runs[sig]}" in stderr
        ckpt = load_checkpoint(runs[sig] / "checkpoints" / "latest.pt")  # the step it stopped at, not a kept one
        assert ckpt["step"] >= 10 and ckpt["step"] >= RunDir(runs[sig]).read_metrics()[-1]["step"]


class ExplodingLoss(GANLoss):
    """A loss that turns NaN after a few steps, like a diverging run."""

    def __init__(self):
        self.calls = 0

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        self.calls += 1
        scale = float("nan") if self.calls > 30 else 1.0
        return (real_logits.mean() - fake_logits.mean()) * scale

    def generator_loss(self, fake_logits, ctx):
        return -fake_logits.mean()


class ExplodingPlugin:
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="explode", factory=ExplodingLoss, description="NaN after 30 steps")


def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(invoke, plugin, tmp_path):
    plugin(ExplodingPlugin(), name="explode")
    result = invoke("train", "-l", "explode", "--steps", "100", "--log-every", "10", "--checkpoint-every", "20",
                    "--set", "dataset.n=64", "--sample-every", "0", "-q", "--out", tmp_path / "run", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "training diverged by step 40" in errors[0] and "lower learning rates" in errors[0]
    assert "another loss" in errors[0] and "the last good checkpoint is kept" in errors[0]
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["step"] == 20  # the last good one


@pytest.mark.slow
def test_one_trainer_per_run_directory_and_a_dead_holders_lock_is_taken_over(tmp_path, invoke):
    """Two real processes on one run directory: the second gets one line naming the first's PID and host and exits
    non-zero, having written nothing; once the first is killed (-9, its lock left behind), a resume takes over."""
    import json
    import socket

    run = tmp_path / "run"
    first = _ganzoo_process(run, "--log-every", "1", "--checkpoint-every", "5", "-q", log=tmp_path / "first.log")
    try:
        deadline = time.time() + 60
        while _metric_lines(run) < 12 and time.time() < deadline:
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            time.sleep(0.01)
        env = {**os.environ, "GANZOO_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
        second = subprocess.run([sys.executable, "-m", "ganzoo", "train", "--resume", str(run), "--steps", "2000000",
                                 "-q"], capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 1, second.stderr
        assert second.stderr.count("\n") == 1 and second.stderr.startswith("error: ")
        assert f"is being trained by PID {first.pid} on {socket.gethostname()}" in second.stderr
        lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        assert [r["step"] for r in lines] == list(range(1, len(lines) + 1))  # one writer: in order, no duplicates
        assert first.poll() is None  # the first trainer never noticed
    finally:
        first.kill()
        first.wait(timeout=30)
    assert (run / ".lock").read_text().split()[0] == str(first.pid)  # a dead holder's lock file stays behind
    step = load_checkpoint(run / "checkpoints" / "latest.pt")["step"]
    invoke("train", "--resume", run, "--steps", step + 2, "-q")  # ... and is taken over
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == step + 2
    assert (run / ".lock").read_text().split()[0] == str(os.getpid())


def test_readers_do_not_take_the_lock(tmp_path, invoke):
    run = tmp_path / "run"
    invoke("train", "--steps", "4", "--set", "dataset.n=64", "--out", run, "-q")
    with RunDir(run).training_lock():  # as if a trainer held it
        invoke("sample", run, "-n", "4", "-o", tmp_path / "s.pt")
        invoke("evaluate", run, "--samples", "64")
        invoke("runs", tmp_path)
        result = invoke("train", "--resume", run, "--steps", "8", expect=1)
        assert f"is being trained by PID {os.getpid()}" in result.stderr
