"""Faults outside the trainer's happy path (issue 23): a full disk, a run directory deleted mid-training, a plugin
that raises mid-training. Each is one line and a non-zero exit, and nothing is left truncated or unusable."""

from __future__ import annotations

import builtins
import errno
import shutil

import pytest
import torch

from ganzoo import GANLoss, LossSpec, hookimpl
from ganzoo.run import checkpoint
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.training.trainer import Trainer

TINY = ["--set", "dataset.n=64", "--set", "generator.hidden=8", "--set", "discriminator.hidden=8",
        "--batch-size", "16", "--sample-every", "0", "-q"]


def _one_error(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes are written, as on a full disk."""

    def __init__(self, f, room: int) -> None:
        self._f, self._room = f, room

    def write(self, data) -> int:
        self._room -= len(data)
        if self._room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


def _fill_disk_after(monkeypatch, writes: int, room: int = 1000) -> None:
    """Let the first ``writes`` atomic writes through, then make the disk full."""
    calls = {"n": 0}

    def fake_open(path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)  # noqa: SIM115 - closed by the writer's `with`
        calls["n"] += 1
        return _FullDisk(f, room) if calls["n"] > writes else f

    monkeypatch.setattr(checkpoint, "open", fake_open, raising=False)


def test_a_full_disk_while_checkpointing_is_one_line_and_the_last_checkpoint_stays_whole(invoke, tmp_path,
                                                                                          monkeypatch):
    run = tmp_path / "run"
    _fill_disk_after(monkeypatch, writes=3)  # config.toml, step_10.pt and latest.pt fit; step_20.pt does not
    result = invoke("train", *TINY, "--steps", "30", "--checkpoint-every", "10", "--out", run, expect=1)
    line = _one_error(result)
    assert f"cannot write {run / 'checkpoints' / 'step_0000020.pt'}: No space left on device" in line
    assert f"the last checkpoint ({run / 'checkpoints' / 'latest.pt'}) is whole" in line and "--resume" in line
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 10  # whole, and the last good one
    assert not list(run.rglob(".*.tmp-*"))  # no half-written temporary left behind
    monkeypatch.undo()
    invoke("train", "--resume", run, "-q")  # and it resumes once there is room
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 30


def test_a_full_disk_while_sampling_leaves_no_truncated_file(invoke, tmp_path, monkeypatch):
    run = tmp_path / "run"
    invoke("train", *TINY, "--steps", "2", "--out", run)
    _fill_disk_after(monkeypatch, writes=0, room=100)
    for name in ("x.pt", "x.png"):
        line = _one_error(invoke("sample", run, "-n", "64", "-o", tmp_path / name, expect=1))
        assert f"cannot write {tmp_path / name}: No space left on device; nothing was written" in line
        assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_a_run_directory_deleted_mid_training_is_one_line(invoke, tmp_path, monkeypatch):
    run = tmp_path / "run"
    step = Trainer.train_step

    def delete_at_step_3(self):
        if self.step == 3:
            shutil.rmtree(run)
        step(self)

    monkeypatch.setattr(Trainer, "train_step", delete_at_step_3)
    line = _one_error(invoke("train", *TINY, "--steps", "20", "--log-every", "5", "--out", run, expect=1))
    assert f"the run directory {run} was deleted or moved while training" in line


class _Fragile(GANLoss):
    """A loss with a bug that shows at step 5 (while ``broken`` is set; the trial step before training puts its
    call count back)."""

    broken = True
    error = ValueError

    def __init__(self) -> None:
        self.calls = 0

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        self.calls += 1
        if self.broken and self.calls == 5:
            raise self.error("operands could not be broadcast together")
        return torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()

    def generator_loss(self, fake_logits, ctx):
        return torch.nn.functional.softplus(-fake_logits).mean()


class _FragilePlugin:
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="fragile", factory=_Fragile, description="breaks at step 5")


@pytest.fixture
def fragile(plugin, monkeypatch):
    monkeypatch.setattr(_Fragile, "broken", True)
    plugin(_FragilePlugin(), name="fragile-plugin")


def test_a_plugin_raising_mid_training_is_named_and_the_run_resumes_from_its_checkpoint(invoke, tmp_path, fragile,
                                                                                       monkeypatch):
    run = tmp_path / "run"
    line = _one_error(invoke("train", *TINY, "-l", "fragile", "--steps", "8", "--checkpoint-every", "2", "--out", run,
                             expect=1))
    assert "loss 'fragile' (plugin 'fragile-plugin') raised in D's step at step 5: ValueError: operands" in line
    assert f"the last checkpoint ({run / 'checkpoints' / 'latest.pt'}) is kept" in line and "--resume" in line
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 4
    monkeypatch.setattr(_Fragile, "broken", False)  # the plugin is fixed
    invoke("train", "--resume", run, "-q")
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 8


def test_a_plugin_raising_a_runtime_error_is_named_too(invoke, tmp_path, fragile, monkeypatch):
    """torch's own errors (a shape mismatch) are RuntimeErrors: only an out-of-memory one means something else."""
    monkeypatch.setattr(_Fragile, "error", RuntimeError)
    line = _one_error(invoke("train", *TINY, "-l", "fragile", "--steps", "8", "--out", tmp_path / "run", expect=1))
    assert "loss 'fragile' (plugin 'fragile-plugin') raised in D's step at step 5: RuntimeError: operands" in line


def test_a_plugin_raising_before_the_first_checkpoint_leaves_the_directory_free_for_the_same_command(
        invoke, tmp_path, fragile, monkeypatch):
    run = tmp_path / "run"
    command = ["train", *TINY, "-l", "fragile", "--steps", "8", "--out", run]
    line = _one_error(invoke(*command, expect=1))
    assert "loss 'fragile' (plugin 'fragile-plugin') raised in D's step at step 5" in line
    assert "no checkpoint had been written" in line
    monkeypatch.setattr(_Fragile, "broken", False)
    invoke(*command)  # the same --out is not "not empty"
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 8


def test_a_failing_submodule_of_a_model_names_the_model(registry, tmp_path):
    """The innermost frame inside a component names it: a layer deep in D names the discriminator."""
    from ganzoo.config import resolve_config
    from ganzoo.errors import PluginError
    from ganzoo.run.rundir import RunDir

    cfg = resolve_config(registry, {"steps": 3, "batch_size": 8}, sets=["dataset.n=32"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    layer = next(m for m in trainer.D.modules() if isinstance(m, torch.nn.Linear))
    layer.register_forward_pre_hook(lambda m, args: 1 / 0)  # a bug inside D's forward
    with pytest.raises(PluginError, match=r"discriminator 'mlp' \(ganzoo [^)]*\) raised in D's step at step 1: Zero"):
        trainer.fit()


@pytest.mark.slow
def test_a_run_still_before_its_first_checkpoint_says_it_is_training(invoke, tmp_path):
    import os
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    env = {**os.environ, "GANZOO_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "train", *TINY, "--steps", "1000000",
                             "--checkpoint-every", "1000000", "--out", str(run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (run / "metrics.jsonl").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        line = _one_error(invoke("sample", run, "-o", tmp_path / "s.png", expect=1))
        assert f"is still training (PID {proc.pid}) and has not written its first checkpoint yet" in line
    finally:
        proc.kill()
        proc.wait()
    # its trainer is gone: the usual advice
    line = _one_error(invoke("sample", run, "-o", tmp_path / "s.png", expect=1))
    assert "stopped before its first checkpoint" in line


def test_sampling_or_evaluating_more_than_memory_holds_is_refused_up_front(invoke, tmp_path, monkeypatch):
    from ganzoo.run import limits

    run = tmp_path / "run"
    invoke("train", *TINY, "--steps", "2", "--out", run)
    line = _one_error(invoke("sample", run, "-n", "200000", "-o", tmp_path / "big.png", expect=1))
    assert "a picture shows at most 100,000 samples" in line and "-o FILE.pt" in line
    monkeypatch.setattr(limits, "free_memory", lambda: 2**30)  # 1 GiB free
    line = _one_error(invoke("sample", run, "-n", "10000000", "-o", tmp_path / "big.pt", expect=1))
    assert "-n 10,000,000: 10,000,000 samples of" in line and "GB of memory, over half the 1.0 GB free" in line
    assert not (tmp_path / "big.pt").exists()
    invoke("sample", run, "-n", "100000", "-o", tmp_path / "fits.pt")  # 100,000 points fit in 1 GiB
    assert torch.load(tmp_path / "fits.pt").shape == (100_000, 2)
    line = _one_error(invoke("evaluate", run, "--samples", "10000000", expect=1))
    assert "--samples 10,000,000: metrics hold every sample" in line and "at most 200,000" in line


class _BrokenMetricPlugin:
    @hookimpl
    def ganzoo_metrics(self):
        from ganzoo import MetricSpec

        def compute(ctx):
            raise KeyError("features")

        yield MetricSpec(name="broken-metric", description="raises", compute=compute, keys={"b": "nothing"})


def test_a_metric_that_raises_is_one_warning_and_left_out_while_training_and_the_others_go_on(invoke, plugin,
                                                                                              tmp_path):
    import json

    plugin(_BrokenMetricPlugin(), name="broken-metric-plugin")
    run = tmp_path / "run"
    result = invoke("train", *TINY, "--steps", "6", "--eval-every", "2", "--eval-samples", "64", "--out", run)
    warnings = [line for line in result.stderr.splitlines() if "metric 'broken-metric' failed" in line]
    assert len(warnings) == 1 and "left out from now on: KeyError: 'features'" in warnings[0]  # once, not per eval
    evals = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "curve_error" in r]
    assert [r["step"] for r in evals] == [2, 4, 6]  # the other metrics went on
    result = invoke("evaluate", run, "--samples", "64")
    assert "curve_error" in result.stdout and "metric 'broken-metric' failed" in result.stderr


class _Vector(_Fragile):
    broken = False

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        return torch.nn.functional.softplus(-real_logits)  # forgot the .mean()


class _VectorPlugin:
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="vector", factory=_Vector, description="returns a vector")


def test_a_loss_that_returns_a_vector_is_named_before_backward_fails(invoke, plugin, tmp_path):
    plugin(_VectorPlugin(), name="vector-plugin")
    line = _one_error(invoke("train", *TINY, "-l", "vector", "--steps", "3", "--out", tmp_path / "r", expect=1))
    assert "loss 'vector' returned a D loss of shape (16,); it must be a scalar tensor (reduce it with .mean())" in line


def test_ganzoo_traceback_shows_where_a_plugin_raised(invoke, tmp_path, fragile, monkeypatch):
    from ganzoo.training.trainer import Trainer as _Trainer  # noqa: F401 - the CLI's trainer

    monkeypatch.setenv("GANZOO_TRACEBACK", "1")
    with pytest.raises(ValueError, match="operands could not be broadcast"):
        invoke("train", *TINY, "-l", "fragile", "--steps", "8", "--out", tmp_path / "r", expect=None)
