"""A sweep's members evaluated together (issue 26): one evaluator per dataset, a population's samples drawn in one
batched forward, a metric's shared work done once (``MetricSpec.compute_many``), and each member's numbers what
``ganzoo evaluate`` gives its run directory alone; units that train several members in turn, each in its own log,
and a crashed unit whose members run again one by one."""

from __future__ import annotations

import json

import pytest
import torch

import ganzoo
from ganzoo import Engine, EngineSpec, MetricSpec, hookimpl
from ganzoo.sweep import runner, scoring
from ganzoo.sweep.engine import SweepUnit
from ganzoo.sweep.plan import Member
from ganzoo.sweep.runner import Group, run_units, units_for
from ganzoo.sweep.store import SweepDir

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


# -- units ----------------------------------------------------------------------------------------------------------

def _members(names):
    return [Member(name=n, config=0, label="(base)", seed=i, kwargs={}) for i, n in enumerate(names)]


def test_members_trained_alone_share_one_process_per_job_balanced_by_steps(tmp_path):
    members = _members(["a", "b", "c", "d", "e"])
    units = units_for(SweepDir(tmp_path), [Group(members, False, "why")], jobs=2, gpus=0,
                      steps={"a": 100, "b": 100, "c": 400, "d": 100, "e": 100})
    assert [u.names for u in units] == [("c",), ("a", "b", "d", "e")]  # 400 steps against 4 x 100
    assert all(not u.population and "--logs" in u.argv for u in units)
    assert len(units_for(SweepDir(tmp_path), [Group(members[:1], False, "why")], jobs=4, gpus=0)) == 1


def test_a_sweep_takes_omp_num_threads_as_its_thread_budget(tmp_path, monkeypatch):
    # two sweeps started side by side with OMP_NUM_THREADS=1 must not each give their processes every core
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda _: {0, 1, 2, 3}, raising=False)
    members = _members(["a", "b", "c", "d"])
    for budget, want in (("1", 1), ("2", 2), ("", 4), ("many", 4), ("0", 4), ("16", 4)):
        monkeypatch.setenv("OMP_NUM_THREADS", budget)
        assert runner.thread_budget() == want
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    units = units_for(SweepDir(tmp_path), [Group(members, False, "why")], jobs=1, gpus=0)
    assert [u.threads for u in units] == [2]


class _Crashing(Engine):
    """The first round crashes every unit (a segfault, say); later rounds end with 0, except member b's."""

    def __init__(self, sweep: SweepDir) -> None:
        self.sweep, self.rounds = sweep, []

    def run(self, units, jobs, tick):
        self.rounds.append([u.names for u in units])
        if len(self.rounds) == 1:
            return [139] * len(units)
        for unit in units:
            if unit.names != ("b",):
                self.sweep.write_outcome(unit.names[0], {"status": "done"})
        return [1 if u.names == ("b",) else 0 for u in units]


def test_a_crashed_unit_runs_its_members_again_one_by_one_so_the_crash_is_charged_to_its_member(tmp_path):
    sweep = SweepDir(tmp_path)
    sweep.write_outcome("a", {"status": "done"})
    engine = _Crashing(sweep)
    unit = SweepUnit(tmp_path, ("a", "b", "c"), 1)
    crashed = run_units(sweep, engine, [unit], 2, lambda: None)
    assert engine.rounds == [[("a", "b", "c")], [("b",), ("c",)]]
    assert [json.loads(sweep.outcome_path(n).read_text())["status"] for n in "abc"] == ["done", "failed", "done"]
    assert crashed == [f"b: its process exited with status 1; see {tmp_path / 'logs' / 'b'}.log"]


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


@pytest.mark.slow
def test_a_process_training_members_in_turn_writes_each_ones_log(invoke, tmp_path):
    import os
    import subprocess
    import sys

    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "ganzoo", "sweep", "--seeds", "2", "--jobs", "1", "--steps", "20",
               "--batch-size", "32", "--set", "dataset.n=256", "--sample-every", "0", "--eval-samples", "200",
               "--out", str(sweep), "-q"]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    logs = {p.stem: p.read_text() for p in (sweep / "logs").glob("*.log")}
    assert sorted(logs) == ["0-base-seed0", "0-base-seed1"]
    for name, text in logs.items():
        other = next(n for n in logs if n != name)
        assert f"{name}: starting" in text and f"{other}: starting" not in text
