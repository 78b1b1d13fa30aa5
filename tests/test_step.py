"""The open training step, extension point by extension point, with values computed by hand: conditioning,
discriminator outputs, augmentations, regularisers (eager and lazy), constraints, optimizers and schedules."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from helpers import labelled
from helpers.host_reads import record_host_reads
from torch import nn

import ganzoo
from ganzoo import (
    AugmentationSpec,
    DiscriminatorSpec,
    IncompatibleError,
    StepContext,
    hookimpl,
)
from ganzoo.config import resolve_config
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.run.rundir import RunDir
from ganzoo.training.players import Player
from ganzoo.training.trainer import Trainer

SMALL = ["dataset.n=128", "generator.hidden=16,16", "discriminator.hidden=16"]
BLOBS = ["dataset.n=256", "generator.hidden=32,32", "discriminator.hidden=32"]


@pytest.fixture
def blobs(plugin):
    """The labelled point dataset ``blobs`` (4 classes), registered in-process."""
    return plugin(labelled, name="labelled")


def _trainer(registry, tmp_path, flags, sets=SMALL) -> Trainer:
    return Trainer(resolve_config(registry, {"batch_size": 8, **flags}, sets=sets), registry, RunDir(tmp_path / "r"))


def _step(trainer: Trainer, n: int = 1) -> None:
    for _ in range(n):
        trainer.train_step()
        trainer.step += 1


# -- regularisers ------------------------------------------------------------------------------------------------


class _Linear(nn.Module):
    def __init__(self, w) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_r1_on_a_linear_discriminator_is_half_gamma_times_the_squared_weight_norm(registry):
    spec = registry.get("regulariser", "r1")
    params = spec.resolve({})
    gamma = params.pop("weight")
    assert (gamma, params.pop("every")) == (10.0, 16)  # lazy by default, as in StyleGAN2
    d = _Linear([3.0, 4.0])  # ∇ₓ(w·x) = w for every x: ‖w‖² = 25
    ctx = StepContext(real=torch.randn(6, 2), fake=torch.randn(6, 2), discriminator=d)
    penalty = spec.factory(**params).discriminator_penalty(ctx)
    assert (gamma * penalty).item() == pytest.approx(gamma / 2 * 25)
    penalty.backward()  # differentiable in D's weights: d/dw ½‖w‖² = w
    assert torch.allclose(d.w.grad, torch.tensor([3.0, 4.0]))


def test_a_lazy_regulariser_runs_every_n_updates_scaled_by_n_with_the_stylegan2_correction(registry, tmp_path,
                                                                                          monkeypatch):
    from ganzoo_builtins import r1 as ganzoo_r1

    calls = []
    real_penalty = ganzoo_r1.R1.discriminator_penalty
    monkeypatch.setattr(ganzoo_r1.R1, "discriminator_penalty",
                        lambda self, ctx: (calls.append(ctx.step), real_penalty(self, ctx))[1])
    # the weight given: on point data R1's weight is otherwise the point defaults' 0.1
    trainer = _trainer(registry, tmp_path, {"regularisers": [{"name": "r1", "every": 4, "weight": 10.0}],
                                            "d_steps": 2})
    ratio = 4 / 5
    group = trainer.d.optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(trainer.config.lr_d * ratio)
    assert group["betas"] == pytest.approx((0.5 ** ratio, 0.999 ** ratio))
    assert trainer.g.optimizer.param_groups[0]["lr"] == trainer.config.lr_g  # G has no lazy regulariser
    _step(trainer, 6)  # 12 D updates: due after the 4th, 8th and 12th, i.e. in steps 1, 3 and 5
    assert calls == [1, 3, 5] and trainer.d.updates == 12
    applied = []
    real_update = Player.update
    monkeypatch.setattr(Player, "update", lambda self, loss, *args, **kwargs: (
        applied.append((self.name, loss.detach())), real_update(self, loss, *args, **kwargs))[1])
    trainer.train_step()  # updates 13 and 14: not due
    trainer.d.updates = 14  # (already) and the next step's two updates reach 16: due
    trainer.stats.take()
    trainer.train_step()
    players = [name for name, _ in applied]
    assert players == ["discriminator"] * 2 + ["generator"] + ["discriminator"] * 3 + ["generator"]
    raw = trainer.stats.take()["r1_d"]  # this step's unweighted R1
    assert applied[5][1].item() == pytest.approx(10.0 * 4 * raw, rel=1e-5)  # its own step: weight x every x R1


def test_an_eager_regulariser_adds_weight_times_penalty_to_every_update(registry, tmp_path, monkeypatch):
    trainer = _trainer(registry, tmp_path, {"regularisers": [{"name": "r1", "every": 1, "weight": 3.0}]})
    assert trainer.d.eager and not trainer.d.lazy
    assert trainer.d.optimizer.param_groups[0]["lr"] == trainer.config.lr_d  # no correction when eager
    losses, logits = [], []
    real_update = Player.update
    monkeypatch.setattr(Player, "update", lambda self, loss, *args, **kwargs: (
        losses.append((self.name, loss.item())), real_update(self, loss, *args, **kwargs))[1])
    trainer.D.register_forward_hook(lambda m, args, out: logits.append(out["logits"].detach()))
    trainer.train_step()
    r1 = trainer.stats.take()["r1_d"]
    joint = logits[0]  # D's update scores the real and the generated batch in one pass
    bce = nn.functional.binary_cross_entropy_with_logits
    expected = bce(joint[:8], torch.ones(8)) + bce(joint[8:], torch.zeros(8)) + 3.0 * r1
    assert r1 > 0 and losses[0] == ("discriminator", pytest.approx(expected.item(), rel=1e-5))


# -- constraints ------------------------------------------------------------------------------------------------


def test_after_a_clipped_update_every_discriminator_weight_lies_within_the_bound(registry, tmp_path):
    trainer = _trainer(registry, tmp_path, {"loss": "wgan", "constraints": [{"name": "clip", "clip": 0.02}]})
    assert isinstance(trainer.d.optimizer, torch.optim.RMSprop) and trainer.config.d_steps == 5  # suggested
    assert trainer.config.lr_d == 5e-5
    before = [p.detach().abs().max().item() for p in trainer.D.parameters()]
    assert max(before) > 0.02  # freshly initialised weights are larger than the bound
    _step(trainer)
    weights = torch.cat([p.detach().flatten() for p in trainer.D.parameters()])
    assert weights.abs().max().item() <= 0.02
    assert (weights.abs() == 0.02).any()  # some weights were clipped onto the bound
    assert any(p.detach().abs().max() > 0.02 for p in trainer.G.parameters())  # G is not constrained


# -- augmentations --------------------------------------------------------------------------------------------------


class _Mark(nn.Module):
    """Adds 100: every D input that went through it is far from the data's standardised range."""

    calls: list[int] = []

    def __init__(self, data) -> None:
        super().__init__()

    def forward(self, x):
        _Mark.calls.append(len(x))
        return x + 100


class MarkPlugin:
    @hookimpl
    def ganzoo_augmentations(self):
        yield AugmentationSpec(name="mark", factory=_Mark, description="adds 100 (tests)")


def test_augmentation_reaches_every_discriminator_input_in_both_players_steps(registry, plugin, tmp_path):
    plugin(MarkPlugin(), name="mark")
    trainer = _trainer(registry, tmp_path, {"augment": ["mark"], "d_steps": 2, "g_steps": 2})
    _Mark.calls.clear()  # (the dry run before training checked its shape)
    seen = []
    trainer.D.register_forward_hook(lambda m, args, out: seen.append(args[0].detach()))
    _step(trainer)
    # D's updates score real and generated together (2B), G's updates score generated samples (B)
    assert [len(x) for x in seen] == [16, 16, 8, 8] and _Mark.calls == [16, 16, 8, 8]
    assert all(x.min() > 50 for x in seen)  # nothing reached D without the augmentation
    x = torch.randn(4, 2, requires_grad=True)
    trainer.step_phases.score(trainer.D, x, None).logits.sum().backward()
    assert x.grad.abs().sum() > 0  # G learns through the augmentation


def test_diffaugment_keeps_shapes_and_passes_gradients():
    from ganzoo_builtins.diffaugment import DiffAugment, cutout, translation

    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8, requires_grad=True)
    out = DiffAugment(None, ["color", "translation", "cutout"])(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    # translation moves whole pixels by at most 1/8 of the side and fills with zeros
    image = torch.zeros(200, 1, 16, 16)
    image[:, :, 8, 8] = 1
    moved = translation(image)
    position = moved.flatten(1).argmax(1)
    dy, dx = position // 16 - 8, position % 16 - 8
    assert moved.flatten(1).sum(1).eq(1).all() and dy.abs().max() <= 2 and dx.abs().max() <= 2
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 15  # many different shifts
    # cutout zeroes one square of half the side (fewer pixels where it overlaps the border)
    holes = (cutout(torch.ones(200, 1, 16, 16)) == 0).flatten(1).sum(1)
    assert holes.max() == 64 and holes.min() > 0


# -- discriminator outputs and conditioning ---------------------------------------------------------------------------


class _RecordingConditionalD(nn.Module):
    def __init__(self, data) -> None:
        super().__init__()
        self.net = nn.Linear(data.numel + 1, 1)
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, x, labels):
        self.seen.append((x.detach(), labels))
        return {"logits": self.net(torch.cat([x.flatten(1), labels[:, None].float()], 1)).view(-1),
                "features": x.flatten(1)}


class RecordingPlugin:
    @hookimpl
    def ganzoo_discriminators(self):
        yield DiscriminatorSpec(name="recording", factory=_RecordingConditionalD, conditional=True, per_sample=True,
                                outputs=("features",), description="a conditional D that records its inputs")


def test_the_conditional_trainer_pairs_each_real_image_with_its_own_label(registry, plugin, mnist_files, tmp_path):
    plugin(RecordingPlugin(), name="recording")
    root = mnist_files(64, 32)  # each image is a bright bar whose row is 2 + 2 * label
    trainer = _trainer(registry, tmp_path, {"generator": "cgan", "discriminator": "recording", "dataset": "mnist"},
                       sets=[f"dataset.root={root}", "dataset.download=false", "generator.hidden=16,16"])
    trainer.D.seen.clear()  # (the dry run before training)
    _step(trainer, 3)
    updates = [(x, labels) for x, labels in trainer.D.seen if len(x) == 16]  # D's updates: real, then generated
    assert len(updates) == 3
    for x, labels in updates:
        real, real_labels = x[:8], labels[:8]
        bar_rows = real[:, 0, :, 10].argmax(1)
        assert torch.equal(bar_rows, 2 + 2 * real_labels)
        assert labels.dtype == torch.long and labels.min() >= 0 and labels.max() <= 9


def test_generated_labels_follow_the_data_or_are_uniform(registry, blobs, tmp_path):
    trainer = _trainer(registry, tmp_path, {"generator": "cgan", "discriminator": "cgan", "dataset": "blobs"},
                       sets=BLOBS + ["dataset.n=400"])
    counts = torch.bincount(trainer.fake_labels(40_000), minlength=4).double() / 40_000
    frequencies = torch.bincount(trainer.data.labels, minlength=4).double() / len(trainer.data)
    assert torch.allclose(counts, frequencies, atol=0.01)
    trainer = _trainer(registry, tmp_path, {"generator": "cgan", "dataset": "blobs", "label_dist": "uniform"},
                       sets=BLOBS)
    counts = torch.bincount(trainer.fake_labels(40_000), minlength=4).double() / 40_000
    assert torch.allclose(counts, torch.full((4,), 0.25, dtype=torch.float64), atol=0.01)


def test_losses_and_regularisers_see_what_the_discriminator_returned(registry, blobs, tmp_path, monkeypatch):
    from ganzoo_builtins import acgan as ganzoo_acgan

    seen = {}
    real_d, real_g = ganzoo_acgan.AuxiliaryClassification.discriminator_penalty, \
        ganzoo_acgan.AuxiliaryClassification.generator_penalty
    monkeypatch.setattr(ganzoo_acgan.AuxiliaryClassification, "discriminator_penalty",
                        lambda self, ctx: (seen.setdefault("d", ctx), real_d(self, ctx))[1])
    monkeypatch.setattr(ganzoo_acgan.AuxiliaryClassification, "generator_penalty",
                        lambda self, ctx: (seen.setdefault("g", ctx), real_g(self, ctx))[1])
    trainer = _trainer(registry, tmp_path, {"generator": "cgan", "discriminator": "acgan", "dataset": "blobs",
                                            "regularisers": ["ac"]}, sets=BLOBS)
    _step(trainer)
    d, g = seen["d"], seen["g"]
    assert d.real_out["classes"].shape == (8, 4) and d.fake_out["classes"].shape == (8, 4)
    assert not d.fake.requires_grad and g.fake.requires_grad  # fakes detached for D, with G's graph for G
    assert g.real_out.logits.grad_fn is None  # D's real outputs from its update, detached, no extra pass
    assert torch.equal(d.fake_labels, g.fake_labels) and d.real_labels is not None
    # the hand-computed ACGAN term: CE of the class head against each batch's labels
    expected = nn.functional.cross_entropy(d.real_out["classes"], d.real_labels) + \
        nn.functional.cross_entropy(d.fake_out["classes"], d.fake_labels)
    assert real_d(ganzoo_acgan.AuxiliaryClassification(True), d).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("flags, message", [
    ({"generator": "cgan"}, "generator 'cgan' cannot train on dataset 'parabola'"),
    ({"discriminator": "projection"}, "discriminator 'projection' cannot train on dataset 'parabola'"),
    ({"discriminator": "acgan", "regularisers": ["ac"]}, "discriminator 'acgan' cannot train"),
    ({"loss": "feature-matching", "discriminator": "infogan"}, None),
    ({"regularisers": ["infogan"]}, "reads the discriminator's 'code_logits' output"),
])
def test_a_mix_that_cannot_get_its_labels_or_outputs_is_refused_before_training(registry, flags, message, tmp_path):
    cfg = resolve_config(registry, flags, sets=["dataset.n=64"])
    if message is None:  # infogan's D returns features too: feature matching works with it
        assert ganzoo.train(**flags, steps=2, set=["dataset.n=64"], out=tmp_path / "ok").step == 2
        return
    with pytest.raises(IncompatibleError, match=message):
        Trainer(cfg, registry, RunDir(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_a_conditional_d_with_an_unconditional_g_is_refused(registry, blobs, tmp_path):
    with pytest.raises(IncompatibleError, match="needs the labels each sample was generated for.*generator 'mlp'"):
        _trainer(registry, tmp_path, {"discriminator": "projection", "dataset": "blobs"}, sets=BLOBS)


def test_joint_pass_of_a_conditional_per_sample_discriminator_gives_the_same_update(registry, blobs, tmp_path):
    flags = {"generator": "cgan", "discriminator": "projection", "dataset": "blobs"}
    joint, apart = (_trainer(registry, tmp_path / name, flags, sets=BLOBS) for name in ("j", "a"))
    apart.joint_d = False
    for trainer in (joint, apart):
        trainer.d.optimizer, trainer.g.optimizer = (torch.optim.SGD(m.parameters(), lr=0.1)
                                                    for m in (trainer.D, trainer.G))
        torch.manual_seed(3)
        _step(trainer)
    for a, b in zip([*joint.G.parameters(), *joint.D.parameters()], [*apart.G.parameters(), *apart.D.parameters()]):
        assert torch.allclose(a, b, atol=1e-6)


# -- optimizers and schedules -----------------------------------------------------------------------------------------


def test_the_optimizer_chosen_by_name_is_the_one_that_steps(registry, tmp_path):
    trainer = _trainer(registry, tmp_path, {"opt_d": "sgd", "opt_g": "rmsprop"}, sets=[*SMALL, "opt_d.momentum=0"])
    assert type(trainer.d.optimizer) is torch.optim.SGD and type(trainer.g.optimizer) is torch.optim.RMSprop
    before = [p.detach().clone() for p in trainer.D.parameters()]
    _step(trainer)
    lr = trainer.config.lr_d
    for old, p in zip(before, trainer.D.parameters()):  # plain SGD: w ← w − lr·∇w (D's grads stay after its update)
        assert torch.allclose(p.detach(), old - lr * p.grad, atol=1e-7)
    assert "square_avg" in trainer.g.optimizer.state[next(iter(trainer.G.parameters()))]


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                       ("rmsprop", torch.optim.RMSprop), ("sgd", torch.optim.SGD)])
def test_every_builtin_optimizer_uses_torchs_fastest_kernel(registry, tmp_path, name, cls):
    trainer = _trainer(registry, tmp_path, {"opt": name})
    for player in (trainer.g, trainer.d):
        assert type(player.optimizer) is cls
        defaults = player.optimizer.defaults
        assert defaults.get("fused") or defaults.get("foreach")


def test_linear_schedule_decays_the_learning_rates_to_zero(registry, tmp_path):
    trainer = _trainer(registry, tmp_path, {"lr_schedule": "linear", "steps": 4, "lr_g": 0.01, "lr_d": 0.02})
    rates = []
    for _ in range(4):
        _step(trainer)
        rates.append((trainer.g.optimizer.param_groups[0]["lr"], trainer.d.optimizer.param_groups[0]["lr"]))
    assert [r for pair in rates for r in pair] == pytest.approx([0.0075, 0.015, 0.005, 0.01, 0.0025, 0.005, 0, 0])


def test_betas_reach_both_optimizers_that_take_them(registry):
    cfg = resolve_config(registry, {"betas": [0.1, 0.2], "opt_d": "sgd"})
    assert cfg.opt_g.params["betas"] == [0.1, 0.2] and "betas" not in cfg.opt_d.params
    cfg = resolve_config(registry, {}, sets=["opt.betas=0.3,0.4", "opt_d.betas=0,0.9"])
    assert cfg.opt_g.params["betas"] == [0.3, 0.4] and cfg.opt_d.params["betas"] == [0.0, 0.9]
    with pytest.raises(ganzoo.ConfigError,
                       match="opt.betas is given, but none of opt_g, opt_d .sgd, sgd. takes 'betas'"):
        resolve_config(registry, {"betas": [0.1, 0.2], "opt": "sgd"})


# -- suggestions --------------------------------------------------------------------------------------------------


def test_a_components_suggestions_count_in_the_layer_that_chose_it(registry, plugin, tmp_path):
    from ganzoo import RecipeSpec

    class Recipes:
        @hookimpl
        def ganzoo_recipes(self):
            yield RecipeSpec(name="gp-own-betas", description="wgan-gp with its own betas", citation="test",
                             settings={"loss": "wgan-gp", "opt": {"betas": [0.5, 0.9]}})

    plugin(Recipes(), name="recipes-test")
    flagged = resolve_config(registry, {"loss": "wgan-gp"})
    assert flagged.d_steps == 5 and flagged.opt_d.params["betas"] == [0.0, 0.9]
    over_recipe = resolve_config(registry, {"loss": "wgan-gp"}, recipe="mnist-best")  # beats the recipe's betas
    assert over_recipe.d_steps == 5 and over_recipe.opt_g.params["betas"] == [0.0, 0.9]
    assert resolve_config(registry, {"loss": "wgan-gp", "d_steps": 3}).d_steps == 3  # the same layer's own value
    own = resolve_config(registry, {}, recipe="gp-own-betas")  # chosen by the recipe: the recipe's betas win
    assert own.d_steps == 5 and own.opt_d.params["betas"] == [0.5, 0.9]
    sgd = resolve_config(registry, {"loss": "wgan-gp", "opt_d": "sgd"})  # a suggestion SGD cannot take
    assert "betas" not in sgd.opt_d.params and sgd.opt_g.params["betas"] == [0.0, 0.9]
    clipped = resolve_config(registry, {"loss": "wgan", "constraints": ["clip"]})
    assert (clipped.opt_g.name, clipped.opt_d.name, clipped.lr_d, clipped.d_steps) == ("rmsprop", "rmsprop", 5e-5, 5)
    ganzoo.train(loss="wgan-gp", steps=1, set=["dataset.n=64"], out=tmp_path / "run")
    saved = (tmp_path / "run" / "config.toml").read_text()
    assert "d_steps = 5" in saved and "betas = [0.0, 0.9]" in saved  # config.toml records the result


# -- the whole stack ----------------------------------------------------------------------------------------------


def test_a_conditional_run_learns_to_place_each_class(registry, blobs, tmp_path):
    """cGAN on four labelled blobs: samples drawn for class k land in blob k (a measured share, not a smoke run)."""
    run = tmp_path / "cgan"
    ganzoo.train("cgan", "cgan", "nonsaturating", "blobs", steps=600, batch_size=64, lr_g=1e-3, lr_d=1e-3,
                 ema=0.9, set=[*BLOBS, "generator.batchnorm=false"], out=run, sample_every=0)
    hits = []
    for k in range(4):
        xy = ganzoo.sample(run, 200, label=k, seed=k)
        hits.append((labelled.nearest_class(xy) == k).double().mean().item())
    assert min(hits) >= 0.8, hits
    untrained = [(labelled.nearest_class(ganzoo.sample(run, 200, label=k, use_ema=False, seed=9)) == k).double()
                 .mean().item() for k in range(4)]
    assert sum(untrained) / 4 >= 0.5  # the raw generator learned it too (chance would be 0.25)


def test_sample_with_a_label_and_one_row_per_class(registry, mnist_files, tmp_path, invoke):
    from PIL import Image

    root = mnist_files(64, 32)
    run = tmp_path / "run"
    invoke("train", "-g", "cgan", "-d", "cgan", "--dataset", "mnist", "--steps", "2", "--batch-size", "8",
           "--set", f"dataset.root={root}", "--set", "dataset.download=false", "--set", "generator.hidden=16",
           "--out", run, "-q")
    with Image.open(run / "samples" / "step_0000002.png") as grid:  # 10 classes x 10 samples, 28 px + 2 px padding,
        assert grid.size == (90 + (10 * 30 + 2) * 2, (10 * 30 + 2) * 2)  # twice enlarged, 90 px of class labels
    out = invoke("sample", run, "-n", "12", "--label", "3", "-o", tmp_path / "three.pt").stdout
    assert "12 samples of class 3" in out and torch.load(tmp_path / "three.pt").shape == (12, 1, 28, 28)
    invoke("sample", run, "-n", "20", "-o", tmp_path / "all.png")
    with Image.open(tmp_path / "all.png") as grid:  # 2 per class: 5 x 4, each class in a corner, and a caption
        assert grid.size == ((5 * 30 + 2) * 2, (4 * 30 + 2) * 2 + 30)
    result = invoke("sample", run, "-n", "4", "--label", "10", "-o", tmp_path / "x.pt", expect=1)
    assert "has 10 classes, numbered 0 to 9" in result.stderr and result.stderr.count("\n") == 1
    for label in (0, 9):
        assert ganzoo.sample(run, 3, label=label).shape == (3, 1, 28, 28)


def test_label_on_an_unconditional_run_is_one_line(invoke, tmp_path):
    invoke("train", "--steps", "2", "--set", "dataset.n=64", "--out", tmp_path / "run", "-q")
    result = invoke("sample", tmp_path / "run", "--label", "1", "-o", tmp_path / "x.pt", expect=1)
    assert "is not conditional" in result.stderr and result.stderr.count("\n") == 1


def test_conditional_resume_with_augmentation_lazy_regulariser_and_schedule_is_bit_identical(registry, blobs,
                                                                                              invoke, tmp_path):
    common = ["-g", "cgan", "-d", "projection", "--dataset", "blobs", "--reg", "r1", "--set", "reg.r1.every=3",
              "--lr-schedule", "linear", "--ema", "0.9", "--batch-size", "16", "-q",
              *[a for s in BLOBS for a in ("--set", s)]]
    invoke("train", *common, "--steps", "30", "--checkpoint-every", "14", "--out", tmp_path / "once")
    # the same run interrupted after step 14: its config and that step's checkpoint, then resumed
    (tmp_path / "twice" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "once" / "config.toml", tmp_path / "twice" / "config.toml")
    shutil.copy(tmp_path / "once" / "checkpoints" / "step_0000014.pt", tmp_path / "twice" / "checkpoints" / "latest.pt")
    invoke("train", "--resume", tmp_path / "twice", "--steps", "30", "-q")
    once, twice = (load_checkpoint(tmp_path / n / "checkpoints" / "latest.pt") for n in ("once", "twice"))
    assert once["players"]["discriminator"]["updates"] == twice["players"]["discriminator"]["updates"] == 30
    for part in ("generator", "discriminator", "ema"):
        assert all(torch.equal(once[part][k], twice[part][k]) for k in once[part]), part


def test_no_host_reads_in_a_conditional_step_with_augmentation_and_regularisers(registry, mnist_files, tmp_path,
                                                                               monkeypatch):
    root = mnist_files(64, 32)
    trainer = _trainer(registry, tmp_path, {
        "generator": "cgan", "discriminator": "acgan", "dataset": "mnist", "augment": ["diffaugment"],
        "regularisers": ["ac", {"name": "r1", "every": 2}, "feature-matching"], "ema": 0.9,
        "lr_schedule": "linear"}, sets=[f"dataset.root={root}", "dataset.download=false", "generator.hidden=16"])
    reads = record_host_reads(monkeypatch)
    for _ in range(4):
        trainer.train_step()
        trainer.step += 1
    monkeypatch.undo()
    assert reads == []
    stats = trainer.stats.sums
    assert trainer.stats.names == ["d_loss", "g_loss", "d_real", "d_fake", "ac_d", "ac_g", "r1_d",
                                  "feature-matching_g"]
    assert all(math.isfinite(v) and v != 0 for v in stats.tolist())
