"""The plugin's own tests: its components honour ganzoo's contracts and the ring metric measures what it says.

They build the components from the records the hooks yield, exactly as ganzoo does, so no ganzoo internals are
needed. Run them with ``pytest`` after ``pip install -e .``.
"""

from __future__ import annotations

import pytest
import torch

import ganzoo_ring
from ganzoo import DataSpec, ParameterError
from ganzoo_ring import ring


def _record(hook, name):
    return next(r for r in hook() if r.name == name)


DCGAN = _record(ganzoo_ring.ganzoo_discriminators, "strided")
RING = _record(ganzoo_ring.ganzoo_datasets, "ring")
#: A 2-D Gaussian puts 1 - exp(-9/2) = 98.9% of its mass within 3 std of its centre.
IN_3_STD = pytest.approx(0.989, abs=0.01)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 16, 16)])
def test_dcgan_returns_one_logit_per_image(shape):
    data = DataSpec("image", shape)
    assert DCGAN.incompatibility(data) is None
    d = DCGAN.factory(data, **DCGAN.resolve({}, data))
    logits = d(torch.randn(5, *shape))
    assert logits.shape == (5,)
    logits.sum().backward()  # gradients reach the first conv: nothing in the path is detached
    assert d.features[0].weight.grad.abs().sum() > 0


def test_dcgan_refuses_small_images_and_too_deep_stacks():
    assert "at least 16x16" in DCGAN.incompatibility(DataSpec("image", (1, 8, 8)))
    assert "image" in DCGAN.incompatibility(DataSpec("points", (2,)))
    with pytest.raises(ParameterError, match="fewer entries"):
        DCGAN.factory(DataSpec("image", (1, 16, 16)), **DCGAN.resolve({"channels": [8] * 6}))


def test_ring_matches_its_declared_shape_and_its_modes():
    params = RING.resolve({"n": 4000})
    data = RING.load(params)
    assert data.spec == RING.data_spec(params) == DataSpec("points", (2,))
    xy = data.to_data(data.samples)
    radius = xy.norm(dim=1)
    assert abs(radius.mean().item() - 2.0) < 0.01
    assert ring.mode_stats(xy, ring.centres(8, 2.0), 0.05) == {"modes_covered": 8, "high_quality": IN_3_STD}


def test_the_metric_sees_mode_collapse_and_poor_samples():
    centre = ring.centres(8, 2.0)
    gen = torch.Generator().manual_seed(0)
    collapsed = centre[3] + 0.05 * torch.randn(1000, 2, generator=gen, dtype=torch.float64)
    assert ring.mode_stats(collapsed, centre, 0.05) == {"modes_covered": 1, "high_quality": IN_3_STD}
    two = torch.cat([collapsed, centre[5] + 0.05 * torch.randn(1000, 2, generator=gen, dtype=torch.float64)])
    assert ring.mode_stats(two, centre, 0.05)["modes_covered"] == 2
    # a blurry generator near the circle but off the modes: few high-quality samples, few modes reached
    blurry = torch.randn(2000, 2, generator=gen, dtype=torch.float64) * 1.5
    stats = ring.mode_stats(blurry, centre, 0.05)
    assert stats["high_quality"] < 0.05 and stats["modes_covered"] == 0


def test_ring_rejects_bad_parameters_with_one_line():
    with pytest.raises(ParameterError, match="'std' must be positive"):
        RING.load(RING.resolve({"std": 0.0}))
