"""Populations (issue 26, item 2): several members of a sweep trained in one process, their forwards batched, each
member's run directory as its separate ``ganzoo train`` would write it."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch

import ganzoo
from ganzoo import GANLoss, GeneratorSpec, LossSpec, hookimpl
from ganzoo.api import _flags
from ganzoo.config import resolve_config
from ganzoo.errors import ConfigError, PluginError, TrainingDiverged
from ganzoo.run.checkpoint import load_checkpoint
from ganzoo.run.progress import Reporter
from ganzoo.run.rundir import RunDir
from ganzoo.training.population import stack_groups, train_population
from ganzoo.training.population_step import PopulationStep
from ganzoo.training.result import RunResult

#: The equivalence test's members: seeds and learning rates, another loss, a lazy regulariser, EMA on and off.
MEMBERS = [
    {"seed": 0},
    {"seed": 1, "lr_d": 1e-4, "lr_g": 3e-4, "ema": 0},
    {"seed": 2, "loss": "hinge"},
    {"seed": 3, "reg": ["r1"], "betas": [0.0, 0.9]},
]
#: The largest difference of any weight (G, D, EMA) between a member and its separate run after 50 steps. vmap
#: lowers a Linear to a batched product plus a bias add where the plain call fuses them (addmm), and D's one-column
#: output layer takes a gemv path alone: ~1e-7 relative per product (backward bit for bit equal). The GAN's dynamics
#: (LeakyReLU's and hinge's kinks) grow that in some members. Measured on the 2-core CPU (torch 2.x, MKL), max over
#: G and D at steps 10/20/30/40/50: member 0 1.3e-7 throughout, member 1 4.5e-8 / 4.6e-5 / 1.4e-4 / 2.5e-4 / 3.5e-4,
#: the hinge member 4.8e-5 / 4.8e-5 / 2.7e-4 / 5.2e-4 / 4.7e-4, the R1 member 1.2e-7 (its lazy steps at 16, 32, 48
#: included). The same member drawing other real batches ends 0.053 away (the test checks that it stays > 5x this).
WEIGHT_TOL = 2e-3
#: The same for the D and G losses of the metrics lines (measured: at most 2.1e-4, the hinge member's).
LOSS_TOL = 1e-3
#: A resumed population against the straight one: the same batched products both ways, a resume restores every state.
#: Measured: 0.0 for the resumed members, 3e-8 for the member that trained its last 20 steps alone (a batch of one
#: member takes another kernel).
RESUME_TOL = 1e-6
TINY = ["generator.hidden=32,32", "discriminator.hidden=32,32"]


def _config(registry, sets=(), **kwargs):
    return resolve_config(registry, _flags(kwargs), None, list(sets))


def _weights(run) -> dict[str, torch.Tensor]:
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    return {f"{part}.{k}": v for part in ("generator", "discriminator", "ema") for k, v in (ckpt[part] or {}).items()}


def _max_difference(a, b) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _losses(run) -> list[tuple]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["d_loss"], r["g_loss"]) for r in map(json.loads, lines)]


def test_a_population_trains_each_member_as_its_separate_run_would(registry, tmp_path, invoke):
    common = {"dataset": "parabola", "steps": 50, "log_every": 10, "sample_every": 25, "checkpoint_every": 25}
    results = train_population([_config(registry, **common, **m) for m in MEMBERS],
                               [tmp_path / f"pop{i}" for i in range(len(MEMBERS))], registry)
    assert all(isinstance(r, RunResult) and r.step == 50 for r in results), results
    for i, member in enumerate(MEMBERS):
        alone = ganzoo.train(**common, **member, out=tmp_path / f"alone{i}")
        pop, own = tmp_path / f"pop{i}", tmp_path / f"alone{i}"
        assert _max_difference(_weights(pop), _weights(own)) <= WEIGHT_TOL
        assert ("ema.net.0.weight" in _weights(pop)) == (member.get("ema") != 0)
        # the same metrics lines at the same steps, the losses equal up to the same rounding
        mine, theirs = _losses(pop), _losses(own)
        assert [r[0] for r in mine] == [r[0] for r in theirs] == [10, 20, 30, 40, 50]
        assert max(abs(a - b) for x, y in zip(mine, theirs) for a, b in zip(x[1:], y[1:])) <= LOSS_TOL
        # an ordinary run directory: its config, checkpoints, samples and loss curve where ganzoo train puts them
        assert (pop / "config.toml").read_text() == (own / "config.toml").read_text()
        for name in ("checkpoints/step_0000025.pt", "checkpoints/step_0000050.pt", "samples/step_0000025.png",
                     "samples/step_0000050.png", "loss_curve.png"):
            assert (pop / name).is_file(), name
        assert alone.final.keys() == results[i].final.keys()
    # the tolerance is tight: the same member drawing other real batches (the data sampled anew) ends far outside it
    ganzoo.train(**common, **MEMBERS[0], set=["dataset.seed=1"], out=tmp_path / "other")
    assert _max_difference(_weights(tmp_path / "pop0"), _weights(tmp_path / "other")) > 5 * WEIGHT_TOL
    invoke("sample", tmp_path / "pop0", "-n", "16", "-o", tmp_path / "s.pt")
    invoke("train", "--resume", tmp_path / "pop1", "--steps", "55", "-q")  # a member continues as an ordinary run
    assert load_checkpoint(tmp_path / "pop1" / "checkpoints" / "latest.pt")["step"] == 55


class _Poisoned(GANLoss):
    """The non-saturating loss until D's ``at``-th call, then NaN (``nan``) or an exception: a member that diverges
    or whose plugin fails mid-training. The trial step before training puts the count back."""

    def __init__(self, at: int, mode: str) -> None:
        self.at, self.mode, self.calls = at, mode, 0

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        self.calls += 1
        loss = torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean()
        if self.calls >= self.at and self.mode == "raise":
            raise ValueError("operands could not be broadcast together")
        return loss * float("nan") if self.calls >= self.at else loss

    def generator_loss(self, fake_logits, ctx):
        return torch.nn.functional.softplus(-fake_logits).mean()


class _PoisonPlugin:
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="poisoned", factory=_Poisoned, description="breaks after a number of D updates (tests)",
                       params=(ganzoo.Param("at", int, 12, "the D update that breaks"),
                               ganzoo.Param("mode", str, "nan", "nan or raise")))


def test_a_member_that_diverges_or_raises_stops_alone_and_the_others_go_on(registry, plugin, tmp_path):
    plugin(_PoisonPlugin(), name="poison")
    common = {"dataset": "parabola", "steps": 30, "log_every": 5, "sample_every": 0, "checkpoint_every": 10,
              "batch_size": 32}
    members = [({"seed": 0}, []), ({"seed": 1, "loss": "poisoned"}, ["loss.at=12", "loss.mode=nan"]),
               ({"seed": 2, "loss": "poisoned"}, ["loss.at=17", "loss.mode=raise"]), ({"seed": 3}, [])]
    results = train_population([_config(registry, [*TINY, *sets], **common, **m) for m, sets in members],
                               [tmp_path / f"m{i}" for i in range(4)], registry)
    assert [type(r) for r in results] == [RunResult, TrainingDiverged, PluginError, RunResult]
    assert results[0].step == results[3].step == 30
    assert "training diverged by step 15" in str(results[1]) and str(m := tmp_path / "m1") in str(results[1])
    assert load_checkpoint(m / "checkpoints" / "latest.pt")["step"] == 10  # its last good checkpoint, kept
    assert "loss 'poisoned' (plugin 'poison') raised in D's step at step 17: ValueError: operands" in str(results[2])
    assert load_checkpoint(tmp_path / "m2" / "checkpoints" / "latest.pt")["step"] == 10
    # the members that went on trained as they would have alone (measured: 6e-8)
    ganzoo.train(**common, seed=3, set=TINY, out=tmp_path / "alone3")
    assert _max_difference(_weights(tmp_path / "m3"), _weights(tmp_path / "alone3")) <= WEIGHT_TOL


class _Moody(torch.nn.Module):
    """A generator that vmap cannot batch once it has run a few times (it reads a value of its input, as a module
    checking it might), and whose seed-1 copy raises on its own forward after that."""

    calls = 0  # every forward of every copy, batched or not

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.seed = inner, torch.initial_seed()  # built right after its run's seed was set

    def forward(self, z):
        _Moody.calls += 1
        if _Moody.calls > 10:
            assert float(z.abs().max()) < 1e6  # .item() on a batched tensor: vmap raises here
            if self.seed == 1:
                raise ValueError("moody")
        return self.inner(z)


class _MoodyPlugin:
    @hookimpl
    def ganzoo_generators(self):
        from ganzoo_builtins.mlp import MLPGenerator, ganzoo_generators

        mlp = next(spec for spec in ganzoo_generators() if spec.name == "mlp")
        yield GeneratorSpec(name="moody", factory=lambda *a, **kw: _Moody(MLPGenerator(*a, **kw)), params=mlp.params,
                            data_defaults=mlp.data_defaults, description="reads its input's values (tests)")


def test_a_batched_forward_that_raises_is_charged_to_the_member_whose_own_forward_raises(registry, plugin, tmp_path):
    plugin(_MoodyPlugin(), name="moody-plugin")
    _Moody.calls = 0
    said = []

    class Told(Reporter):
        def message(self, text):
            said.append(text)

    common = {"dataset": "parabola", "steps": 40, "sample_every": 0, "checkpoint_every": 0, "batch_size": 32,
              "generator": "moody", "ema": 0}
    results = train_population([_config(registry, TINY, **common, seed=seed) for seed in (0, 1, 2)],
                               [tmp_path / f"m{i}" for i in range(3)], registry, Told())
    assert [type(r) for r in results] == [RunResult, PluginError, RunResult]
    assert "generator 'moody' (plugin 'moody-plugin') raised" in str(results[1]) and "ValueError: moody" in \
        str(results[1])
    assert results[0].step == results[2].step == 40
    # the first failing batched call charged member 1; the next one, with every own forward fine, turned G unbatched
    [line] = [line for line in said if "batched forward" in line]
    assert line.startswith("G's batched forward raised (") and ".item()" in line  # torch's words between
    assert line.endswith(") where each member's own does not: the population goes on with each member's own G forward")
    ganzoo.train(**common, seed=2, set=TINY, out=tmp_path / "alone2")
    assert _max_difference(_weights(tmp_path / "m2"), _weights(tmp_path / "alone2")) <= WEIGHT_TOL


def test_stack_groups_puts_what_cannot_share_a_forward_apart_and_says_why(registry):
    configs = [
        _config(registry, dataset="parabola", seed=0),
        _config(registry, dataset="parabola", seed=1, lr_d=1e-3, loss="hinge", reg=["r1"], ema=0),
        _config(registry, ["generator.batchnorm=true"], dataset="parabola"),
        _config(registry, ["discriminator.hidden=64"], dataset="parabola"),
        _config(registry, dataset="parabola", amp=True),
        _config(registry, ["discriminator.dropout=0.3"], dataset="parabola"),
        _config(registry, ["discriminator.spectral_norm=true"], dataset="parabola"),
        _config(registry, ["discriminator.hidden=64"], dataset="parabola", seed=5),
    ]
    groups = {g.members: g for g in stack_groups(configs, registry)}
    assert list(groups) == [(0, 1), (2,), (3, 7), (4,), (5,), (6,)]
    assert groups[0, 1].stackable and "2 members share generator 'mlp'" in groups[0, 1].reason
    assert groups[3, 7].stackable and "apart from member 0's group by discriminator" in groups[3, 7].reason
    assert not groups[2,].stackable and "generator 'mlp' has BatchNorm1d" in groups[2,].reason
    assert "changes its buffers in forward (running_mean, running_var, num_batches_tracked)" in groups[2,].reason
    assert not groups[4,].stackable and groups[4,].reason.startswith("--amp")
    assert not groups[5,].stackable and "draws random numbers in forward (Dropout)" in groups[5,].reason
    assert not groups[6,].stackable and "changes its buffers in forward (_u" in groups[6,].reason


def test_members_that_cannot_share_a_forward_are_refused_in_one_line(registry, tmp_path):
    configs = [_config(registry, dataset="parabola"), _config(registry, dataset="parabola", batch_size=64)]
    with pytest.raises(ConfigError, match="member 1 has batch size 64, member 0 128"):
        train_population(configs, [tmp_path / "a", tmp_path / "b"], registry)
    assert not (tmp_path / "a").exists()


def test_a_resumed_population_ends_as_the_straight_one_even_with_members_at_other_steps(registry, tmp_path):
    common = {"dataset": "parabola", "log_every": 5, "sample_every": 0, "checkpoint_every": 0, "batch_size": 32}
    members = [{"seed": 0}, {"seed": 1, "loss": "lsgan", "reg": ["r1"]}, {"seed": 2, "ema": 0}]
    straight = [tmp_path / f"straight{i}" for i in range(3)]
    train_population([_config(registry, TINY, steps=40, **common, **m) for m in members], straight, registry)
    # interrupted: members 0 and 1 stop at step 20, member 2 has not started; the rerun resumes and starts them
    parts = [tmp_path / f"parts{i}" for i in range(3)]
    train_population([_config(registry, TINY, steps=20, **common, **m) for m in members[:2]], parts[:2], registry)
    ckpts = [load_checkpoint(p / "checkpoints" / "latest.pt") for p in parts[:2]]
    configs = [resolve_config(registry, {"steps": 40}, base=_config(registry, TINY, steps=20, **common, **m))
               for m in members[:2]]
    results = train_population([*configs, _config(registry, TINY, steps=40, **common, **members[2])], parts, registry,
                               resume_from=[*ckpts, None])
    assert [r.step for r in results] == [40, 40, 40]
    for mine, theirs in zip(parts, straight):
        assert _max_difference(_weights(mine), _weights(theirs)) <= RESUME_TOL
        assert _losses(mine) == _losses(theirs)


#: Short runs of other mixes against their separate runs. Measured: 0.0 (WGAN-GP), 6.6e-6 (conditional MNIST with
#: DiffAugment and R1), 2.8e-7 (ADA).
SHORT_TOL = 1e-4
SMALL_IMAGES = ["generator.batchnorm=false", "generator.hidden=64", "discriminator.hidden=64"]


@pytest.mark.parametrize("common, members", [
    # an eager gradient penalty (autograd.grad on the member's own D, outside vmap), 5 D and 2 G updates per step
    ({"dataset": "parabola", "loss": "wgan-gp", "g_steps": 2, "steps": 6, "set": TINY},
     [{"seed": 0}, {"seed": 1, "lr_d": 1e-4}]),
    # labels into both models, random augmentations of every D input, a lazy R1 through the augmentations
    ({"dataset": "mnist", "generator": "cgan", "discriminator": "projection", "loss": "hinge",
      "augment": ["diffaugment"], "steps": 8, "set": SMALL_IMAGES},
     [{"seed": 0}, {"seed": 1, "reg": ["r1"], "set": ["reg.r1.every=4"]}]),
    # an augmentation with state of its own, adapted by observing D (ADA's p), and checkpointed
    ({"dataset": "mnist", "augment": ["ada"], "steps": 8, "set": SMALL_IMAGES},
     [{"seed": 0}, {"seed": 1, "loss": "lsgan"}]),
], ids=["wgan-gp", "conditional-diffaugment-r1", "ada"])
def test_other_mixes_train_as_their_separate_runs(registry, tmp_path, tiny_mnist, monkeypatch, common, members):
    monkeypatch.setenv("GANZOO_DATA", str(tiny_mnist))
    common = {**common, "batch_size": 16, "log_every": 4, "sample_every": 0, "checkpoint_every": 0}
    sets = common.pop("set")
    configs = [_config(registry, [*sets, *m.get("set", [])], **common, **{k: v for k, v in m.items() if k != "set"})
               for m in members]
    results = train_population(configs, [tmp_path / f"p{i}" for i in range(len(members))], registry)
    assert [r.step for r in results] == [common["steps"]] * len(members)
    for i, m in enumerate(members):
        kwargs = {k: v for k, v in m.items() if k != "set"}
        ganzoo.train(**common, **kwargs, set=[*sets, *m.get("set", [])], out=tmp_path / f"a{i}")
        assert _max_difference(_weights(tmp_path / f"p{i}"), _weights(tmp_path / f"a{i}")) <= SHORT_TOL
    if "ada" in common.get("augment", []):
        p = load_checkpoint(tmp_path / "p1" / "checkpoints" / "latest.pt")["plugins"]
        assert p == load_checkpoint(tmp_path / "a1" / "checkpoints" / "latest.pt")["plugins"] and p


class _Recorder(Reporter):
    def __init__(self) -> None:
        self.starts, self.steps, self.messages = [], 0, []

    def start(self, total, done, header):
        self.starts.append((total, done, header))

    def advance(self, steps=1):
        self.steps += steps

    def message(self, text):
        self.messages.append(text)


def test_ctrl_c_stops_every_member_after_the_step_with_a_checkpoint_and_a_busy_run_directory_only_its_member(
        registry, tmp_path, monkeypatch):
    common = {"dataset": "parabola", "steps": 40, "log_every": 5, "sample_every": 0, "checkpoint_every": 0,
              "batch_size": 16}
    step = PopulationStep.__call__

    def interrupt_at_7(self, members):
        if members[0].trainer.step == 6:
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: stop after this step, and save
        return step(self, members)

    monkeypatch.setattr(PopulationStep, "__call__", interrupt_at_7)
    busy = RunDir(tmp_path / "m2")
    recorder = _Recorder()
    with busy.training_lock():  # another process trains there
        results = train_population([_config(registry, TINY, seed=i, **common) for i in range(3)],
                                   [tmp_path / f"m{i}" for i in range(3)], registry, reporter=recorder)
    assert [r.interrupted for r in results[:2]] == ["SIGINT", "SIGINT"] and [r.step for r in results[:2]] == [7, 7]
    assert [load_checkpoint(tmp_path / f"m{i}" / "checkpoints" / "latest.pt")["step"] for i in range(2)] == [7, 7]
    assert isinstance(results[2], ConfigError)
    assert f"{busy.path} is being trained by PID {os.getpid()}" in str(results[2])
    assert busy.lock_path.is_file()  # the busy directory is left as it was (nothing discarded)
    assert recorder.starts[0][:2] == (120, 0) and recorder.steps == 14  # 2 members x 7 steps
    assert any(text.startswith("member 2 (m2) stopped: ") for text in recorder.messages)


def test_a_record_may_declare_that_its_module_does_not_stack(registry, plugin):
    mlp = registry.get("generator", "mlp")

    class _Rigid:
        @hookimpl
        def ganzoo_generators(self):
            yield GeneratorSpec(name="rigid", factory=mlp.factory, params=mlp.params, data_defaults=mlp.data_defaults,
                                description="the MLP generator, declared unstackable (tests)", stacks=False)

    plugin(_Rigid(), name="rigid")
    [group] = stack_groups([_config(registry, dataset="parabola", generator="rigid")], registry)
    assert not group.stackable and group.reason == "generator 'rigid' declares that its module does not stack " \
                                                "(stacks=False)"
