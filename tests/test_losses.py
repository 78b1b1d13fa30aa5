"""The loss formulas, checked against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from helpers.components import build

from ganzoo import StepContext

LOG2 = math.log(2)


def _loss(registry, name, **params):
    return build(registry, "loss", name, **params)


def _ctx():
    return StepContext(real=torch.zeros(4, 2), fake=torch.zeros(4, 2), discriminator=torch.nn.Identity())


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


# -- least squares, hinge, WGAN-GP ---------------------------------------------------------------------------------


def test_lsgan_by_hand(registry):
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    loss = _loss(registry, "lsgan")  # a = 1, b = 0, c = 1
    assert loss.discriminator_loss(real, fake, _ctx()).item() == pytest.approx(0.5 * 2 + 0.5 * 2)  # ½(0+4)/2 twice
    assert loss.generator_loss(fake, _ctx()).item() == pytest.approx(0.5 * (1 + 9) / 2)
    paper = _loss(registry, "least-squares", real_label=1, fake_label=-1, generator_target=0)  # the a-b=2 scheme
    assert paper.discriminator_loss(real, fake, _ctx()).item() == pytest.approx(0.5 * 2 + 0.5 * (1 + 1) / 2)
    assert paper.generator_loss(fake, _ctx()).item() == pytest.approx(0.5 * 4 / 2)


def test_lsgan_gradients_pull_towards_the_targets(registry):
    loss = _loss(registry, "lsgan", generator_target=0.5)
    fake = torch.tensor([-1.0, 2.0], requires_grad=True)
    loss.generator_loss(fake, _ctx()).backward()
    assert fake.grad.tolist() == pytest.approx([(-1 - 0.5) / 2, (2 - 0.5) / 2])  # d/dl ½·mean((l−c)²) = (l−c)/n
    real, fake = torch.tensor([3.0], requires_grad=True), torch.tensor([0.5], requires_grad=True)
    loss.discriminator_loss(real, fake, _ctx()).backward()
    assert (real.grad.item(), fake.grad.item()) == pytest.approx((3 - 1, 0.5 - 0))


def test_lsgan_needs_two_different_labels(registry):
    from ganzoo import ParameterError

    with pytest.raises(ParameterError, match="'real_label' and 'fake_label' are both 0.5"):
        _loss(registry, "lsgan", real_label=0.5, fake_label=0.5)


def test_hinge_by_hand_and_only_inside_the_margin(registry):
    real = torch.tensor([2.0, 0.5, -1.0], requires_grad=True)  # relu(1 − r) = 0, 0.5, 2
    fake = torch.tensor([-2.0, 0.0, 1.0], requires_grad=True)  # relu(1 + f) = 0, 1, 2
    loss = _loss(registry, "hinge")
    d = loss.discriminator_loss(real, fake, _ctx())
    assert d.item() == pytest.approx(2.5 / 3 + 3 / 3)
    d.backward()
    assert real.grad.tolist() == pytest.approx([0, -1 / 3, -1 / 3])  # a real sample beyond the margin is ignored
    assert fake.grad.tolist() == pytest.approx([0, 1 / 3, 1 / 3])
    fake = torch.tensor([-2.0, 0.0, 5.0], requires_grad=True)
    g = loss.generator_loss(fake, _ctx())
    assert g.item() == pytest.approx(-1.0)
    g.backward()
    assert fake.grad.tolist() == pytest.approx([-1 / 3] * 3)  # G raises every score, however high already


class _Linear(torch.nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalty is exactly (‖w‖ − 1)²."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


class _HalfSquaredNorm(torch.nn.Module):
    """D(x) = ½‖x‖²: its input gradient is x itself."""

    def forward(self, x):
        return 0.5 * x.pow(2).flatten(1).sum(1)


def _wgan(registry, d, real, fake, **params):
    """The WGAN-GP discriminator loss as the trainer calls it: D's logits of both batches plus the context."""
    loss = _loss(registry, "wgan-gp", **params)
    return loss.discriminator_loss(d(real), d(fake), StepContext(real=real, fake=fake, discriminator=d))


def test_wasserstein_part_and_generator_loss_by_hand(registry):
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    loss = _loss(registry, "wgan-gp", gp_weight=0)
    assert loss.discriminator_loss(real, fake, _ctx()).item() == pytest.approx(-1 - 2)  # E[D(G(z))] − E[D(x)]
    assert loss.generator_loss(fake, _ctx()).item() == pytest.approx(1.0)


def test_gradient_penalty_of_a_linear_critic_and_its_gradient_on_the_weights(registry):
    torch.manual_seed(0)
    real, fake = torch.randn(16, 2), torch.randn(16, 2) + 3
    d = _Linear([3.0, 4.0])  # ‖w‖ = 5: penalty λ(5 − 1)² = 10·16
    got = _wgan(registry, d, real, fake)
    wasserstein = (fake @ d.w - real @ d.w).mean()
    assert got.item() == pytest.approx(wasserstein.item() + 160, rel=1e-5)
    got.backward()
    # d/dw [E<w,f> − E<w,x> + λ(‖w‖ − 1)²] = E[f] − E[x] + 2λ(‖w‖ − 1)·w/‖w‖: the penalty reaches D's weights.
    expected = fake.mean(0) - real.mean(0) + 2 * 10 * 4 * torch.tensor([3.0, 4.0]) / 5
    assert torch.allclose(d.w.grad, expected, rtol=1e-5)


def test_gradient_penalty_on_images_and_its_weight(registry):
    torch.manual_seed(0)
    real, fake = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4)
    d = _Linear(torch.full((1, 4, 4), 0.1))  # ‖w‖ = 0.4 over 16 pixels: penalty (0.4 − 1)² = 0.36
    no_penalty = _wgan(registry, d, real, fake, gp_weight=0).item()
    assert _wgan(registry, d, real, fake, gp_weight=2.5).item() - no_penalty == pytest.approx(2.5 * 0.36, rel=1e-5)


def test_gradient_penalty_follows_the_input_gradient(registry):
    """With real == fake every interpolate is that sample, whatever ε, and ∇½‖x‖² = x."""
    x = torch.tensor([[3.0, 4.0], [0.6, 0.8], [0.0, 2.0]])  # norms 5, 1, 2: penalties 16, 0, 1
    assert _wgan(registry, _HalfSquaredNorm(), x, x.clone(), gp_weight=1).item() == pytest.approx(17 / 3, rel=1e-6)


def test_gradient_penalty_stays_float32_under_autocast(registry):
    d = _Linear([0.3, 0.4])  # not representable in bf16: a bf16 gradient would have norm 0.5008, not 0.5
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    loss = _loss(registry, "wgan-gp", gp_weight=1)
    ctx = StepContext(real=real, fake=fake, discriminator=d)
    zero = torch.zeros(8, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = loss.discriminator_loss(zero, zero, ctx)
    assert penalty.dtype == torch.float32 and penalty.item() == pytest.approx(0.25, rel=1e-6)
    penalty.backward()
    assert torch.allclose(d.w.grad, 2 * (0.5 - 1) * torch.tensor([0.3, 0.4]) / 0.5, rtol=1e-5)


def test_interpolates_use_one_epsilon_per_sample():
    from ganzoo_builtins.losses.wasserstein import random_interpolates

    torch.manual_seed(0)
    real, fake = torch.rand(64, 2, 3, 3) + 1, -torch.rand(64, 2, 3, 3)  # real − fake > 1 everywhere
    eps = (random_interpolates(real, fake) - fake) / (real - fake)
    per_sample = eps.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-5)  # one ε per image
    assert per_sample.min() >= 0 and per_sample.max() <= 1 and per_sample[:, 0].std() > 0.2  # ε ~ U[0, 1]
    assert random_interpolates(torch.zeros(5, 2), torch.ones(3, 2)).shape == (3, 2)  # paired up to the smaller


def test_wgan_gp_refuses_mismatched_sample_shapes_and_negative_weights(registry):
    from ganzoo import IncompatibleError, ParameterError

    with pytest.raises(IncompatibleError, match=r"real samples have shape \(2,\) but generated ones \(3,\)"):
        _wgan(registry, _HalfSquaredNorm(), torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(ParameterError, match="'gp_weight' must be >= 0, got -1"):
        _loss(registry, "wgan-gp", gp_weight=-1)


def test_gp_weight_mistake_is_one_line_on_the_cli(invoke, tmp_path):
    result = invoke("train", "-l", "wgan-gp", "--set", "loss.gp_weight=-1", "--out", tmp_path / "r", expect=1)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "error: --set loss.gp_weight: loss 'wgan-gp': 'gp_weight' must be >= 0, got -1")


@pytest.mark.parametrize("name", ["lsgan", "hinge", "wgan-gp"])
def test_new_losses_are_finite_for_extreme_half_precision_logits(registry, name):
    extreme = torch.tensor([-1e4, 1e4], dtype=torch.bfloat16)
    loss = _loss(registry, name, **({"gp_weight": 0} if name == "wgan-gp" else {}))
    assert torch.isfinite(loss.discriminator_loss(extreme, extreme, _ctx()))
    assert torch.isfinite(loss.generator_loss(extreme, _ctx()))


@pytest.fixture
def one_thread():
    """Tiny models on a shared machine: one thread avoids OpenMP threads spinning against each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_wgan_gp_with_five_critic_steps_learns_the_parabola(tmp_path, one_thread):
    """WGAN-GP first spreads its mass over the data: x coverage up, the kernel distance (MMD) to the data down. (The
    sliced Wasserstein distance is not: after 200 steps at lr 1e-3 some mass still lies beyond the curve's range,
    which it weighs by distance; the EMA generator, warmed up, now follows G closely enough to show that.)"""
    import ganzoo

    options = {"d_steps": 5, "betas": (0.0, 0.9), "lr_d": 1e-3, "lr_g": 1e-3,
               "set": ["dataset.n=512", "generator.hidden=64,64", "discriminator.hidden=64,64"]}
    ganzoo.train("mlp", "mlp", "wgan-gp", "parabola", steps=1, out=tmp_path / "untrained", **options)
    ganzoo.train("mlp", "mlp", "wgan-gp", "parabola", steps=200, out=tmp_path / "trained", **options)
    before, after = (ganzoo.evaluate(tmp_path / run, 2000) for run in ("untrained", "trained"))
    assert after["mmd"] < 0.5 * before["mmd"], (before, after)  # measured: 0.84 -> 0.25
    assert after["x_coverage"] > before["x_coverage"] + 0.3, (before, after)  # 0.2 -> 1.0
    assert after["recall"] > before["recall"] + 0.3, (before, after)  # 0.0 -> 0.48


@pytest.mark.parametrize("name, probabilities", [("bce", True), ("nonsaturating", True), ("lsgan", False),
                                                 ("hinge", False), ("wgan-gp", False)])
def test_d_output_statistics_are_probabilities_only_for_bce_losses(registry, tmp_path, name, probabilities):
    """D(x) / D(G(z)) in the bar and metrics: sigmoid means for BCE losses, raw means for critics (a sigmoid of a
    Wasserstein critic's score means nothing)."""
    from ganzoo.config import resolve_config
    from ganzoo.run.rundir import RunDir
    from ganzoo.training.trainer import Trainer

    cfg = resolve_config(registry, {"loss": name, "batch_size": 8, "d_steps": 1},
                         sets=["dataset.n=64", "discriminator.hidden=8"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    with torch.no_grad():  # push D's outputs far from 0, where sigmoid and raw means differ
        trainer.D.net[-1].bias.fill_(3.0)
    outputs = []
    hook = trainer.D.register_forward_hook(lambda m, args, out: outputs.append(out["logits"].detach().clone()))
    trainer.train_step()
    hook.remove()
    stats = trainer.stats.take()
    real, fake = outputs[0][:8], outputs[0][8:]  # the D update's one pass: real batch, then generated batch
    squash = torch.sigmoid if probabilities else (lambda t: t)
    assert stats["d_real"] == pytest.approx(squash(real).mean().item(), abs=1e-5)
    assert stats["d_fake"] == pytest.approx(squash(fake).mean().item(), abs=1e-5)
    assert (stats["d_real"] > 1) == (not probabilities)  # raw outputs near 3; probabilities stay below 1
