"""Image data beyond MNIST: folders of images, the decode-once uint8 cache, torchvision's datasets on tiny files in
their real formats, batches streamed from a memory-mapped cache, and defaults by kind of data."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from helpers.tiny_formats import make_tiny_celeba, make_tiny_cifar
from PIL import Image

import ganzoo
from ganzoo import Data, DataSpec, ParameterError
from ganzoo.config import resolve_config
from ganzoo.data.batches import DeviceBatches, StreamedBatches, real_batches

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _load(registry, dataset, **params):
    spec = registry.get("dataset", dataset)
    return spec.load(spec.resolve(params))


@pytest.fixture
def pictures(tmp_path):
    """A folder with two class folders of mixed formats, sizes and modes, one nested folder and one stray file."""
    root = tmp_path / "pictures"
    (root / "red" / "deeper").mkdir(parents=True)
    (root / "blue").mkdir()
    for i in range(6):
        Image.new("RGB", (40 + i, 30), RED).save(root / "red" / f"r{i}.jpg", quality=95)
        Image.new("RGBA", (24, 36), (*BLUE, 100)).save(root / "blue" / f"b{i}.png")
    Image.new("P", (32, 32), 3).save(root / "red" / "deeper" / "p.gif")
    Image.new("RGB", (16, 16), RED).save(root / "red" / "deeper" / "w.webp")
    Image.new("RGB", (20, 20), BLUE).save(root / "blue" / "b.bmp")
    (root / "blue" / "notes.txt").write_text("not an image")
    (root / ".hidden.jpg").write_text("skipped without a word")
    return root


def test_a_folder_of_mixed_images_loads_with_class_labels(registry, pictures, capfd):
    data = _load(registry, "folder", path=str(pictures), size=16)
    assert data.spec == DataSpec("image", (3, 16, 16), classes=2)
    assert data.samples.dtype == torch.uint8 and len(data) == 15  # 6 + 6 + gif + webp + bmp; the text file skipped
    labels = data.labels.tolist()
    assert labels.count(0) == 7 and labels.count(1) == 8  # blue/ (7 images) is class 0, red/ (8 images) class 1
    red = data.samples[data.labels == 1][:6].float().mean((0, 2, 3))
    blue = data.samples[data.labels == 0].float().mean((0, 2, 3))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]  # alpha dropped, colours kept
    warning = capfd.readouterr().err
    assert warning.count("warning") == 1 and "skipped 1 of 16 files" in warning and "blue/notes.txt" in warning


def test_greyscale_images_give_one_channel_and_a_flat_folder_is_unlabelled(registry, tmp_path):
    for i in range(5):
        Image.new("L", (20, 28), 40 * i).save(tmp_path / f"{i}.png")
    data = _load(registry, "folder", path=str(tmp_path), size=8)
    assert data.spec == DataSpec("image", (1, 8, 8)) and data.labels is None
    assert sorted(data.samples[:, 0, 4, 4].tolist()) == [0, 40, 80, 120, 160]
    rgb = _load(registry, "folder", path=str(tmp_path), size=8, channels="3")
    assert rgb.spec.shape == (3, 8, 8) and torch.equal(rgb.samples[:, 0], rgb.samples[:, 2])


def test_non_square_images_are_resized_on_the_shorter_side_then_centre_cropped(registry, tmp_path):
    img = Image.new("L", (60, 20), 0)  # a bright vertical band in the centre third
    img.paste(255, (20, 0, 40, 20))
    img.save(tmp_path / "wide.png")
    data = _load(registry, "folder", path=str(tmp_path), size=10)
    row = data.samples[0, 0, 5].tolist()
    assert len(row) == 10 and min(row) > 200  # the crop is the centre 20x20 (all bright), scaled to 10x10
    native = _load(registry, "folder", path=str(tmp_path))  # no size: the first image's shorter side
    assert native.spec.shape == (1, 20, 20)


def test_limit_spreads_over_the_classes(registry, pictures):
    data = _load(registry, "folder", path=str(pictures), size=8, limit=4)
    assert len(data) == 4 and set(data.labels.tolist()) == {0, 1}


def test_the_cache_is_reused_rebuilt_when_the_folder_changes_and_when_corrupt(registry, pictures, capfd, tmp_path):
    _load(registry, "folder", path=str(pictures), size=8)
    caches = list((tmp_path / "cache" / "images").iterdir())
    assert len(caches) == 1 and json.loads((caches[0] / "meta.json").read_text())["count"] == 15
    stamp = (caches[0] / "pixels.u8").stat().st_mtime_ns
    _load(registry, "folder", path=str(pictures), size=8)
    assert (caches[0] / "pixels.u8").stat().st_mtime_ns == stamp  # read, not rebuilt
    Image.new("RGB", (16, 16), RED).save(pictures / "red" / "new.png")
    assert len(_load(registry, "folder", path=str(pictures), size=8)) == 16  # a changed folder: a new cache
    capfd.readouterr()
    newest = max((tmp_path / "cache" / "images").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    pixels = newest / "pixels.u8"
    ganzoo.data.imagecache._VERIFIED.clear()  # as a new process would see it
    pixels.write_bytes(pixels.read_bytes()[:-7])  # truncated
    again = _load(registry, "folder", path=str(pictures), size=8)
    assert len(again) == 16 and "truncated" in capfd.readouterr().err
    expected = again.samples.clone()  # the samples map the file: a copy before it is damaged again
    ganzoo.data.imagecache._VERIFIED.clear()
    raw = bytearray(pixels.read_bytes())
    raw[5] ^= 0xFF  # one flipped byte
    pixels.write_bytes(bytes(raw))
    fixed = _load(registry, "folder", path=str(pictures), size=8)
    assert "corrupt" in capfd.readouterr().err and torch.equal(fixed.samples, expected)


def test_decoding_in_worker_processes_gives_the_same_pixels(registry, tmp_path, monkeypatch):
    for i in range(300):  # above the size at which workers start
        Image.new("RGB", (12, 12), (i % 256, 3, 7)).save(tmp_path / f"{i:03d}.png")
    monkeypatch.setenv("GANZOO_DECODE_WORKERS", "2")
    pooled = _load(registry, "folder", path=str(tmp_path), size=12)
    monkeypatch.setenv("GANZOO_DECODE_WORKERS", "0")
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache-2"))
    alone = _load(registry, "folder", path=str(tmp_path), size=12)
    assert torch.equal(pooled.samples, alone.samples)
    assert pooled.samples[:, 0, 0, 0].tolist() == [i % 256 for i in range(300)]


@pytest.mark.parametrize("setup, message", [
    (lambda p: p.mkdir(), "holds no files"),
    (lambda p: p.write_text("x"), "is a file, not a folder of images"),
    (lambda p: None, "does not exist"),
    (lambda p: (p.mkdir(), (p / "a.jpg").write_text("no")), "no readable image"),
])
def test_bad_folders_are_one_clear_error(invoke, tmp_path, setup, message):
    where = tmp_path / "data"
    setup(where)
    result = invoke("train", "--dataset", "folder", "--set", f"dataset.path={where}", "--out", tmp_path / "run",
                    expect=1)
    assert result.stderr.startswith("error: ") and message in result.stderr and str(where) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_a_folder_trains_a_conditional_mix_with_its_labels(tmp_path, pictures):
    run = tmp_path / "run"
    ganzoo.train("cgan", "cgan", "nonsaturating", "folder", steps=3, batch_size=8, out=run,
                 set=[f"dataset.path={pictures}", "dataset.size=8"])
    red, blue = (ganzoo.sample(run, 4, label=k) for k in (1, 0))
    assert red.shape == blue.shape == (4, 3, 8, 8)


# -- torchvision's datasets, on tiny files in their real formats -------------------------------------------------


def test_cifar10_and_cifar100_through_torchvision(registry, tmp_path):
    make_tiny_cifar(tmp_path)
    c10 = _load(registry, "cifar10", root=str(tmp_path), download=False)
    assert c10.spec == DataSpec("image", (3, 32, 32), classes=10) and len(c10) == 50
    assert c10.samples[:3, 0, 5, 5].tolist() == [0, 20, 40] and c10.samples.dtype == torch.uint8
    assert len(_load(registry, "cifar10", root=str(tmp_path), download=False, train=False)) == 10
    assert set(_load(registry, "cifar10", root=str(tmp_path), download=False, classes=[3]).labels.tolist()) == {3}
    c100 = _load(registry, "cifar100", root=str(tmp_path), download=False)
    assert c100.spec.classes == 100 and len(c100) == 10


def test_celeba_through_torchvision_centre_cropped_to_64(registry, tmp_path):
    make_tiny_celeba(tmp_path)
    data = _load(registry, "celeba", root=str(tmp_path), download=False)
    assert data.spec == DataSpec("image", (3, 64, 64)) and len(data) == 8 and data.labels is None
    assert data.samples[:3, 0, 32, 32].tolist() == pytest.approx([0, 10, 20], abs=3)
    smiling = _load(registry, "celeba", root=str(tmp_path), download=False, attribute="Smiling", split="test")
    assert smiling.spec.classes == 2 and smiling.labels.tolist() == [0, 1, 0, 0]  # images 9-12: 9 % 3 == 0
    with pytest.raises(ParameterError, match="did you mean 'Smiling'"):
        _load(registry, "celeba", root=str(tmp_path), download=False, attribute="smiling")


def test_fashion_mnist_and_kmnist_share_mnist_format(registry, tmp_path):
    from conftest import make_tiny_mnist

    make_tiny_mnist(tmp_path / "data")
    for cls in ("FashionMNIST", "KMNIST"):
        (tmp_path / "data" / cls).mkdir()
        (tmp_path / "data" / "MNIST" / "raw").rename(tmp_path / "data" / cls / "raw") if cls == "FashionMNIST" \
            else (tmp_path / "data" / cls / "raw").symlink_to(tmp_path / "data" / "FashionMNIST" / "raw")
    for name in ("fashion-mnist", "kmnist"):
        data = _load(registry, name, root=str(tmp_path / "data"), download=False)
        assert data.spec == DataSpec("image", (1, 28, 28), classes=10) and len(data) == 64


def test_missing_torchvision_files_give_the_offline_line(invoke, tmp_path):
    for name, folder in (("cifar10", "cifar-10-batches-py"), ("fashion-mnist", "FashionMNIST"), ("celeba", "celeba")):
        result = invoke("train", "--dataset", name, "--set", f"dataset.root={tmp_path}", "--set",
                        "dataset.download=false", "--out", tmp_path / "run", expect=1)
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1 and "files not found in" in line and "download is off" in line, line
        assert str(tmp_path / folder) in line


def test_any_torchvision_dataset_by_class_name(registry, tiny_mnist):
    data = _load(registry, "torchvision", name="MNIST", root=str(tiny_mnist), download=False, size=16)
    assert data.spec == DataSpec("image", (1, 16, 16), classes=10) and len(data) == 64
    assert data.labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    test = _load(registry, "torchvision", name="MNIST", root=str(tiny_mnist), download=False, split="test")
    assert test.spec.shape == (1, 28, 28) and len(test) == 32
    with pytest.raises(ParameterError, match="did you mean 'CIFAR10'"):
        _load(registry, "torchvision", name="cifar10", root=str(tiny_mnist))
    with pytest.raises(ParameterError, match="'utils' is not a torchvision dataset"):
        _load(registry, "torchvision", name="utils", root=str(tiny_mnist))


# -- memory: uint8 on the device, streaming beyond the budget ----------------------------------------------------


def _striped(n=64, classes=4):
    """Images whose every pixel is 10 * label + 1 (so a batch shows whether images kept their labels)."""
    labels = torch.arange(n) % classes
    return Data.images((labels * 10 + 1).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous(),
                       labels=labels)


def test_batches_stay_uint8_on_the_device_and_become_floats_per_batch():
    data = _striped()
    batches = real_batches(data, True, torch.device("cpu"), 8, 0, budget_gib=None)
    assert isinstance(batches, DeviceBatches) and batches.samples.dtype == torch.uint8
    batch = batches(8)
    assert batch.samples.dtype == torch.float32
    assert torch.allclose(batch.samples[:, 0, 0, 0], (batch.labels * 10 + 1) * 2 / 255 - 1)


def test_data_over_the_budget_streams_from_a_memory_mapped_file(tmp_path):
    labels = torch.arange(64) % 4
    pixels = (labels * 10 + 1).to(torch.uint8).view(64, 1, 1, 1).expand(64, 1, 4, 4).numpy()
    np.save(tmp_path / "pixels.npy", pixels)
    data = Data.images(ganzoo.memory_mapped(tmp_path / "pixels.npy"), labels=labels)
    budget = data.nbytes / 2 / 2**30
    batches = real_batches(data, True, torch.device("cpu"), 16, 5, budget_gib=budget)
    assert isinstance(batches, StreamedBatches)
    try:
        drawn = [batches(16) for _ in range(6)]
    finally:
        batches.close()
    for batch in drawn:  # every image came with its own label
        assert torch.allclose(batch.samples[:, 0, 0, 0], (batch.labels * 10 + 1) * 2 / 255 - 1)
    again = StreamedBatches(data, True, torch.device("cpu"), 16, 5)
    again.load({"drawn": 4})  # as a resumed run: the same batches from the fifth on
    try:
        assert torch.equal(again(16).labels, drawn[4].labels) and torch.equal(again(16).labels, drawn[5].labels)
    finally:
        again.close()
    other_rank = StreamedBatches(data, True, torch.device("cpu"), 16, 6)
    try:
        assert not torch.equal(other_rank(16).labels, drawn[0].labels)
    finally:
        other_rank.close()


@pytest.mark.slow
def test_a_streamed_run_learns_and_resumes_bit_identically(invoke, tmp_path):
    common = ["--data-memory", "1e-9", "--checkpoint-every", "0", "-q"]  # parabola, over a budget of 1 byte
    invoke("train", *common, "--steps", "200", "--out", tmp_path / "once")
    invoke("train", *common, "--steps", "100", "--out", tmp_path / "twice")
    invoke("train", "--resume", tmp_path / "twice", "--steps", "200", "-q")
    once = torch.load(tmp_path / "once" / "checkpoints" / "latest.pt", weights_only=True)
    twice = torch.load(tmp_path / "twice" / "checkpoints" / "latest.pt", weights_only=True)
    assert all(torch.equal(once["generator"][k], twice["generator"][k]) for k in once["generator"])
    assert once["batches"] == {"streamed": True, "drawn": 200}
    invoke("train", "--resume", tmp_path / "once", "--steps", "210", "-q")  # plenty of memory now: still streamed
    assert torch.load(tmp_path / "once" / "checkpoints" / "latest.pt", weights_only=True)["batches"]["drawn"] == 210
    # measured, streamed (seeds 0-5): curve error 0.24-0.40 after 1,000 steps (800: 0.29-0.53); untrained 2.74
    invoke("train", *common, "--steps", "1000", "--out", tmp_path / "learned")
    xy = ganzoo.sample(tmp_path / "learned", 2000, seed=1)
    inside = xy[:, 0].abs() <= 3
    assert (xy[inside, 1] - (xy[inside, 0] ** 2 + 1)).abs().mean().item() < 0.6


# -- defaults by kind of data -------------------------------------------------------------------------------------


def _points_plugin(shape=(2,)):
    class Moons:
        @ganzoo.hookimpl
        def ganzoo_datasets(self):
            yield ganzoo.DatasetSpec(name="blob", factory=lambda: Data.points(torch.randn(100, shape[0])),
                                     shape=lambda: DataSpec("points", shape), description="Points.")
    return Moons()


def test_every_point_dataset_gets_the_point_defaults(registry, plugin):
    plugin(_points_plugin())
    cfg = resolve_config(registry, {"dataset": "blob"})
    assert (cfg.batch_size, cfg.lr_g, cfg.steps, cfg.ema, cfg.latent_dim) == (128, 4e-4, 18_000, 0.99, 2)
    assert [(r.name, r.params["weight"]) for r in cfg.regularisers] == [("r1", 0.1)]
    curve = resolve_config(registry, {"dataset": "parabola"})  # a built-in curve's own suggestions win
    assert (curve.batch_size, curve.steps, curve.latent_dim, curve.regularisers) == (128, 6_000, 64, ())
    assert resolve_config(registry, {"dataset": "blob", "batch_size": 32}).batch_size == 32  # the user wins
    # a regulariser of the user's replaces the defaults' R1; none drops it
    assert [r.name for r in resolve_config(registry, {"dataset": "blob", "regularisers": ["lecam"]}).regularisers] \
        == ["lecam"]
    assert resolve_config(registry, {"dataset": "blob", "regularisers": []}).regularisers == ()


def test_images_get_models_and_settings_by_size(registry, plugin):
    class Sized:
        @ganzoo.hookimpl
        def ganzoo_datasets(self):
            for side in (28, 64, 48):
                yield ganzoo.DatasetSpec(name=f"img{side}", factory=lambda: None, description="Images.",
                                         shape=lambda side=side: DataSpec("image", (3, side, side)))

    plugin(Sized())
    cfg = resolve_config(registry, {"dataset": "img64"})
    assert (cfg.generator.name, cfg.discriminator.name, cfg.batch_size, cfg.latent_dim) == ("dcgan", "dcgan", 128, 100)
    assert cfg.opt_g.params["betas"] == [0.5, 0.999]
    small = resolve_config(registry, {"dataset": "img28"})
    assert (small.generator.name, small.batch_size, small.lr_g) == ("mlp", 128, 4e-4)
    other = resolve_config(registry, {"dataset": "img48"})
    assert (other.generator.name, other.batch_size) == ("mlp", 64)  # no defaults fit: ganzoo's own
    assert resolve_config(registry, {"dataset": "img64", "generator": "upconv"}).generator.name == "upconv"
    assert resolve_config(registry, {"dataset": "mnist"}).steps == 25_000  # a dataset's own suggestions win


def test_a_third_party_defaults_record_applies_on_top_of_the_built_ins(registry, plugin):
    class Mine:
        @ganzoo.hookimpl
        def ganzoo_defaults(self):
            yield ganzoo.DefaultsSpec(name="mine", description="Mine.",
                                      settings=lambda data: {"steps": 123} if data.kind == "points" else None)

    plugin(Mine())
    plugin(_points_plugin(), name="points-plugin")
    cfg = resolve_config(registry, {"dataset": "blob"})  # a point dataset that suggests nothing itself
    assert cfg.steps == 123 and cfg.batch_size == 128


def test_a_broken_defaults_record_is_one_line(registry, plugin):
    class Broken:
        @ganzoo.hookimpl
        def ganzoo_defaults(self):
            yield ganzoo.DefaultsSpec(name="broken", description="Broken.", settings=lambda data: {"stepz": 1})

    plugin(Broken())
    with pytest.raises(ganzoo.PluginError, match="unknown key 'stepz'; did you mean 'steps'"):
        resolve_config(registry, {"dataset": "sine"})


def test_cached_images_are_never_unpickled(registry, pictures, tmp_path, capfd):
    _load(registry, "folder", path=str(pictures), size=8)
    folder = next((tmp_path / "cache" / "images").iterdir())
    (folder / "labels.npy").write_bytes(pickle.dumps([1, 2]))  # not an .npy: refused and rebuilt, never loaded
    ganzoo.data.imagecache._VERIFIED.clear()
    capfd.readouterr()
    assert len(_load(registry, "folder", path=str(pictures), size=8)) == 15
    assert "unusable" in capfd.readouterr().err


def test_a_readme_beside_the_class_folders_keeps_the_labels(registry, pictures):
    (pictures / "README.md").write_text("my pictures")
    data = _load(registry, "folder", path=str(pictures), size=8)
    assert data.spec.classes == 2 and len(data) == 15
