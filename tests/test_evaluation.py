"""Quality metrics: the functions on known inputs, the classifier path on tiny labelled images, and the commands."""

from __future__ import annotations

import json
import math

import pytest
import torch
from ganzoo_builtins.metrics.classifier import load_or_train, predict
from ganzoo_builtins.metrics.curves import curve_error, out_of_range, x_coverage
from ganzoo_builtins.metrics.distances import frechet_distance, gaussian_stats, sliced_wasserstein
from ganzoo_builtins.metrics.images import class_stats

import ganzoo
from ganzoo import Data, DatasetSpec, DataSpec, EvalContext, MetricSpec, hookimpl


def _parabola(x):
    return x * x + 1


def test_points_on_the_curve_have_zero_error_and_full_coverage():
    x = torch.linspace(-3, 3, 1000)
    xy = torch.stack([x, _parabola(x)], 1)
    assert curve_error(xy, _parabola) == 0
    assert x_coverage(x, (-3, 3)) == 1 and out_of_range(x, (-3, 3)) == 0
    shifted = xy + torch.tensor([0.0, 0.5])
    assert curve_error(shifted, _parabola) == pytest.approx(0.5)


def test_half_range_gives_half_coverage_and_outside_points_count():
    left = torch.linspace(-3, 0, 1000)
    assert x_coverage(left, (-3, 3)) == pytest.approx(0.5)
    mixed = torch.cat([torch.linspace(-3, 3, 900), torch.full((100,), 5.0)])
    assert out_of_range(mixed, (-3, 3)) == pytest.approx(0.1)
    collapsed = torch.zeros(1000)  # mode collapse onto one x
    assert x_coverage(collapsed, (-3, 3)) == pytest.approx(1 / 20)


def test_sliced_wasserstein_is_zero_for_the_same_set_and_grows_with_a_shift():
    a = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    assert sliced_wasserstein(a, a) == pytest.approx(0, abs=1e-9)
    near, far = sliced_wasserstein(a, a + 0.1), sliced_wasserstein(a, a + 1.0)
    assert 0 < near < far


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    feats = torch.randn(3000, 16, generator=torch.Generator().manual_seed(1)) @ torch.randn(16, 16)
    stats = gaussian_stats(feats)
    assert frechet_distance(stats, stats) == pytest.approx(0, abs=1e-6)
    small = frechet_distance(stats, gaussian_stats(feats + 0.5))
    big = frechet_distance(stats, gaussian_stats(feats + 2.0))
    assert small == pytest.approx(16 * 0.25, rel=1e-6) and big == pytest.approx(16 * 4.0, rel=1e-6)
    scaled = frechet_distance(stats, gaussian_stats(feats * 2))
    assert scaled > 1


def test_class_stats_by_hand():
    probs = torch.eye(4)[torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])] * 0.9 + 0.025
    stats = class_stats(probs, present=[0, 1, 2, 3])
    assert stats == {"classes_covered": 4.0, "class_entropy": pytest.approx(2.0), "confidence": pytest.approx(0.925)}
    collapsed = class_stats(torch.eye(4)[torch.zeros(8, dtype=torch.long)], present=[0, 1, 2, 3])
    assert collapsed["classes_covered"] == 1 and collapsed["class_entropy"] == 0


@pytest.fixture
def tiny_images(mnist_files):
    root = mnist_files(300, 200)
    registry = ganzoo.registry.registry.default_registry()
    spec = registry.get("dataset", "mnist")
    params = spec.resolve({"root": str(root), "download": False})
    return spec, params, spec.load(params), spec.load({**params, **spec.test_split})


@pytest.mark.slow
def test_classifier_sanity_anchors_on_tiny_labelled_images(mnist_classifier, classifier_cache):
    """The session's classifier (conftest.py: trained once through ``load_or_train``, on 300 tiny labelled images)."""
    c = mnist_classifier
    train, test, model, acc = c.train, c.test, c.model, c.accuracy
    assert acc >= 0.95  # the bar's place is the label: easy to learn, and checked on the held-out split
    assert c.bars and c.bars[0] >= 300  # a progress bar over at least min_steps batches
    real_stats = gaussian_stats(predict(model, test.samples, torch.device("cpu"))[0])
    train_feats, train_probs = predict(model, train.samples, torch.device("cpu"))
    noise = torch.rand(300, 1, 28, 28) * 2 - 1
    noise_feats, _ = predict(model, noise, torch.device("cpu"))
    real_fid = frechet_distance(gaussian_stats(train_feats), real_stats)
    noise_fid = frechet_distance(gaussian_stats(noise_feats), real_stats)
    assert noise_fid > 20 * real_fid, (real_fid, noise_fid)
    assert class_stats(train_probs, list(range(10)))["classes_covered"] == 10
    # cached: a second call (here, from this test's copy of the cache) trains nothing and gives the same accuracy
    assert list((c.cache / "references" / "mnist").glob("classifier-classifier-*.pt"))
    bars = []

    def progress(description, total):
        bars.append(total)
        return lambda steps=1: None

    context = EvalContext(train.take(), train, c.spec, c.params, torch.device("cpu"), {}, progress,
                          _metric="classifier")
    again_model, again = load_or_train(context, train, test)
    assert again == acc and bars == []
    assert all(torch.equal(a, b) for a, b in zip(again_model.state_dict().values(), model.state_dict().values()))


def test_evaluate_a_points_run_in_table_and_json(invoke, tmp_path):
    invoke("train", "--steps", "200", "--set", "dataset.n=512", "--out", tmp_path / "run", "-q")
    metrics = json.loads(invoke("evaluate", tmp_path / "run", "--samples", "1000", "--json").stdout)
    assert set(metrics) == {"curve_error", "x_coverage", "out_of_range", "sliced_wasserstein",  # the curve's
                            "points_swd", "mmd", "precision", "recall", "density", "coverage"}  # any points'
    assert all(math.isfinite(v) for v in metrics.values())
    table = invoke("evaluate", tmp_path / "run", "--samples", "1000").stdout
    for key in metrics:
        assert key in table
    assert ganzoo.evaluate(tmp_path / "run", 1000) == metrics


@pytest.mark.slow
def test_evaluate_an_image_run_and_eval_every(invoke, tmp_path, classifier_cache):
    root = classifier_cache  # tiny MNIST files whose classifier the cache already holds
    result = invoke("train", "--dataset", "mnist", "--set", f"dataset.root={root}", "--set", "dataset.download=false",
                    "--set", "generator.hidden=32", "--steps", "20", "--batch-size", "16", "--eval-every", "10",
                    "--eval-samples", "200", "--log-every", "5", "--out", tmp_path / "run")
    assert "classifier_fid" in result.stdout  # the summary shows the final values
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in records if "classifier_fid" in r]
    assert [r["step"] for r in evaluated] == [10, 20] and "d_loss" in evaluated[0]
    metrics = json.loads(invoke("evaluate", tmp_path / "run", "--samples", "300", "--json").stdout)
    assert set(metrics) == {"classifier_fid", "classes_covered", "class_entropy", "confidence", "classifier_accuracy",
                            "classifier_is"}
    assert 1 <= metrics["classifier_is"] <= 10
    assert 0 <= metrics["classes_covered"] <= 10 and 0 <= metrics["class_entropy"] <= math.log2(10) + 1e-9


def ring(n: int) -> Data:
    angle = torch.rand(n, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    return Data.points(torch.stack([angle.cos(), angle.sin()], 1))


def _radius_error(ctx):
    xy = ctx.coords()
    return {"radius_error": (xy.norm(dim=1) - 1).abs().mean().item()}


class CircleDataset:
    @hookimpl
    def ganzoo_datasets(self):
        yield DatasetSpec(
            name="circle", factory=ring, description="points on the unit circle",
            params=(ganzoo.Param("n", int, 256, "points"),),
            shape=lambda **_: DataSpec("points", (2,)),
            metrics=(MetricSpec(name="radius", description="distance to the unit circle", compute=_radius_error,
                                keys={"radius_error": "mean | |p| - 1 |"}, better={"radius_error": "lower"}),),
        )


def test_a_dataset_plugin_brings_its_own_metric(plugin, invoke, tmp_path):
    plugin(CircleDataset(), name="circle")
    invoke("train", "--dataset", "circle", "--steps", "30", "--out", tmp_path / "run", "-q")
    metrics = json.loads(invoke("evaluate", tmp_path / "run", "--samples", "500", "--json").stdout)
    # its own metric and those of any point dataset; no curve: the curve metric stays out
    assert set(metrics) == {"radius_error", "points_swd", "mmd", "precision", "recall", "density", "coverage"}
    assert metrics["radius_error"] >= 0


def test_time_limit_stops_and_saves(invoke, tmp_path):
    result = ganzoo.train(steps=10_000_000, time_limit=1.0, set=["dataset.n=256"], out=tmp_path / "run")
    assert 0 < result.step < 10_000_000 and result.interrupted is None
    assert ganzoo.run.checkpoint.load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["step"] == result.step


def test_evaluation_lines_between_log_lines(invoke, tmp_path):
    invoke("train", "--steps", "20", "--log-every", "5", "--eval-every", "7", "--eval-samples", "200",
           "--set", "dataset.n=128", "--out", tmp_path / "run", "-q")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "curve_error" in r] == [7, 14, 20]
    assert [r["step"] for r in records if "d_loss" in r] == [5, 10, 15, 20]
    assert (tmp_path / "run" / "loss_curve.png").is_file()


def test_training_the_classifier_leaves_the_random_stream_alone(tiny_images):
    from ganzoo_builtins.metrics.classifier import train_classifier

    _, _, train, test = tiny_images
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train_classifier(train, test, torch.device("cpu"), lambda d, n: (lambda steps=1: None), min_steps=5)
    assert torch.equal(before, torch.get_rng_state())
