"""Metrics for any point dataset: MMD and PRDC by hand and by brute force, and `ganzoo evaluate` on a run of a point
dataset that has no known curve (which used to answer that no metric applies)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from ganzoo_builtins.metrics.points import mmd_rbf, prdc
from helpers.moons import two_moons, write_csv


def _brute_mmd(x, y, h):
    k = lambda a, b: math.exp(-sum((p - q) ** 2 for p, q in zip(a, b)) / (2 * h * h))  # noqa: E731
    xs, ys = x.tolist(), y.tolist()
    xx = sum(k(a, b) for i, a in enumerate(xs) for j, b in enumerate(xs) if i != j) / (len(xs) * (len(xs) - 1))
    yy = sum(k(a, b) for i, a in enumerate(ys) for j, b in enumerate(ys) if i != j) / (len(ys) * (len(ys) - 1))
    xy = sum(k(a, b) for a in xs for b in ys) / (len(xs) * len(ys))
    return xx + yy - 2 * xy


def test_mmd_is_the_unbiased_estimate_and_near_zero_for_one_distribution():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(7, 3, generator=gen), torch.randn(9, 3, generator=gen) + 0.5
    assert mmd_rbf(x, y, bandwidth=1.3) == pytest.approx(_brute_mmd(x, y, 1.3), rel=1e-9)
    a, b = torch.randn(800, 2, generator=gen), torch.randn(800, 2, generator=gen)
    assert abs(mmd_rbf(a, b)) < 0.005 and mmd_rbf(a, b + 1.0) > 0.1


def test_prdc_on_hand_made_point_sets():
    real = torch.arange(10.0).view(-1, 1)  # 0, 1, ..., 9: with k = 1 every real ball has radius 1
    same = prdc(real, real.clone(), k=1)
    # each copy lies in the balls of itself and its neighbours: 3 balls inside, 2 at either end
    assert same == {"precision": 1.0, "recall": 1.0, "density": pytest.approx((8 * 3 + 2 * 2) / 10), "coverage": 1.0}
    far = prdc(real, real + 100, k=1)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    half = prdc(real, real[:5].clone(), k=1)  # mode dropping: precise, but half the data uncovered
    assert half["precision"] == 1.0 and half["coverage"] == pytest.approx(0.6)  # 0-4 and 5 (1 from 4) covered
    collapsed = prdc(real, torch.full((10, 1), 4.2), k=1)
    assert collapsed["coverage"] == pytest.approx(0.2) and collapsed["recall"] == 0.0  # its balls have radius 0


@pytest.mark.slow
def test_evaluate_a_point_run_with_no_known_curve(invoke, tmp_path, registry):
    from ganzoo.config import resolve_config
    from ganzoo.run.evaluation import Evaluator

    path = write_csv(tmp_path / "moons.csv", two_moons(2000))
    invoke("train", "--dataset", "points-file", "--set", f"dataset.path={path}", "--steps", "300", "--out",
           tmp_path / "run", "-q")
    out = json.loads(invoke("evaluate", tmp_path / "run", "--samples", "1000", "--json").stdout)
    assert {"points_swd", "mmd", "precision", "recall", "density", "coverage"} <= set(out)
    config = resolve_config(registry, {"dataset": "points-file"}, sets=[f"dataset.path={path}"])
    data = registry.get("dataset", "points-file").load(config.dataset.params)
    evaluator = Evaluator(registry, config, data, torch.device("cpu"))
    real = evaluator.evaluate_samples(data.take(slice(1000, 2000)))  # real points against the reference
    collapsed = evaluator.evaluate_samples(data.take(torch.zeros(1000, dtype=torch.long)))  # one point, 1000 times
    assert real["coverage"] > 0.9 and collapsed["coverage"] < 0.05
    assert real["mmd"] < 0.01 < collapsed["mmd"] and real["points_swd"] < collapsed["points_swd"]


def test_evaluate_a_samples_file_made_anywhere(invoke, tmp_path):
    path = write_csv(tmp_path / "moons.csv", two_moons(2000))
    good = tmp_path / "good.pt"
    torch.save(two_moons(1000, seed=5), good)  # another sampler of the same distribution, in data coordinates
    torch.save(torch.zeros(1000, 2), tmp_path / "collapsed.pt")
    args = ["--dataset", "points-file", "--set", f"dataset.path={path}", "--json"]
    real = json.loads(invoke("evaluate", good, *args).stdout)
    collapsed = json.loads(invoke("evaluate", tmp_path / "collapsed.pt", *args).stdout)
    assert real["coverage"] > 0.8 and collapsed["coverage"] < 0.05 and real["mmd"] < collapsed["mmd"]


@pytest.mark.parametrize("content, message", [
    (torch.zeros(10, 3), "needs (N, D) points in data coordinates with (2,) per sample"),
    (torch.full((10, 2), math.nan), "NaN or infinite"),
    (torch.zeros(10, 2, dtype=torch.long), "not a float tensor"),
    ({"x": 1}, "holds dict"),
    (None, "no such file"),
])
def test_a_bad_samples_file_is_one_line(invoke, tmp_path, content, message):
    path = write_csv(tmp_path / "moons.csv", two_moons(200))
    samples = tmp_path / "s.pt"
    if content is not None:
        torch.save(content, samples)
    result = invoke("evaluate", samples, "--dataset", "points-file", "--set", f"dataset.path={path}", expect=1)
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_images_out_of_range_and_a_file_without_its_dataset(invoke, tmp_path, tiny_mnist):
    torch.save(torch.rand(4, 1, 28, 28) * 2 - 1, tmp_path / "minus.pt")
    result = invoke("evaluate", tmp_path / "minus.pt", "--dataset", "mnist", "--set", f"dataset.root={tiny_mnist}",
                    "--set", "dataset.download=false", expect=1)
    assert "not [0, 1] (for images in [-1, 1], save (x + 1) / 2)" in result.stderr
    result = invoke("evaluate", tmp_path / "minus.pt", expect=1)
    assert "name its dataset with --dataset NAME" in result.stderr


@pytest.mark.slow
def test_evaluating_longer_than_the_training_between_two_evaluations_is_noted(invoke, tmp_path):
    result = invoke("train", "--steps", "10", "--eval-every", "5", "--eval-samples", "3000", "--out", tmp_path / "r")
    notes = [line for line in result.stdout.splitlines() if "note: evaluating 3000 samples took" in line]
    assert len(notes) == 1 and "raise --eval-every or lower --eval-samples" in notes[0]  # once, not every time
    quiet = invoke("train", "--steps", "400", "--eval-every", "200", "--eval-samples", "20", "--out", tmp_path / "q")
    assert "note: evaluating" not in quiet.stdout  # a cheap evaluation says nothing
