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
    """The mlp activations run in place where autograd allows it (slope > 0, and slope 0: a ReLU); gradients are
    those of the plain form."""
    torch.manual_seed(0)
    g = build(registry, "generator", "mlp", 8, MNIST, hidden=[16, 16, 16], batchnorm=batchnorm, slope=slope)
    d = build(registry, "discriminator", "mlp", MNIST, hidden=[16, 16], slope=slope)
    z = torch.randn(6, 8)
    grads = []
    for inplace in (True, False):
        acts = [m for m in (*g.modules(), *d.modules()) if isinstance(m, torch.nn.LeakyReLU | torch.nn.ReLU)]
        assert len(acts) == 5 and all(isinstance(m, torch.nn.ReLU) == (slope == 0) for m in acts)
        assert all(m.inplace == (slope >= 0) for m in acts) or not inplace
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


def test_mlp_stack_is_the_one_stack_of_every_builtin_mlp(registry):
    """``ganzoo.mlp_stack``: the layers in order, BatchNorm skipping the first, dropout after each, spectral norm on
    every Linear, in-place activations only where autograd allows; and the five MLP families are built from it."""
    from torch.nn.utils import parametrize

    from ganzoo import mlp_stack

    stack = mlp_stack(3, [4, 5], slope=0.1, batchnorm=True, dropout=0.5, spectral_norm=True)
    names = [type(m).__name__.removeprefix("Parametrized") for m in stack]  # spectral norm's subclass
    assert names == ["Linear", "LeakyReLU", "Dropout", "Linear", "BatchNorm1d", "LeakyReLU", "Dropout"]
    assert all(parametrize.is_parametrized(m, "weight") for m in stack if isinstance(m, torch.nn.Linear))
    assert stack(torch.randn(6, 3)).shape == (6, 5) and stack[1].inplace
    assert [type(m).__name__ for m in mlp_stack(3, [4], slope=0.0)] == ["Linear", "ReLU"]
    assert mlp_stack(3, [4], slope=0.0)[1].inplace and not mlp_stack(3, [4], slope=-0.1)[1].inplace
    for hidden in ([], [4, 0]):
        with pytest.raises(ParameterError, match="at least one hidden width and every width >= 1"):
            mlp_stack(3, hidden)
    digits = DataSpec("image", (1, 28, 28), classes=10)
    for kind, name, args in [("generator", "cgan", (8, digits)), ("discriminator", "acgan", (digits,)),
                             ("discriminator", "projection", (digits,)), ("generator", "infogan", (8, digits))]:
        spec = registry.get(kind, name)
        model = spec.factory(*args, **spec.resolve({"hidden": [7, 9]}))
        widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
        assert any(widths[i:i + 2] == [7, 9] for i in range(len(widths))), (name, widths)


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
        ("discriminator", "maxpool", {"channels": [64]}, "needs 2 items"),
    ],
)
def test_bad_parameter_values_are_parameter_errors(registry, kind, name, params, message):
    data = MNIST
    args = (8, data) if kind == "generator" else (data,)
    with pytest.raises(ParameterError, match=message):
        build(registry, kind, name, *args, **params)


#: One declared bound per built-in family, and the line a user gets: the registry checks it and names the owner.
BOUNDS = [
    ("generator", "mlp", {"hidden": [64, 0]}, "generator 'mlp': every item of 'hidden' must be >= 1, got [64, 0]"),
    ("discriminator", "mlp", {"dropout": 1.0}, "discriminator 'mlp': 'dropout' must be in [0, 1), got 1"),
    ("generator", "cgan", {"embed": 0}, "generator 'cgan': 'embed' must be >= 1, got 0"),
    ("discriminator", "acgan", {"dropout": -0.1}, "discriminator 'acgan': 'dropout' must be in [0, 1), got -0.1"),
    ("discriminator", "projection", {"hidden": [-8]},
     "discriminator 'projection': every item of 'hidden' must be >= 1, got [-8]"),
    ("generator", "infogan", {"categories": 1}, "generator 'infogan': 'categories' must be >= 2, got 1"),
    ("discriminator", "infogan", {"continuous": -1}, "discriminator 'infogan': 'continuous' must be >= 0, got -1"),
    ("generator", "upconv", {"kernel": 0}, "generator 'upconv': 'kernel' must be >= 1, got 0"),
    ("discriminator", "maxpool", {"channels": [64, 0]},
     "discriminator 'maxpool': every item of 'channels' must be >= 1, got [64, 0]"),
    ("generator", "dcgan", {"width": 0}, "generator 'dcgan': 'width' must be >= 1, got 0"),
    ("discriminator", "cdcgan", {"embed": 0}, "discriminator 'cdcgan': 'embed' must be >= 1, got 0"),
    ("loss", "bce", {"fake_label": -0.5}, "loss 'bce': 'fake_label' must be in [0, 1], got -0.5"),
    ("loss", "wgan-gp", {"gp_weight": -1.0}, "loss 'wgan-gp': 'gp_weight' must be >= 0, got -1"),
    ("constraint", "clip", {"clip": 0.0}, "constraint 'clip': 'clip' must be > 0, got 0"),
    ("dataset", "parabola", {"n": 1}, "dataset 'parabola': 'n' must be >= 2, got 1"),
    ("dataset", "sine", {"noise": -0.1}, "dataset 'sine': 'noise' must be >= 0, got -0.1"),
]


@pytest.mark.parametrize("kind, name, params, message", BOUNDS, ids=[f"{b[0]}-{b[1]}" for b in BOUNDS])
def test_declared_bounds_are_enforced_before_anything_is_built(registry, kind, name, params, message):
    spec = registry.get(kind, name)
    with pytest.raises(ParameterError) as err:
        spec.resolve(params)
    assert str(err.value) == message
    param = spec.find_param(next(iter(params)))
    assert param.range  # `ganzoo list` shows the same bound


@pytest.mark.parametrize(
    "kind, name, args, params, message",
    [  # what no bound can say, checked by the component and prefixed with its name by the registry
        ("loss", "nonsaturating", (), {"real_label": 0.2, "fake_label": 0.3},
         "loss 'nonsaturating': 'real_label' (0.2) must be above 'fake_label' (0.3)"),
        ("loss", "lsgan", (), {"real_label": 0.5, "fake_label": 0.5},
         "loss 'lsgan': 'real_label' and 'fake_label' are both 0.5"),
        ("generator", "upconv", (8, MNIST), {"kernel": 4},
         "generator 'upconv': 'kernel' must be odd so the image keeps its size, got 4"),
        ("generator", "dcgan", (8, RGB32), {"width": 64, "max_width": 32},
         "generator 'dcgan': 'width' (64) must be at most 'max_width' (32)"),
        ("generator", "infogan", (1, MNIST), {},
         "generator 'infogan': 'continuous' (2) must be at most latent_dim (1)"),
        ("dataset", "parabola", (), {"x_min": 1.0, "x_max": 0.0},
         "dataset 'parabola': 'x_max' (0.0) must be larger than 'x_min' (1.0)"),
        ("optimizer", "sgd", ([torch.zeros(1, requires_grad=True)], 0.1), {"nesterov": True},
         "optimizer 'sgd': nesterov needs a momentum > 0"),
    ],
)
def test_relations_between_parameters_are_named_once(registry, kind, name, args, params, message):
    spec = registry.get(kind, name)
    with pytest.raises(ParameterError) as err:
        spec.call("building it", spec.factory, *args, **spec.resolve(params))
    assert str(err.value).startswith(message) and str(err.value).count(f"{kind} '{name}'") == 1


def test_build_models_dry_runs_the_shapes(registry):
    config = resolve_config(registry, {"generator": "upconv", "discriminator": "maxpool", "dataset": "mnist"},
                            sets=["generator.fc=32", "discriminator.fc=16"])
    models = build_models(registry, config, MNIST)
    assert models.generator.training and models.discriminator.training  # the dry run restores the modes
