"""Multi-process training through torchrun and DistributedDataParallel, on the CPU with gloo (no GPU needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.training.distributed import World, device_for, world_from_env

WORKER = Path(__file__).parent / "helpers" / "ddp_worker.py"


def _torchrun(cwd: Path, *args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}
    env.update(GANZOO_LOAD_PLUGINS="", GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    # --standalone: the launcher's own store binds port 0 and the ranks join through it. Picking a "free" port here
    # and handing it over raced with every other process on the machine (one failure in two full runs).
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["wgan-gp", "conditional"])
def test_two_ranks_stay_identical_write_one_run_and_resume_in_one_process(tmp_path, loss, plugin):
    if loss == "conditional":  # the worker trains a conditional mix on this in-process dataset; so does the resume
        from helpers import labelled

        plugin(labelled, name="labelled")
    weights = tmp_path / "weights"
    weights.mkdir()
    result = _torchrun(tmp_path, str(WORKER), str(weights), loss)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(weights / f"rank{r}.pt", weights_only=True) for r in range(2)]
    # the gradient penalty and the BatchNorm generator go through DDP; every rank ends with the same weights
    # (BatchNorm's running statistics are per rank between forward passes: DDP copies rank 0's at each forward)
    for part in ("generator", "discriminator"):
        weights = {k: v for k, v in ranks[0][part].items() if "running_" not in k and "num_batches" not in k}
        assert len(weights) >= 4
        for key, value in weights.items():
            assert torch.equal(value, ranks[1][part][key]), (part, key)
    assert ranks[0]["step"] == ranks[1]["step"] == 8
    if loss == "conditional":  # LeCam's anchors follow each rank's own batches, averaged into one state
        anchors = [r["plugins"]["regularisers.1"] for r in ranks]
        assert float(anchors[0]["real_anchor"]) != 0
        assert all(torch.equal(anchors[0][k], anchors[1][k]) for k in anchors[0])
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and ranks[0]["run_dir"] == ranks[1]["run_dir"]  # one directory, named once, by rank 0
    run = runs[0]
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert not any(k.startswith("module.") for k in ckpt["generator"])  # plain, unwrapped state dicts
    for key, value in ranks[0]["generator"].items():
        assert torch.equal(value, ckpt["generator"][key])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8]  # written once (rank 0), not once per rank
    assert all(r["world_size"] == 2 and r["global_batch"] == 32 for r in records)
    # the DDP checkpoint continues in a single process
    resumed = ganzoo.train(resume=run, steps=12, device="cpu")
    assert resumed.step == 12


@pytest.mark.slow
def test_the_cli_under_torchrun_trains_and_reports_the_global_batch(tmp_path):
    out = tmp_path / "run"
    result = _torchrun(tmp_path, "-m", "ganzoo", "train", "-l", "bce", "--steps", "6", "--batch-size", "8",
                       "--set", "dataset.n=128", "--device", "cpu", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 processes" in result.stdout and "global batch 16" in result.stdout
    assert result.stdout.count("ganzoo: training") == 1  # only rank 0 reports
    assert (out / "checkpoints" / "latest.pt").is_file()


def test_world_from_the_torchrun_environment(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert world_from_env() == World()
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    world = world_from_env()
    assert world.enabled and not world.is_main and (world.rank, world.local_rank, world.size) == (3, 1, 4)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="inconsistent launch"):
        world_from_env()


def test_inconsistent_device_requests_are_one_line_errors():
    world = World(rank=1, local_rank=1, size=2, local_size=2)
    assert device_for(world, "cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            device_for(world, "cuda")
    elif torch.cuda.device_count() < 2:
        with pytest.raises(ConfigError, match="processes per node but only"):
            device_for(world, "cuda")
    with pytest.raises(ConfigError, match="cuda:LOCAL_RANK"):
        device_for(world, "cuda:1")
