"""A sweep's members evaluated together (issue 26): one evaluator per dataset, a population's samples drawn in one
batched forward, a metric's shared work done once (``MetricSpec.compute_many``), and each member's numbers what
``ganzoo evaluate`` gives its run directory alone."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo import Engine, EngineSpec, MetricSpec, hookimpl
from ganzoo.sweep import scoring

SMALL = {"dataset": "parabola", "steps": 20, "batch_size": 32, "log_every": 10, "sample_every": 0,
         "set": ["dataset.n=256"]}
#: Where a batched product may round otherwise than a member's own (about 1e-7 relative per product: vmap adds a
#: Linear's bias after the product); measured bit-identical on the 2-core CPU for these MLPs.
REL = 1e-5


def _runs(tmp_path, seeds=(0, 1, 2), **options):
    return [ganzoo.train(**{**SMALL, **options}, seed=s, out=tmp_path / f"seed{s}").run_dir for s in seeds]


class _Counted:
    """A metric with a costly shared part (counted) and ``compute_many``, and one without (third-party style)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def many(self, contexts):
        self.calls.append(("many", len(contexts)))
        state = contexts[0].state
        if "real" not in state:
            self.calls.append(("real", 0))
            state["real"] = contexts[0].data.to_data(contexts[0].data.samples).mean(0)
        coords = torch.cat([ctx.coords() for ctx in contexts])
        return [{"gap": (part.mean(0) - state["real"]).norm().item()}
                for part in coords.split([len(ctx.samples) for ctx in contexts])]

    def one(self, ctx):
        self.calls.append(("one", 1))
        return {"spread": ctx.coords().std(0).sum().item()}

    @hookimpl
    def ganzoo_metrics(self):
        points = lambda data: data.spec.kind == "points"  # noqa: E731
        yield MetricSpec(name="gap", description="Mean gap.", compute=lambda ctx: self.many([ctx])[0],
                         compute_many=self.many, applies=points, better={"gap": "lower"})
        yield MetricSpec(name="spread", description="Spread.", compute=self.one, applies=points)


def test_a_population_is_evaluated_in_one_batch_as_each_member_alone(registry, plugin, tmp_path, monkeypatch):
    counted = plugin(_Counted(), name="counted-metrics")
    runs = _runs(tmp_path)
    alone = [ganzoo.evaluate(run, 500, metrics="curve,points,gap,spread") for run in runs]
    assert len({a["curve_error"] for a in alone}) == 3  # three different generators
    counted.calls.clear()
    drawn = []
    monkeypatch.setattr(scoring, "generate", lambda *a, **k: drawn.append(1))  # a member drawing on its own
    together = scoring.evaluate_members(runs, [500] * 3, registry, "curve,points,gap,spread", stacked=True)
    assert not drawn  # one batched forward drew every member's samples
    assert counted.calls == [("many", 3), ("real", 0), ("one", 1), ("one", 1), ("one", 1)]
    for mine, (theirs, evaluator) in zip(alone, together):
        assert theirs.keys() == mine.keys() and theirs == pytest.approx(mine, rel=REL, abs=1e-9)
        assert evaluator.better()["gap"] == "lower" and "curve_error" in evaluator.descriptions()


def test_members_trained_alone_get_exactly_ganzoo_evaluates_numbers(registry, tmp_path):
    runs = _runs(tmp_path, seeds=(3, 4), ema=0)
    together = scoring.evaluate_members(runs, [400, 400], registry)
    for run, (theirs, _) in zip(runs, together):
        assert theirs == ganzoo.evaluate(run, 400)  # drawn one by one: bit for bit
    broken = tmp_path / "broken"
    broken.mkdir()
    mixed = scoring.evaluate_members([runs[0], broken], [400, 400], registry)
    assert mixed[0][0] == together[0][0] and isinstance(mixed[1], ganzoo.GanzooError)  # one member's fault is its own


def test_the_classifier_runs_one_forward_for_every_member(registry, tiny_mnist, tmp_path, monkeypatch):
    from ganzoo_builtins.metrics import classifier

    image = {"generator": "mlp", "discriminator": "mlp", "dataset": "mnist", "steps": 2, "batch_size": 8,
             "log_every": 1, "sample_every": 0, "set": [f"dataset.root={tiny_mnist}", "dataset.download=false",
                                                        "generator.hidden=16", "discriminator.hidden=16"]}
    trained = classifier.train_classifier  # a rough classifier is enough to compare two paths
    monkeypatch.setattr(classifier, "train_classifier", lambda *a, **k: trained(*a, **{**k, "min_steps": 5}))
    runs = [ganzoo.train(**image, seed=s, out=tmp_path / f"m{s}").run_dir for s in (0, 1)]
    alone = [ganzoo.evaluate(run, 300, metrics="classifier") for run in runs]
    forwards = []
    predict = classifier.FeatureCNN.forward
    monkeypatch.setattr(classifier.FeatureCNN, "forward", lambda self, x: forwards.append(len(x)) or predict(self, x))
    together = scoring.evaluate_members(runs, [300, 300], registry, "classifier")
    assert forwards == [32, 600]  # the test split's features once, then both members' samples in one batch
    for mine, (theirs, _) in zip(alone, together):
        assert theirs == pytest.approx(mine, rel=REL, abs=1e-6)
    assert alone[0]["classifier_fid"] != alone[1]["classifier_fid"]


class _InProcess(Engine):
    def run(self, units, jobs, tick):
        return [unit.run() for unit in units]


def test_a_stacked_sweep_records_what_ganzoo_evaluate_gives_each_member(invoke, plugin, tmp_path):
    plugin(type("P", (), {"ganzoo_engines": hookimpl(lambda self: [
        EngineSpec(name="in-process", factory=_InProcess, description="here")])})(), name="in-process-engine")
    sweep = tmp_path / "sweep"
    invoke("sweep", "--engine", "in-process", "--stack", "--seeds", "3", "--steps", "20", "--batch-size", "32",
           "--set", "dataset.n=256", "--sample-every", "0", "--eval-samples", "500", "--out", sweep, "-q")
    for outcome in (sweep / "outcomes").iterdir():
        recorded = json.loads(outcome.read_text())["metrics"]
        assert recorded == pytest.approx(ganzoo.evaluate(sweep / "members" / outcome.stem, 500), rel=REL, abs=1e-9)
