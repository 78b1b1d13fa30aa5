"""Shared fixtures: built-in plugins only, in-process plugin registration, tiny MNIST files, CLI runner."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from ganzoo.cli import cli
from ganzoo.registry import registry as registry_module

#: One thread in the test process and in every process it starts (a ganzoo subprocess, a sweep's member, torchrun's
#: ranks), unless the environment asks for another number: the suite trains tiny models, where a second OpenMP thread
#: gains little, and on a shared or busy machine threads spin-waiting against other processes make a step of these
#: models ten to twenty times slower (measured: 17 against 157 ms for a DCGAN step, 5 against 38 ms for the default
#: parabola mix, under load). Each test starts from this again (see ``builtins_only``): code run in-process, such as
#: a sweep's inline engine, may set its own share.
THREADS = os.environ.get("OMP_NUM_THREADS", "").strip() or "1"
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = THREADS


@pytest.fixture(autouse=True)
def builtins_only(monkeypatch, tmp_path):
    """Keep installed third-party plugins (and the user's data folder) out of every test."""
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    monkeypatch.delenv("GANZOO_STRICT_PLUGINS", raising=False)
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANZOO_INCEPTION", "off")  # the same tests whether or not 'ganzoo[fid]' is installed
    monkeypatch.setenv("OMP_NUM_THREADS", THREADS)
    monkeypatch.setenv("MKL_NUM_THREADS", THREADS)
    torch.set_num_threads(int(THREADS))
    registry_module.reset_default_registry()
    yield
    registry_module.reset_default_registry()


@pytest.fixture
def registry():
    """The process-wide registry (built-ins loaded), as the CLI sees it."""
    return registry_module.default_registry()


@pytest.fixture
def plugin(registry):
    """Register plugin objects in-process for one test: ``plugin(obj, name=..., dist=..., version=...)``."""
    names = []

    def register(obj, name="test-plugin", dist=None, version=None):
        registry.register(obj, name=name, dist=dist, version=version)
        names.append(name)
        return obj

    yield register
    for name in names:
        registry.unregister(name)


class Invoke:
    """Run the CLI in-process and return click's result (stdout and stderr kept apart)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0):
        result = self.runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, prog_name="ganzoo")
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
        return result


@pytest.fixture
def invoke():
    return Invoke()


def write_idx(path: Path, tensor: torch.Tensor) -> None:
    """Write a uint8 tensor in MNIST's IDX format (magic 0x08 = unsigned byte, then the dimensions)."""
    dims = tuple(tensor.shape)
    header = struct.pack(">I", 0x0800 | len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(header + tensor.to(torch.uint8).contiguous().numpy().tobytes())


def make_tiny_mnist(root: Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """Four IDX files in torchvision's ``MNIST/raw`` layout: each image is a bright bar whose place is its label."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = torch.arange(n) % 10
        images = (torch.rand(n, 28, 28, generator=gen) * 40).to(torch.uint8)
        for i, label in enumerate(labels.tolist()):
            images[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture
def tiny_mnist(tmp_path) -> Path:
    """A data root holding tiny MNIST files (64 train, 32 test images)."""
    return make_tiny_mnist(tmp_path / "data")


@pytest.fixture
def mnist_files(tmp_path):
    """Make tiny MNIST files of a chosen size: ``mnist_files(n_train, n_test) -> root``."""
    return lambda n_train=64, n_test=32: make_tiny_mnist(tmp_path / f"data-{n_train}-{n_test}", n_train, n_test)


@pytest.fixture(scope="session")
def mnist_classifier(tmp_path_factory):
    """The image metrics' feature classifier trained once for the session (300 steps: the slowest part of evaluating
    an image run on a CPU) on tiny MNIST files of 300 training and 200 test images, through the metric's own
    ``load_or_train`` and reference cache, with the progress bars it showed. Tests that evaluate image runs start
    from a copy of its cache (``classifier_cache``) instead of training it again."""
    from ganzoo_builtins.metrics.classifier import load_or_train

    from ganzoo import EvalContext

    root = tmp_path_factory.mktemp("classifier")
    data_root = make_tiny_mnist(root / "data", 300, 200)
    bars = []

    def progress(description, total):
        bars.append(total)
        return lambda steps=1: None

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_LOAD_PLUGINS", "")
        mp.setenv("GANZOO_CACHE", str(root / "cache"))
        registry_module.reset_default_registry()
        try:
            spec = registry_module.default_registry().get("dataset", "mnist")
            params = spec.resolve({"root": str(data_root), "download": False})
            train, test = spec.load(params), spec.load({**params, **spec.test_split})
            ctx = EvalContext(train.take(), train, spec, params, torch.device("cpu"), {}, progress,
                              _metric="classifier")
            model, accuracy = load_or_train(ctx, train, test)
        finally:
            registry_module.reset_default_registry()
    return SimpleNamespace(root=data_root, cache=root / "cache", spec=spec, params=params, train=train, test=test,
                           model=model, accuracy=accuracy, bars=bars)


@pytest.fixture
def classifier_cache(mnist_classifier, tmp_path) -> Path:
    """This test's ``$GANZOO_CACHE`` holding the session's trained classifier; returns the data root it was trained
    for (give it as ``dataset.root``)."""
    shutil.copytree(mnist_classifier.cache, tmp_path / "cache", dirs_exist_ok=True)
    return mnist_classifier.root
