"""Datasets: points on known curves, and MNIST through the real torchvision code path on tiny IDX files."""

from __future__ import annotations

import pytest
import torch

from ganzoo import DatasetError, ParameterError


def _load(registry, name, **params):
    spec = registry.get("dataset", name)
    return spec.load(spec.resolve(params))


@pytest.mark.parametrize("name, curve", [("parabola", lambda x: x * x + 1), ("sine", torch.sin)])
def test_points_lie_on_their_curve_and_map_back(registry, name, curve):
    data = _load(registry, name, n=500)
    assert data.spec.kind == "points" and data.spec.shape == (2,) and len(data) == 500
    # normalised for training...
    assert data.samples.mean(0).abs().max() < 1e-4 and (data.samples.std(0) - 1).abs().max() < 1e-4
    # ...and mapped back to data coordinates exactly
    xy = data.to_data(data.samples)
    assert torch.allclose(xy[:, 1], curve(xy[:, 0]), atol=1e-4)
    assert xy[:, 0].min() >= -3 and xy[:, 0].max() <= 3 and data.x_range == (-3.0, 3.0)
    assert torch.allclose(data.curve(xy[:, 0]), curve(xy[:, 0]))


def test_points_noise_and_seed(registry):
    data = _load(registry, "parabola", n=2000, noise=0.5)
    xy = data.to_data(data.samples)
    residual = xy[:, 1] - (xy[:, 0] ** 2 + 1)
    assert 0.4 < residual.std().item() < 0.6
    again = _load(registry, "parabola", n=2000, noise=0.5)
    assert torch.equal(again.samples, data.samples)
    other = _load(registry, "parabola", n=2000, noise=0.5, seed=1)
    assert not torch.equal(other.samples, data.samples)


def test_points_reject_bad_parameters(registry):
    with pytest.raises(ParameterError, match="x_max"):
        _load(registry, "sine", x_min=1.0, x_max=0.0)


def test_mnist_through_torchvision_on_tiny_files(registry, tiny_mnist):
    data = _load(registry, "mnist", root=str(tiny_mnist), download=False)
    assert data.spec.kind == "image" and data.spec.shape == (1, 28, 28) and len(data) == 64
    assert data.samples.dtype == torch.uint8  # held as bytes: a quarter of float32's memory
    assert data.take().min() == -1 and data.take().max() == 1  # pixels scaled to [-1, 1] per batch
    assert data.labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    test_split = _load(registry, "mnist", root=str(tiny_mnist), download=False, train=False)
    assert len(test_split) == 32
    sevens = _load(registry, "mnist", root=str(tiny_mnist), download=False, digits=[7, 1])
    assert set(sevens.labels.tolist()) == {1, 7} and len(sevens) == 13


def test_images_from_uint8_or_float_pixels_agree_and_leave_the_input_alone():
    from ganzoo import Data

    raw = torch.tensor([0, 51, 255, 128], dtype=torch.uint8).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    as_bytes = Data.images(raw)
    floats = raw.float() / 255
    as_floats = Data.images(floats)
    assert as_bytes.samples.dtype == torch.uint8 and as_bytes.samples.is_contiguous()  # also from a strided view
    assert as_floats.samples.dtype == torch.float32
    assert torch.allclose(as_bytes.take(), as_floats.take(), atol=1e-6)
    assert as_bytes.take(slice(0, 3))[:, 0, 0, 0].tolist() == pytest.approx([-1.0, -0.6, 1.0])
    assert as_bytes.take(torch.tensor([2, 0]))[:, 0, 0, 0].tolist() == pytest.approx([1.0, -1.0])
    assert torch.equal(floats, raw.float() / 255)  # converted into a new tensor, never in place
    assert torch.allclose(as_bytes.to_data(as_bytes.take()), floats, atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):  # an int64 0-255 tensor would otherwise be scaled as if in [0, 1]
        Data.images(raw.long())


def test_mnist_default_root_comes_from_ganzoo_data(registry, tiny_mnist, monkeypatch):
    monkeypatch.setenv("GANZOO_DATA", str(tiny_mnist))
    assert len(_load(registry, "mnist", download=False)) == 64


def test_missing_mnist_names_the_files_and_the_folder(registry, tmp_path):
    with pytest.raises(DatasetError) as err:
        _load(registry, "mnist", root=str(tmp_path / "empty"), download=False)
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "empty" / "MNIST" / "raw") in message
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert name in message


def test_corrupt_mnist_files_are_reported(registry, tiny_mnist):
    (tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DatasetError, match="could not be read"):
        _load(registry, "mnist", root=str(tiny_mnist), download=False)


def test_mnist_digits_must_be_digits(registry, tiny_mnist):
    with pytest.raises(ParameterError, match=r"dataset .mnist.: every item of .digits. must be in \[0, 9\], got"):
        _load(registry, "mnist", root=str(tiny_mnist), download=False, digits=[12])
