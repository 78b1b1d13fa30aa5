"""Image metrics by hand: the Fréchet distance against an independent float64 reference, KID against a brute-force
estimate, the Inception Score's two anchors, and the Inception pipeline end to end with a tiny TorchScript feature
extractor that the test builds (no download): resizing, range, batching and the cached reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ganzoo_builtins.metrics import inception
from ganzoo_builtins.metrics.distances import frechet_distance, gaussian_stats, inception_score
from ganzoo_builtins.metrics.images import intra_class_fid

from ganzoo.config import resolve_config
from ganzoo.run.evaluation import Evaluator


def _reference_fd(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||² + Tr(S_a) + Tr(S_b) - 2 Σ sqrt(eig(S_a S_b)): the eigenvalues of a product of two PSD
    matrices are real and non-negative, so this needs no matrix square root (ganzoo's route differs)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s_a @ s_b).real.clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.sqrt(eig).sum())


def test_frechet_distance_matches_a_float64_eigen_reference():
    gen = np.random.default_rng(0)
    for d in (2, 16, 64):
        a = gen.normal(size=(500, d)) @ gen.normal(size=(d, d))
        b = gen.normal(loc=0.3, size=(400, d)) @ gen.normal(size=(d, d))
        ours = frechet_distance(gaussian_stats(torch.from_numpy(a)), gaussian_stats(torch.from_numpy(b)))
        assert ours == pytest.approx(_reference_fd(a, b), rel=1e-3)
    same = torch.from_numpy(gen.normal(size=(300, 8)))
    assert abs(frechet_distance(gaussian_stats(same), gaussian_stats(same))) < 1e-6


def test_kid_matches_a_brute_force_unbiased_estimate():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, 4, generator=gen).double(), torch.randn(5, 4, generator=gen).double() + 0.4
    k = lambda a, b: (float(a @ b) / 4 + 1) ** 3  # noqa: E731
    m = 5  # one subset of 5 from each: KID's subsets are drawn with the same seed below
    perm = torch.Generator().manual_seed(0)
    xs, ys = x[torch.randperm(6, generator=perm)[:m]], y[torch.randperm(5, generator=perm)[:m]]
    brute = (sum(k(xs[i], xs[j]) + k(ys[i], ys[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
             - 2 * sum(k(a, b) for a in xs for b in ys) / m**2)
    assert inception.kid(x, y, subsets=1, size=m, seed=0) == pytest.approx(brute, rel=1e-9)
    same = torch.randn(400, 8, generator=gen)
    assert abs(inception.kid(same, torch.randn(400, 8, generator=gen), subsets=10, size=200)) < 0.05


def test_inception_score_anchors():
    assert inception_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0)  # the same prediction everywhere
    assert inception_score(torch.eye(7).repeat(3, 1)) == pytest.approx(7.0, rel=1e-6)  # confident, evenly spread


def test_intra_class_fid_is_per_class():
    gen = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(100, 3, generator=gen), torch.randn(100, 3, generator=gen) + 5])
    labels = torch.arange(200) // 100
    swapped = real.flip(0)  # each class's samples look like the other class: same pooled set, wrong classes
    assert intra_class_fid(real.clone(), labels, real, labels) < 1e-6
    assert intra_class_fid(swapped, labels, real, labels) > 50
    assert frechet_distance(gaussian_stats(swapped), gaussian_stats(real)) < 1e-6  # plain FID cannot tell


#: The real network's pool features are 2,048 wide; ganzoo reads whatever width the file gives, and the Fréchet
#: distance's eigendecompositions of a width x width covariance took ~5 s each at 2,048 (three in the test below).
FEATURES = 256


class _TinyExtractor(torch.nn.Module):
    """Checks the contract (3 x 299 x 299 in [-1, 1]) and maps images to FEATURES fixed random features."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(3 * 8 * 8, FEATURES)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 3 or x.shape[2] != 299 or x.shape[3] != 299:
            raise ValueError("expects (B, 3, 299, 299)")
        if bool(x.min() < -1) or bool(x.max() > 1):
            raise ValueError("expects [-1, 1]")
        return torch.tanh(self.proj(torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)))


@pytest.fixture
def extractor(tmp_path, monkeypatch):
    path = tmp_path / "tiny-inception.pt"
    torch.jit.script(_TinyExtractor()).save(str(path))
    monkeypatch.setenv("GANZOO_INCEPTION", str(path))
    inception._MODELS.clear()
    return path


@pytest.mark.slow
def test_the_inception_pipeline_end_to_end_with_a_tiny_extractor(registry, tiny_mnist, extractor, tmp_path):
    config = resolve_config(registry, {"dataset": "mnist"}, sets=[f"dataset.root={tiny_mnist}",
                                                                   "dataset.download=false"])
    data = registry.get("dataset", "mnist").load(config.dataset.params)  # greyscale 28x28: repeated, resized
    by_default = Evaluator(registry, config, data, torch.device("cpu"))  # expensive: on a CPU, only when named
    assert "inception" not in [m.name for m in by_default.metrics] and "--metrics classifier,inception" in \
        by_default.notes[0]
    evaluator = Evaluator(registry, config, data, torch.device("cpu"), metrics=["inception"])
    assert [m.name for m in evaluator.metrics] == ["inception"] and not evaluator.notes
    real = evaluator.evaluate_samples(data.take())
    noise = evaluator.evaluate_samples(torch.rand(64, 1, 28, 28) * 2 - 1)
    assert real["inception_fid"] < noise["inception_fid"] and real["inception_precision"] > noise["inception_precision"]
    cached = list((tmp_path / "cache" / "references" / "mnist").glob("inception-features-*.pt"))
    assert len(cached) == 1  # the test split's features, computed once
    stamp = cached[0].stat().st_mtime_ns
    again = Evaluator(registry, config, data, torch.device("cpu"), metrics=["inception"]).evaluate_samples(data.take())
    assert again["inception_fid"] == pytest.approx(real["inception_fid"]) and cached[0].stat().st_mtime_ns == stamp
    batched = inception.features(inception._model(torch.device("cpu")), data.take(), torch.device("cpu"), batch=7)
    whole = inception.features(inception._model(torch.device("cpu")), data.take(), torch.device("cpu"), batch=64)
    assert torch.allclose(batched, whole, atol=1e-5)  # batching does not change a feature
    stored = inception.features(inception._model(torch.device("cpu")), data.samples, torch.device("cpu"))
    assert torch.allclose(stored, whole, atol=1e-5)  # uint8 pixels and their model-space floats agree


@pytest.mark.slow
def test_without_weights_the_metric_is_absent_with_one_line(invoke, classifier_cache, tmp_path, monkeypatch):
    monkeypatch.delenv("GANZOO_INCEPTION", raising=False)
    monkeypatch.setattr(inception, "weights", lambda: None)  # as on a machine without 'ganzoo[fid]'
    # tiny MNIST files whose feature classifier the cache already holds (conftest.py)
    invoke("train", "--dataset", "mnist", "--set", f"dataset.root={classifier_cache}", "--set",
           "dataset.download=false", "--steps", "2", "--batch-size", "8", "--out", tmp_path / "run", "-q")
    result = invoke("evaluate", tmp_path / "run", "--samples", "64", "--json")
    assert "classifier_fid" in json.loads(result.stdout)  # everything else keeps working
    notes = [line for line in result.stderr.splitlines() if line.startswith("ganzoo: note:")]
    assert len(notes) == 1 and "pip install 'ganzoo[fid]'" in notes[0] and "GANZOO_INCEPTION" in notes[0]
