"""A run stands on its own (issue 23): its config names its data by absolute path, its checkpoint records a digest
of the data, sampling needs no data, and a run whose data moved or changed says so in one line."""

from __future__ import annotations

import math

import torch

from ganzoo.config.toml import read_toml
from ganzoo.run.checkpoint import load_checkpoint

TINY = ["--set", "generator.hidden=8", "--set", "discriminator.hidden=8", "--batch-size", "16",
        "--sample-every", "0", "-q"]


def _points(path, n=64, shift=0.0):
    rows = [f"{math.cos(i) * 3 + shift},{math.sin(i) * 3 - 1}" for i in range(n)]
    path.write_text("x,y\n" + "\n".join(rows) + "\n")


def _one_error(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def test_a_points_run_samples_from_anywhere_without_its_data(invoke, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    _points(work / "ring.csv")
    monkeypatch.chdir(work)
    invoke("train", "--dataset", "points-file", "--set", "dataset.path=ring.csv", *TINY, "--steps", "20",
           "--out", tmp_path / "run")
    assert read_toml(tmp_path / "run" / "config.toml")["dataset"]["path"] == str(work / "ring.csv")  # absolute
    record = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["data"]
    assert record["n"] == 64 and len(record["digest"]) == 32 and record["spec"] == {
        "kind": "points", "shape": [2], "classes": None}
    monkeypatch.chdir(tmp_path)
    (work / "ring.csv").unlink()  # the data is gone: sampling needs none of it
    invoke("sample", tmp_path / "run", "-n", "500", "-o", tmp_path / "s.pt")
    invoke("sample", tmp_path / "run", "-n", "500", "-o", tmp_path / "s.png")
    samples = torch.load(tmp_path / "s.pt")
    assert samples.shape == (500, 2) and tmp_path.joinpath("s.png").stat().st_size > 1000
    # in data coordinates: the ring's centre (0, -1) and radius 3 set the scale, not the model's standardised space
    assert abs(samples[:, 1].mean().item() + 1) < 1.5 and samples.abs().max().item() > 1.5
    line = _one_error(invoke("evaluate", tmp_path / "run", expect=1))
    assert "evaluating" in line and "needs the data it was trained on" in line and "ring.csv" in line


def test_resuming_on_changed_data_is_refused_unless_asked(invoke, tmp_path):
    data = tmp_path / "ring.csv"
    _points(data)
    invoke("train", "--dataset", "points-file", "--set", f"dataset.path={data}", *TINY, "--steps", "10",
           "--out", tmp_path / "run")
    before = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["data"]["digest"]
    _points(data, shift=5.0)  # edited in place, same size
    line = _one_error(invoke("train", "--resume", tmp_path / "run", "--steps", "20", expect=1))
    assert f"the data of {tmp_path / 'run'} changed since its checkpoint" in line and "--data-changed-ok" in line
    invoke("train", "--resume", tmp_path / "run", "--steps", "20", "--data-changed-ok", "-q")
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert ckpt["step"] == 20 and ckpt["data"]["digest"] != before  # it now records the new data
    invoke("train", "--resume", tmp_path / "run", "--steps", "25", "-q")  # the new data is now the run's data


def test_data_changed_ok_is_for_resuming_only(invoke, tmp_path):
    line = _one_error(invoke("train", "--steps", "2", "--data-changed-ok", "--out", tmp_path / "r", expect=1))
    assert "--data-changed-ok applies to --resume only" in line
