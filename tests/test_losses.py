"""The loss formulas, checked against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo import LossContext

LOG2 = math.log(2)


def _loss(registry, name, **params):
    spec = registry.get("loss", name)
    return spec.factory(**spec.resolve(params))


def _ctx():
    return LossContext(real=torch.zeros(4, 2), fake=torch.zeros(4, 2), discriminator=torch.nn.Identity())


@pytest.mark.parametrize("name", ["bce", "minimax", "nonsaturating"])
def test_at_half_every_bce_term_is_log2(registry, name):
    zero = torch.zeros(8)  # logit 0 <=> D = 0.5
    loss = _loss(registry, name)
    assert loss.discriminator_loss(zero, zero, _ctx()).item() == pytest.approx(2 * LOG2)
    g = loss.generator_loss(zero, _ctx()).item()
    assert g == pytest.approx(-LOG2 if name != "nonsaturating" else LOG2)


@pytest.mark.parametrize("d_fake", [0.01, 0.3, 0.5, 0.9])
def test_saturating_and_nonsaturating_generator_losses(registry, d_fake):
    logits = torch.full((5,), math.log(d_fake / (1 - d_fake)))
    saturating = _loss(registry, "bce").generator_loss(logits, _ctx()).item()
    nonsaturating = _loss(registry, "nonsaturating").generator_loss(logits, _ctx()).item()
    assert saturating == pytest.approx(math.log(1 - d_fake), rel=1e-5)  # G minimises log(1 - D(G(z)))
    assert nonsaturating == pytest.approx(-math.log(d_fake), rel=1e-5)  # G maximises log D(G(z))


def test_gradients_differ_as_the_formulas_say(registry):
    """When D confidently rejects fakes (D = 0.01), the saturating gradient nearly vanishes."""
    grads = {}
    for name in ("bce", "nonsaturating"):
        logit = torch.tensor([math.log(0.01 / 0.99)], requires_grad=True)
        _loss(registry, name).generator_loss(logit, _ctx()).backward()
        grads[name] = logit.grad.item()
    assert grads["bce"] == pytest.approx(-0.01, rel=1e-4)  # d/dl log(1 - sigmoid(l)) = -D
    assert grads["nonsaturating"] == pytest.approx(-0.99, rel=1e-4)  # d/dl -log(sigmoid(l)) = -(1 - D)


def test_discriminator_loss_by_hand(registry):
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected = -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean())
    got = _loss(registry, "bce").discriminator_loss(real, fake, _ctx())
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_label_smoothing_moves_the_target(registry):
    zero = torch.zeros(3)
    smooth = _loss(registry, "nonsaturating", real_label=0.9, fake_label=0.1)
    # BCE(l=0, t) = log 2 for any target: move the logits to see the targets.
    logit = torch.tensor([2.0], requires_grad=True)
    smooth.discriminator_loss(logit, zero[:1], _ctx()).backward()
    assert logit.grad.item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item() - 0.9, rel=1e-5)
    plain = _loss(registry, "nonsaturating")
    logit = torch.tensor([2.0], requires_grad=True)
    plain.discriminator_loss(logit, zero[:1], _ctx()).backward()
    assert logit.grad.item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item() - 1.0, rel=1e-5)


def test_losses_are_finite_for_extreme_logits_and_half_precision(registry):
    extreme = torch.tensor([-1e4, 1e4], dtype=torch.bfloat16)
    for name in ("bce", "nonsaturating"):
        loss = _loss(registry, name)
        assert torch.isfinite(loss.discriminator_loss(extreme, extreme, _ctx()))
        assert torch.isfinite(loss.generator_loss(extreme, _ctx()))


def test_labels_outside_zero_one_are_rejected(registry):
    from ganzoo import ParameterError

    with pytest.raises(ParameterError, match="real_label"):
        _loss(registry, "bce", real_label=1.5)


def test_minimax_generator_ignores_label_smoothing(registry):
    """With D's fake target smoothed to 0.1, G must still push D(G(z)) up, never towards 0.1."""
    logit = torch.tensor([-4.0], requires_grad=True)  # D(G(z)) ~ 0.018, below the smoothed target
    _loss(registry, "bce", fake_label=0.1).generator_loss(logit, _ctx()).backward()
    assert logit.grad.item() < 0  # gradient descent raises the logit


def test_real_label_must_exceed_fake_label(registry):
    from ganzoo import ParameterError

    with pytest.raises(ParameterError, match="must be above"):
        _loss(registry, "nonsaturating", real_label=0.2, fake_label=0.3)
