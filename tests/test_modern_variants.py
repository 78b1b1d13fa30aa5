"""The modern variants on the step's second opening, by hand: LeCam's moving anchors, R2, the relativistic pairing
loss (R3GAN), mode seeking through the step's own generator, and BigGAN's orthogonal regularisation."""

from __future__ import annotations

import math

import pytest
import torch
from helpers.components import build

import ganzoo
from ganzoo import DOutput, StepContext
from ganzoo.training.contracts import Drawing


def _ctx(**kw) -> StepContext:
    x = torch.zeros(2, 2)
    return StepContext(**{"real": x, "fake": x, "discriminator": torch.nn.Identity(), **kw})


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_lecam_pulls_each_batch_towards_the_other_batchs_moving_anchor(registry):
    reg = build(registry, "regulariser", "lecam", decay=0.5)
    ctx = _ctx(real_out=DOutput(torch.tensor([1.0, 3.0])), fake_out=DOutput(torch.tensor([-1.0, 1.0])))
    # anchors from 0, halfway to the means: real 0.5 * 2 = 1, fake 0.5 * 0 = 0
    # mean((r - 0)²) + mean((f - 1)²) = (1 + 9) / 2 + (4 + 0) / 2 = 7
    assert reg.discriminator_penalty(ctx).item() == pytest.approx(7.0)
    assert reg.real_anchor.item() == pytest.approx(1.0) and reg.fake_anchor.item() == pytest.approx(0.0)
    assert set(reg.state_dict()) == {"real_anchor", "fake_anchor"}  # what checkpoints keep


def test_rpgan_pairs_each_real_sample_with_one_generated_sample(registry):
    loss = build(registry, "loss", "rpgan")
    r, f = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    d = (_softplus(-3.0) + _softplus(1.0)) / 2  # softplus(f - r), pairwise
    g = (_softplus(3.0) + _softplus(-1.0)) / 2  # softplus(r - f)
    assert loss.discriminator_loss(r, f, _ctx()).item() == pytest.approx(d, rel=1e-6)
    assert loss.generator_loss(f, _ctx(real_out=DOutput(r))).item() == pytest.approx(g, rel=1e-6)


def test_r2_is_half_the_squared_input_gradient_on_generated_samples(registry):
    w = torch.tensor([3.0, 4.0])
    fake = torch.randn(5, 2)
    ctx = _ctx(fake=fake, scorer=lambda x, labels=None: DOutput(x @ w))  # D(x) = w·x: ∇ = w, ‖w‖² = 25
    assert build(registry, "regulariser", "r2").discriminator_penalty(ctx).item() == pytest.approx(12.5)


class _Doubling(Drawing):
    """G(z) = 2z, noise of ones: every sample moves twice as far as its noise."""

    def generate(self, z, labels=None):
        return 2 * z

    def noise(self, n):
        return torch.ones(n, 2)

    def labels(self, n):
        return None


def test_mode_seeking_penalises_the_inverse_of_sample_distance_per_noise_distance(registry):
    reg = build(registry, "regulariser", "mode-seeking", eps=1e-5)
    z = torch.tensor([[0.0, 0.0], [3.0, -1.0]])
    ctx = _ctx(fake=2 * z, z=z, drawing=_Doubling(), player="generator")
    assert reg.generator_penalty(ctx).item() == pytest.approx(1 / (2 + 1e-5))


def test_orthogonal_regularisation_sums_the_off_diagonal_gram_entries_of_gs_weights(registry):
    generator = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    with torch.no_grad():
        generator[0].weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))  # WWᵀ = [[1, 1], [1, 2]]: 1² + 1²
        generator[1].weight.copy_(torch.tensor([[5.0, 7.0]]))  # one row: no off-diagonal entry
    ctx = _ctx(generator=generator, player="generator")
    penalty = build(registry, "regulariser", "orthogonal").generator_penalty(ctx)
    assert penalty.item() == pytest.approx(2.0)
    penalty.backward()
    assert generator[0].weight.grad.abs().sum() > 0 and generator[0].bias.grad is None  # biases are left alone


def test_bcr_is_zero_for_a_transform_that_changes_nothing_and_the_jitters_variance_otherwise(registry):
    torch.manual_seed(0)
    real = torch.randn(20_000, 2)
    scorer = lambda x, labels=None: DOutput(x[:, 0])  # noqa: E731 - D(x) = x₀
    ctx = _ctx(real=real, fake=real, scorer=scorer, real_out=DOutput(real[:, 0]), fake_out=DOutput(real[:, 0]))
    still = build(registry, "regulariser", "bcr", jitter=0.0)
    assert still.discriminator_penalty(ctx).item() == 0
    jittered = build(registry, "regulariser", "bcr", jitter=0.5, fake=0.0)  # E(0.5 ε)² = 0.25, the real batch only
    assert jittered.discriminator_penalty(ctx).item() == pytest.approx(0.25, rel=0.05)


def test_bcr_transforms_images_by_flips_and_shifts_that_keep_a_constant_image(registry):
    from ganzoo_builtins.consistency import transform

    flat = torch.full((8, 3, 16, 16), 0.3)
    assert torch.allclose(transform(flat, 0.0), flat, atol=1e-6)  # reflected borders: nothing comes in from outside
    ramp = torch.linspace(-1, 1, 16).expand(64, 1, 16, 16)
    moved = transform(ramp, 0.0)
    assert not torch.allclose(moved, ramp) and moved.shape == ramp.shape
    assert (moved[:, 0, 0, 0] > 0).any() and (moved[:, 0, 0, 0] < 0).any()  # some flipped, some not


def test_zcr_by_hand_with_a_linear_generator_and_discriminator(registry):
    torch.manual_seed(0)
    z = torch.randn(50_000, 2)
    scorer = lambda x, labels=None: DOutput(x.sum(1))  # noqa: E731 - D(x) = Σx
    ctx = _ctx(fake=2 * z, z=z, scorer=scorer, fake_out=DOutput((2 * z).sum(1)), drawing=_Doubling())
    reg = build(registry, "regulariser", "zcr", dis=5.0, gen=0.5, sigma=0.03)
    # D: 5 · E(2 Σδ)² = 5 · 4 · 2σ²;  G: −0.5 · E‖2δ‖² = −0.5 · 4 · 2σ²
    assert reg.discriminator_penalty(ctx).item() == pytest.approx(5 * 4 * 2 * 0.03**2, rel=0.05)
    assert reg.generator_penalty(ctx).item() == pytest.approx(-0.5 * 4 * 2 * 0.03**2, rel=0.05)


def _ada(registry, **params):
    return build(registry, "augmentation", "ada", ganzoo.DataSpec("image", (1, 8, 8)), **params)


def test_ada_raises_p_while_d_is_sure_of_the_real_batch_and_lowers_it_otherwise(registry):
    ada = _ada(registry, interval=4, kimg=0.016, target=0.6)  # a step of batch 4 · 4 / 16 = 1: p saturates at once
    confident = _ctx(real=torch.zeros(4, 1, 8, 8), real_out=DOutput(torch.tensor([2.0, 1.0, 3.0, 0.5])))
    for _ in range(3):
        ada.observe(confident)
    assert ada.p.item() == 0  # adjusted only every 4 D updates
    ada.observe(confident)  # r_t = 1 > 0.6
    assert ada.p.item() == 1
    unsure = _ctx(real=torch.zeros(4, 1, 8, 8), real_out=DOutput(torch.tensor([2.0, -1.0, -3.0, 0.5])))
    for _ in range(4):
        ada.observe(unsure)  # r_t = 0 < 0.6
    assert ada.p.item() == 0 and ada.logged() == {"ada_p": ada.p}
    assert ada.state_dict()["_extra_state"] == {"updates": 8}  # the cadence survives a resume


def test_ada_is_the_identity_at_p_0_and_changes_every_sample_at_p_1(registry):
    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    assert torch.equal(_ada(registry, p=0.0)(x), x)
    moved = _ada(registry, p=1.0)(x)
    assert moved.shape == x.shape and not torch.isclose(moved, x).flatten(1).all(1).any()
    x.requires_grad_(True)
    _ada(registry, p=1.0)(x).sum().backward()  # differentiable: G learns through it
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_a_loss_brings_the_regularisers_it_needs_and_the_users_own_list_wins(registry):
    """R3GAN = RpGAN + R1 + R2: choosing the loss brings both penalties and Adam β1 = 0, as suggestions."""
    from ganzoo.config import resolve_config

    cfg = resolve_config(registry, {"loss": "rpgan"})
    assert [(r.name, r.params["every"]) for r in cfg.regularisers] == [("r1", 1), ("r2", 1)]
    assert cfg.opt_d.params["betas"] == [0.0, 0.99]
    assert [r.name for r in resolve_config(registry, {"loss": "rpgan", "regularisers": ["r1"]}).regularisers] == ["r1"]
    tuned = resolve_config(registry, {"loss": "rpgan"}, sets=["reg.r2.weight=0.5"])
    assert [r.params["weight"] for r in tuned.regularisers] == [0.1, 0.5]
    assert resolve_config(registry, {}).regularisers == ()  # no loss that suggests any: none


class _UnrolledLike:
    """A loss that cannot work with a conditional discriminator, and says so from the whole mix."""

    @ganzoo.hookimpl
    def ganzoo_losses(self):
        from ganzoo.training.contracts import GANLoss

        yield ganzoo.LossSpec(
            name="no-conditional-d", factory=GANLoss, description="refuses a conditional D",
            check_mix=lambda mix: "it needs an unconditional discriminator" if mix.discriminator.conditional else None)


def test_a_component_sees_the_whole_mix_and_refuses_a_partner_in_one_line(registry, plugin, invoke, tiny_mnist):
    plugin(_UnrolledLike(), name="unrolled-like")
    result = invoke("train", "-l", "no-conditional-d", "-g", "cgan", "-d", "projection", "--dataset", "mnist",
                    "--set", f"dataset.root={tiny_mnist}", "--set", "dataset.download=false", expect=1)
    assert "loss 'no-conditional-d' cannot train in this mix: it needs an unconditional discriminator" in result.stderr
    assert "Traceback" not in result.stderr


def test_topk_wraps_any_loss_and_gives_g_the_best_scored_samples_only(registry):
    loss = build(registry, "loss", "topk", loss="nonsaturating", keep=1.0, min_keep=0.5, decay=0.5, interval=10)
    f = torch.tensor([3.0, -1.0, 0.5, -2.0])
    assert loss.fraction(0) == 1.0 and loss.fraction(10) == 0.5 and loss.fraction(50) == 0.5
    whole = sum(_softplus(-x) for x in f.tolist()) / 4  # nonsaturating: softplus(-f) on all four at step 0
    assert loss.generator_loss(f, _ctx(step=0)).item() == pytest.approx(whole, rel=1e-6)
    best = (_softplus(-3.0) + _softplus(-0.5)) / 2  # the top 2 of D's scores once k is half the batch
    assert loss.generator_loss(f, _ctx(step=10)).item() == pytest.approx(best, rel=1e-6)
    r = torch.tensor([1.0, 2.0])
    inner = build(registry, "loss", "nonsaturating")
    assert loss.discriminator_loss(r, f[:2], _ctx()).item() == inner.discriminator_loss(r, f[:2], _ctx()).item()
    with pytest.raises(ganzoo.UnknownComponentError, match="unknown loss 'hinj'; did you mean 'hinge'"):
        build(registry, "loss", "topk", loss="hinj")
