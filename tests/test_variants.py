"""The built-in variant plugins' mathematics, by hand: relativistic losses, WGAN, feature matching, InfoGAN's
mutual information, the projection discriminator and spectral normalisation; and the paper each variant's recipe
cites (test_recipes.py trains every recipe)."""

from __future__ import annotations

import math
import re

import pytest
import torch
from helpers.components import build

from ganzoo import DataSpec, DOutput, StepContext
from ganzoo.registry.kinds import SLOTS

MNIST = DataSpec("image", (1, 28, 28), classes=10)
VARIANTS = ["cgan-mnist", "acgan-mnist", "projection-mnist", "infogan-mnist", "wgan-clip-mnist", "sngan-mnist",
            "r1-mnist", "ragan-mnist", "diffaugment-mnist", "feature-matching-mnist", "lecam-mnist", "msgan-mnist",
            "orthogonal-mnist", "r3gan-mnist", "bcr-mnist", "ada-mnist", "topk-mnist"]



def _ctx(real_out=None, fake_out=None, **kw) -> StepContext:
    x = torch.zeros(2, 2)
    return StepContext(real=x, fake=x, discriminator=torch.nn.Identity(), real_out=real_out, fake_out=fake_out, **kw)


def _bce(logit: float, target: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_rasgan_by_hand(registry):
    loss = build(registry, "loss", "rasgan")
    r, f = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])  # means: r 1, f 0
    d = (sum(_bce(x - 0.0, 1) for x in (2.0, 0.0)) / 2 + sum(_bce(x - 1.0, 0) for x in (-1.0, 1.0)) / 2) / 2
    assert loss.discriminator_loss(r, f, _ctx()).item() == pytest.approx(d, rel=1e-6)
    g = (sum(_bce(x - 1.0, 1) for x in (-1.0, 1.0)) / 2 + sum(_bce(x - 0.0, 0) for x in (2.0, 0.0)) / 2) / 2
    assert loss.generator_loss(f, _ctx(real_out=DOutput(r))).item() == pytest.approx(g, rel=1e-6)


def test_ralsgan_by_hand(registry):
    loss = build(registry, "loss", "ralsgan")
    r, f = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    # D: ½[mean((r - 0 - 1)²) + mean((f - 1 + 1)²)] = ½[(1 + 1)/2 + (1 + 1)/2] = 1
    assert loss.discriminator_loss(r, f, _ctx()).item() == pytest.approx(1.0)
    # G: ½[mean((f - 1 - 1)²) + mean((r - 0 + 1)²)] = ½[(9 + 1)/2 + (9 + 1)/2] = 5
    assert loss.generator_loss(f, _ctx(real_out=DOutput(r))).item() == pytest.approx(5.0)


def test_relativistic_generator_gradient_flows_through_the_fake_mean_only(registry):
    loss = build(registry, "loss", "rasgan")
    f = torch.tensor([-1.0, 1.0], requires_grad=True)
    r = torch.tensor([2.0, 0.0], requires_grad=True)
    loss.generator_loss(f, _ctx(real_out=DOutput(r.detach()))).backward()
    assert f.grad.abs().sum() > 0 and r.grad is None


def test_wgan_loss_by_hand(registry):
    loss = build(registry, "loss", "wgan")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    assert loss.discriminator_loss(real, fake, _ctx()).item() == pytest.approx(-1 - 2)
    assert loss.generator_loss(fake, _ctx()).item() == pytest.approx(1.0)


def test_feature_matching_by_hand(registry):
    real = DOutput(torch.zeros(2), {"features": torch.tensor([[1.0, 2.0], [3.0, 2.0]])})  # mean (2, 2)
    fake = DOutput(torch.zeros(2), {"features": torch.tensor([[0.0, 0.0], [0.0, 2.0]])})  # mean (0, 1)
    expected = 2.0 ** 2 + 1.0 ** 2
    spec = registry.get("regulariser", "feature-matching")
    reg = spec.factory()
    assert reg.players() == ("generator",)
    assert reg.generator_penalty(_ctx(real, fake)).item() == pytest.approx(expected)
    loss = build(registry, "loss", "feature-matching")
    assert loss.generator_loss(fake.logits, _ctx(real, fake)).item() == pytest.approx(expected)


def test_infogan_mutual_information_by_hand(registry):
    reg = registry.get("regulariser", "infogan").factory(continuous_weight=0.5)
    assert set(reg.players()) == {"discriminator", "generator"}
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    means = torch.tensor([[0.5], [-1.0]])
    out = DOutput(torch.zeros(2), {"code_logits": logits, "code_means": means})
    z = torch.tensor([[1.5, 9.0], [0.0, 9.0]])  # the continuous code is z's first entry
    ce = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(0.5)) / 2
    gaussian = 0.5 * ((0.5 - 1.5) ** 2 + (-1.0 - 0.0) ** 2) / 2
    got = reg.generator_penalty(_ctx(fake_out=out, fake_labels=torch.tensor([0, 1]), z=z))
    assert got.item() == pytest.approx(ce + 0.5 * gaussian, rel=1e-6)


def test_infogan_generator_takes_its_own_codes_and_samples_by_code(registry):
    spec = registry.get("generator", "infogan")
    assert spec.conditional and spec.label_classes(**spec.resolve({})) == 10
    g = spec.factory(12, DataSpec("image", (1, 28, 28)), **spec.resolve({}))  # no labels in the data needed
    assert g(torch.randn(3, 12), torch.tensor([0, 4, 9])).shape == (3, 1, 28, 28)


def test_projection_discriminator_is_psi_plus_the_label_embedding_dotted_with_phi(registry):
    d = build(registry, "discriminator", "projection", MNIST, hidden=[8])
    x, labels = torch.randn(5, 1, 28, 28), torch.tensor([0, 3, 3, 7, 9])
    out = DOutput.of(d(x, labels))
    phi = d.phi(x)
    expected = d.psi(phi).view(-1) + (d.embed.weight[labels] * phi).sum(1)
    assert torch.allclose(out.logits, expected, atol=1e-6) and torch.equal(out["features"], phi)


@pytest.mark.parametrize("name", ["mlp", pytest.param("maxpool", marks=pytest.mark.slow), "cgan", "projection"])
def test_spectral_norm_bounds_every_layers_largest_singular_value(registry, name):
    data = MNIST
    d = build(registry, "discriminator", name, data, spectral_norm=True)
    d.train()
    x = torch.randn(4, *data.shape)
    labels = torch.zeros(4, dtype=torch.long)
    for _ in range(30):  # power iterations run in training-mode forward passes
        d(x, labels) if registry.get("discriminator", name).conditional else d(x)
    d.eval()
    layers = [m for m in d.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    assert layers
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05), (type(layer).__name__, sigma)


def test_acgan_discriminator_needs_labels_and_returns_class_logits(registry):
    spec = registry.get("discriminator", "acgan")
    assert "labelled" in spec.incompatibility(DataSpec("image", (1, 28, 28)))
    out = DOutput.of(spec.factory(MNIST, **spec.resolve({}))(torch.randn(3, 1, 28, 28)))
    assert out.logits.shape == (3,) and out["classes"].shape == (3, 10)


def test_each_variant_recipe_cites_its_paper(registry):
    """Each recipe trains with exactly its settings in test_recipes.py; here, that it names the paper it follows."""
    for name in VARIANTS:
        provided = registry.recipe(name)
        assert provided.plugin.builtin and re.search(r"\b(19|20)\d\d\b", provided.spec.citation), name  # a year


def test_each_variant_is_one_plugin_module_of_at_most_100_lines_of_code():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "plugins" / "ganzoo_builtins"
    for package in ("cgan", "acgan", "projection", "infogan", "wgan", "r1", "relativistic", "diffaugment",
                    "feature_matching", "lecam", "mode_seeking", "orthogonal", "consistency", "ada",
                    "topk"):
        files = list((root / package).glob("*.py"))
        assert [f.name for f in files] == ["__init__.py"], package
        code = [line for line in files[0].read_text().splitlines() if line.strip()]
        in_docstring, counted = False, 0
        for line in code:  # lines of code: not blank, not comments, not docstrings
            stripped = line.strip()
            quotes = stripped.count('"""')
            if in_docstring or quotes:
                in_docstring = in_docstring != (quotes == 1)
                continue
            counted += not stripped.startswith("#")
        assert counted <= 100, (package, counted)


def test_every_slot_has_a_flag_and_a_kind(registry):
    for slot in SLOTS.values():
        assert slot.flags and registry.components(slot.kind) is not None
