"""Every built-in generator and discriminator builds the promised shapes at several data shapes."""

from __future__ import annotations

import pytest
import torch
from helpers.components import build

from ganzoo import DataSpec, DOutput, ParameterError
from ganzoo.config import resolve_config
from ganzoo.training.assemble import build_models

MNIST = DataSpec("image", (1, 28, 28))
RGB32 = DataSpec("image", (3, 32, 32))
RGB64 = DataSpec("image", (3, 64, 64))
POINTS = DataSpec("points", (2,))



@pytest.mark.parametrize("data", [MNIST, RGB32, RGB64, POINTS], ids=str)
@pytest.mark.parametrize("batchnorm", [True, False])
def test_mlp_generator_and_discriminator_shapes(registry, data, batchnorm):
    g = build(registry, "generator", "mlp", 16, data, batchnorm=batchnorm)
    d = build(registry, "discriminator", "mlp", data, dropout=0.3)
    fake = g(torch.randn(5, 16))
    assert fake.shape == (5, *data.shape)
    out = DOutput.of(d(fake))
    assert out.logits.shape == (5,) and out["features"].shape[0] == 5  # the last hidden layer, for matching


def test_mlp_generator_output_activation(registry):
    image = build(registry, "generator", "mlp", 8, MNIST)(torch.randn(64, 8) * 100)
    assert image.abs().max() <= 1  # tanh for images
    points_g = build(registry, "generator", "mlp", 8, POINTS, hidden=[4])
    assert not isinstance(points_g.net[-1], torch.nn.Tanh)  # linear for points
    forced = build(registry, "generator", "mlp", 8, POINTS, output="tanh")
    assert isinstance(forced.net[-1], torch.nn.Tanh)


@pytest.mark.parametrize("slope", [0.2, 0.0, -0.1])
@pytest.mark.parametrize("batchnorm", [True, False])
def test_mlp_in_place_activations_give_the_out_of_place_gradients(registry, slope, batchnorm):
    """The mlp LeakyReLUs run in place where autograd allows it (slope > 0); gradients are those of the plain form."""
    torch.manual_seed(0)
    g = build(registry, "generator", "mlp", 8, MNIST, hidden=[16, 16, 16], batchnorm=batchnorm, slope=slope)
    d = build(registry, "discriminator", "mlp", MNIST, hidden=[16, 16], slope=slope)
    z = torch.randn(6, 8)
    grads = []
    for inplace in (True, False):
        acts = [m for m in (*g.modules(), *d.modules()) if isinstance(m, torch.nn.LeakyReLU)]
        assert all(m.inplace == (slope > 0) for m in acts) or not inplace
        for m in acts:
            m.inplace = m.inplace and inplace
        g.zero_grad(), d.zero_grad()
        DOutput.of(d(g(z))).logits.square().mean().backward()
        grads.append([p.grad.clone() for p in (*g.parameters(), *d.parameters())])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads))


@pytest.mark.parametrize(
    "params, linear_widths, batchnorms",
    [
        ({"hidden": [128], "slope": 0.01, "batchnorm": False}, [128, 784], 0),  # Keras-style single hidden layer
        ({"hidden": [256, 256], "batchnorm": False}, [256, 256, 784], 0),
        ({"hidden": [256, 512, 1024], "batchnorm": True}, [256, 512, 1024, 784], 2),
    ],
)
def test_classic_mlp_variants_are_reachable(registry, params, linear_widths, batchnorms):
    g = build(registry, "generator", "mlp", 100, MNIST, **params)
    linears = [m.out_features for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert linears == linear_widths
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules()) == batchnorms
    slopes = {m.negative_slope for m in g.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {params.get("slope", 0.2)}


@pytest.mark.parametrize("data", [MNIST, RGB32, RGB64], ids=str)
@pytest.mark.parametrize("batchnorm", [True, False])
def test_upconv_generator_shapes(registry, data, batchnorm):
    g = build(registry, "generator", "upconv", 32, data, fc=64, batchnorm=batchnorm)
    out = g(torch.randn(3, 32))
    assert out.shape == (3, *data.shape) and out.abs().max() <= 1
    assert g.start == (128, data.shape[1] // 4, data.shape[2] // 4)  # 128 feature maps at H/4 x W/4


@pytest.mark.parametrize("data", [MNIST, RGB32, DataSpec("image", (3, 16, 16)), DataSpec("image", (1, 17, 23))],
                         ids=str)
def test_maxpool_discriminator_shapes(registry, data):
    d = build(registry, "discriminator", "maxpool", data, fc=32)
    assert DOutput.of(d(torch.randn(4, *data.shape))).logits.shape == (4,)
    convs = [m.out_channels for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [64, 128] and sum(isinstance(m, torch.nn.MaxPool2d) for m in d.modules()) == 2


@pytest.mark.parametrize(
    "kind, name, data, needs",
    [
        ("generator", "upconv", POINTS, "image data"),
        ("discriminator", "maxpool", POINTS, "image data"),
        ("generator", "upconv", DataSpec("image", (1, 30, 30)), "divisible by 4"),
        ("discriminator", "maxpool", DataSpec("image", (1, 12, 12)), "at least 16x16"),
    ],
)
def test_compatibility_is_declared(registry, kind, name, data, needs):
    assert needs in registry.get(kind, name).incompatibility(data)
    assert registry.get(kind, "mlp").incompatibility(data) is None


@pytest.mark.parametrize(
    "kind, name, params, message",
    [
        ("generator", "mlp", {"hidden": []}, "needs at least one item"),
        ("discriminator", "mlp", {"dropout": 1.5}, "dropout"),
        ("generator", "upconv", {"kernel": 4}, "must be odd"),
        ("discriminator", "maxpool", {"channels": [64]}, "two widths"),
    ],
)
def test_bad_parameter_values_are_parameter_errors(registry, kind, name, params, message):
    data = MNIST
    args = (8, data) if kind == "generator" else (data,)
    with pytest.raises(ParameterError, match=message):
        build(registry, kind, name, *args, **params)


def test_build_models_dry_runs_the_shapes(registry):
    config = resolve_config(registry, {"generator": "upconv", "discriminator": "maxpool", "dataset": "mnist"},
                            sets=["generator.fc=32", "discriminator.fc=16"])
    models = build_models(registry, config, MNIST)
    assert models.generator.training and models.discriminator.training  # the dry run restores the modes
