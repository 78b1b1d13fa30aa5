"""The speed paths: --compile (plain checkpoints, resume), CUDA-only paths that skip cleanly, no host syncs per step,
and the training benchmark's loops."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers.host_reads import record_host_reads

import ganzoo
from ganzoo.config import resolve_config
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.run.rundir import RunDir
from ganzoo.training.trainer import Trainer, _scores_per_sample

TINY = {"set": ["dataset.n=256", "generator.hidden=16,16", "discriminator.hidden=16,16"], "batch_size": 16,
        "sample_every": 0, "log_every": 5}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def light_compile(monkeypatch):
    """torch.compile with dynamo's ``eager`` backend: the same wrapping and tracing, without minutes of C++ kernel
    builds on a 2-core CPU. Records the modes ganzoo asked for."""
    real, modes = torch.compile, []

    def compile_(model, mode=None, **kwargs):
        modes.append(mode)
        return real(model, backend="eager")

    monkeypatch.setattr(torch, "compile", compile_)
    yield modes
    torch._dynamo.reset()


@pytest.mark.slow
def test_compile_trains_keeps_checkpoints_plain_and_resumes(light_compile, tmp_path):
    result = ganzoo.train(steps=6, compile=True, ema=0.9, out=tmp_path / "c", checkpoint_every=0, **TINY)
    assert light_compile == ["default", "default"]  # G and D, default mode on the CPU
    assert all(math.isfinite(result.final[k]) for k in ("d_loss", "g_loss"))
    ckpt = load_checkpoint(tmp_path / "c" / "checkpoints" / "latest.pt")
    for part in ("generator", "discriminator", "ema"):
        assert ckpt[part] and not any("_orig_mod" in key for key in ckpt[part]), part
    # Compiled or not, the loop trains the same modules: the same seed gives the same weights.
    ganzoo.train(steps=6, ema=0.9, out=tmp_path / "e", checkpoint_every=0, **TINY)
    eager = load_checkpoint(tmp_path / "e" / "checkpoints" / "latest.pt")
    for key, value in eager["generator"].items():
        assert torch.allclose(value, ckpt["generator"][key], atol=1e-5), key
    resumed = ganzoo.train(resume=tmp_path / "c", steps=8)
    assert resumed.step == 8 and math.isfinite(resumed.final["d_loss"])


def test_compile_mode_and_toolchain_errors_are_one_line(invoke, monkeypatch, tmp_path):
    result = invoke("train", "--compile-mode", "fastest", "--steps", "2", "--out", tmp_path / "a", expect=1)
    assert "--compile-mode 'fastest' is not a torch.compile mode" in result.stderr and "Traceback" not in result.stderr
    monkeypatch.setattr("ganzoo.training.compiled.shutil.which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    result = invoke("train", "--compile", "--device", "cpu", "--steps", "2", "--out", tmp_path / "b", expect=1)
    assert "needs a C++ compiler" in result.stderr and "without --compile" in result.stderr


def test_no_host_reads_inside_the_training_step(registry, monkeypatch, tmp_path):
    """Statistics stay on the device: a step never turns a tensor into a Python number (that would sync a GPU)."""
    cfg = resolve_config(registry, {"steps": 5, "ema": 0.9, "batch_size": 16}, sets=TINY["set"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    reads = record_host_reads(monkeypatch)
    for _ in range(3):
        trainer.train_step()
    monkeypatch.undo()
    assert reads == [] and trainer.stats.sums.abs().sum() > 0


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_a_per_sample_discriminator_scores_real_and_fake_in_one_pass_with_the_same_result(registry, tmp_path, loss):
    """mlp D declares per_sample: one D call of 2B samples replaces two of B, and a step lands on the same weights."""
    cfg = resolve_config(registry, {"steps": 5, "batch_size": 16, "loss": loss, "d_steps": 2}, sets=TINY["set"])
    joint, apart = (Trainer(cfg, registry, RunDir(tmp_path / name)) for name in ("joint", "apart"))
    apart.joint_d = False
    calls = {"joint": [], "apart": []}
    for name, trainer in (("joint", joint), ("apart", apart)):
        # plain SGD: Adam's first step is ±lr for any gradient far above eps, so it would turn a float rounding
        # difference in a near-zero gradient into a whole step; SGD shows the gradients themselves agree
        trainer.d.optimizer, trainer.g.optimizer = (torch.optim.SGD(m.parameters(), lr=0.1)
                                                    for m in (trainer.D, trainer.G))
        trainer.D.register_forward_hook(lambda m, args, out, _n=name: calls[_n].append(len(args[0])))
        torch.manual_seed(3)
        trainer.train_step()
    assert joint.joint_d and calls["joint"].count(32) == 2 and 32 not in calls["apart"]  # 2B once per D update
    assert len(calls["apart"]) - len(calls["joint"]) == 2  # (wgan-gp adds its penalty's calls to both)
    for a, b in zip([*joint.G.parameters(), *joint.D.parameters()], [*apart.G.parameters(), *apart.D.parameters()]):
        assert torch.allclose(a, b, atol=1e-6)
    assert not all(torch.equal(a, b) for a, b in zip(joint.D.parameters(), Trainer(
        cfg, registry, RunDir(tmp_path / "fresh")).D.parameters()))  # the step did change D


def test_only_a_declared_per_sample_discriminator_without_batchnorm_shares_a_pass():
    from torch import nn

    plain = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(), nn.Linear(4, 1))
    assert _scores_per_sample(SimpleNamespace(per_sample=True), plain)
    assert not _scores_per_sample(SimpleNamespace(per_sample=False), plain)  # the default: no promise, no sharing
    for norm in (nn.BatchNorm1d(4), nn.SyncBatchNorm(4), nn.LazyBatchNorm1d()):
        assert not _scores_per_sample(SimpleNamespace(per_sample=True), nn.Sequential(nn.Linear(2, 4), norm))


@CUDA
@pytest.mark.parametrize("compile_", [False, True])
def test_cuda_amp_and_compile_train_without_per_step_syncs(tmp_path, compile_):
    """bf16 autocast (+ torch.compile with CUDA graphs): finite losses, plain checkpoints, and no synchronisation
    inside the steps (torch raises on one in sync debug mode)."""
    registry = ganzoo.registry.registry.default_registry()
    cfg = resolve_config(registry, {"steps": 30, "amp": True, "compile": compile_, "device": "cuda",
                                    "batch_size": 64, "ema": 0.99}, sets=TINY["set"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    for _ in range(5):  # compile and capture first; then the steady state must not sync
        trainer.train_step()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(10):
            trainer.train_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(trainer.stats.sums).all()
    result = trainer.fit()
    ckpt = load_checkpoint(tmp_path / "r" / "checkpoints" / "latest.pt")
    assert result.step == 30 and not any("_orig_mod" in k for k in ckpt["generator"])


@CUDA
def test_cuda_fused_adam():
    registry = ganzoo.registry.registry.default_registry()
    cfg = resolve_config(registry, {"device": "cuda"}, sets=TINY["set"])
    trainer = Trainer(cfg, registry, RunDir("unused"))
    assert trainer.g.optimizer.defaults["fused"] and trainer.d.optimizer.defaults["fused"]


def _bench_train():
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import bench_train
    finally:
        sys.path.pop(0)
    return bench_train


@pytest.mark.slow
def test_benchmark_interleaves_the_loops_window_by_window_and_reports_a_failing_loop(tiny_mnist):
    """benchmarks/bench_train.py: textbook, bare and ganzoo each train in their own process and time enough windows
    to cover the span, taking turns: no loop's window overlaps another's, so they share the machine's drift. A loop
    that fails is one line in its place, and the others are timed all the same (one set of processes for both)."""
    bench_train = _bench_train()
    args = SimpleNamespace(data_root=str(tiny_mnist), device="cpu", threads=0, warmup=2, steps=2, repeats=3,
                           amp=False, span=10)
    results = bench_train.measure_interleaved(args, ["textbook", "bare", "no-such-loop", "ganzoo"], 8)
    assert results["no-such-loop"]["error"].startswith("KeyError"), results["no-such-loop"]
    timed = {loop: r for loop, r in results.items() if loop != "no-such-loop"}
    for loop, r in timed.items():
        assert "error" not in r, (loop, r)
        assert len(r["windows"]) == 5 and all(w > 0 for w in r["windows"]) and r["peak_mb"] > 0  # 10 steps in 2s
        assert r["steps_per_sec"] == pytest.approx(2 * 5 / sum(r["windows"]))
    spans = sorted(span for r in timed.values() for span in r["spans"])  # one clock: CLOCK_MONOTONIC
    assert len(spans) == 15 and all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    assert bench_train.ratio(results, "ganzoo", "bare") == pytest.approx(
        results["ganzoo"]["steps_per_sec"] / results["bare"]["steps_per_sec"])
    assert bench_train.ratio(results, "bare", "bare") is None and bench_train.ratio(results, "ganzoo", "x") is None
    assert bench_train.ratio(results, "no-such-loop", "bare") is None
