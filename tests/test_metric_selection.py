"""Choosing metrics (``--metrics``, ``metrics=``, the training option), the expensive-metric policy on a CPU, and the
on-disk cache of what metrics compute from real data: measured with an in-process metric plugin that declares itself
expensive and counts how often its reference is computed (nothing downloads)."""

from __future__ import annotations

import json

import pytest
import torch
from helpers.engines import InlineEngine

import ganzoo
from ganzoo import MetricSpec, PluginError, hookimpl
from ganzoo.config import resolve_config
from ganzoo.run.evaluation import Evaluator
from ganzoo.run.references import cached_reference

TINY = ("--set", "dataset.n=256", "--batch-size", "32")
CURVE = {"curve_error", "x_coverage", "out_of_range", "sliced_wasserstein"}
POINTS = {"points_swd", "mmd", "precision", "recall", "density", "coverage"}


class SlowMetric:
    """An expensive metric: the distance between the generated and the real mean, where the real mean is a
    reference computed once (each computation is counted in ``calls``)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def compute(self, ctx):
        def reference(advance):
            self.calls.append(len(ctx.data))
            advance(len(ctx.data))
            return {"mean": ctx.data.samples.mean(0), "n": len(ctx.data)}

        if "ref" not in ctx.state:
            ctx.state["ref"] = ctx.reference("mean", reference, source=ctx.data, total=len(ctx.data))
        return {"slow_gap": (ctx.samples.mean(0) - ctx.state["ref"]["mean"]).norm().item()}

    @hookimpl
    def ganzoo_metrics(self):
        yield MetricSpec(name="slow", description="A metric slow on a CPU.", compute=self.compute,
                         applies=lambda data: data.spec.kind == "points", keys={"slow_gap": "distance of the means"},
                         better={"slow_gap": "lower"}, expensive=True)


@pytest.fixture
def slow(plugin):
    return plugin(SlowMetric(), name="slow-metric")


@pytest.fixture
def run(invoke, tmp_path):
    invoke("train", *TINY, "--steps", "20", "--out", tmp_path / "run", "-q")
    return tmp_path / "run"


def _lines(stderr: str, kind: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"ganzoo: {kind}:")]


def _cached(tmp_path) -> list:
    return sorted((tmp_path / "cache" / "references" / "parabola").glob("slow-mean-*.pt"))


def test_on_a_cpu_an_expensive_metric_runs_only_when_named_with_one_note(invoke, slow, run, tmp_path):
    result = invoke("evaluate", run, "--samples", "200", "--json")
    assert set(json.loads(result.stdout)) == CURVE | POINTS  # as before the plugin came: the cheap ones only
    notes = _lines(result.stderr, "note")
    assert notes == ["ganzoo: note: metric 'slow' is left out on a CPU, where it is slow; ask for it by name: "
                     "--metrics curve,points,slow"]
    assert slow.calls == [] and not _cached(tmp_path)
    named = invoke("evaluate", run, "--samples", "200", "--json", "--metrics", "slow")
    assert set(json.loads(named.stdout)) == {"slow_gap"} and not _lines(named.stderr, "note")
    assert slow.calls == [256]


def test_on_a_gpu_an_expensive_metric_is_chosen_by_default(registry, slow):
    config = resolve_config(registry, {}, sets=["dataset.n=64"])
    data = registry.get("dataset", "parabola").load(config.dataset.params)
    # only the choice is made here (nothing runs on the device, which this machine may not have)
    gpu = Evaluator(registry, config, data, torch.device("cuda"))
    cpu = Evaluator(registry, config, data, torch.device("cpu"))
    assert [m.name for m in gpu.metrics] == ["curve", "points", "slow"] and gpu.notes == []
    assert [m.name for m in cpu.metrics] == ["curve", "points"] and len(cpu.notes) == 1


def test_the_reference_is_computed_once_per_dataset_and_reused_from_disk(slow, run, tmp_path):
    bars = []

    def progress(description, total):
        bars.append((description, total))
        return lambda steps=1: None

    first = ganzoo.evaluate(run, 200, metrics=["slow"], progress=progress)
    assert slow.calls == [256] and bars == [("slow: mean (first use, then cached)", 256)]
    files = _cached(tmp_path)
    assert len(files) == 1
    saved = torch.load(files[0], weights_only=True)
    assert saved["value"]["n"] == 256  # what the metric computed, on disk
    bars.clear()
    second = ganzoo.evaluate(run, 200, metrics="slow", progress=progress)  # a new evaluator: no in-memory state
    assert slow.calls == [256] and bars == [] and second == first


def test_a_corrupt_cache_file_is_computed_again_with_one_warning(invoke, slow, run, tmp_path):
    invoke("evaluate", run, "--samples", "200", "--metrics", "slow")
    [file] = _cached(tmp_path)
    first = torch.load(file, weights_only=True)["value"]["mean"]
    for damage in (b"not a torch file", file.read_bytes()[:100]):  # garbage, then a file cut short
        file.write_bytes(damage)
        result = invoke("evaluate", run, "--samples", "200", "--metrics", "slow", "--json")
        warnings = _lines(result.stderr, "warning")
        assert len(warnings) == 1 and str(file) in warnings[0] and "computing it again" in warnings[0]
        assert "slow_gap" in json.loads(result.stdout)
        assert torch.equal(torch.load(file, weights_only=True)["value"]["mean"], first)  # rewritten whole
    assert len(slow.calls) == 3
    again = invoke("evaluate", run, "--samples", "200", "--metrics", "slow")
    assert len(slow.calls) == 3 and not _lines(again.stderr, "warning")


def test_changed_data_gets_its_own_reference(tmp_path):
    computed = []

    def compute(advance):
        computed.append(1)
        return torch.ones(2)

    args = {"progress": lambda d, n: (lambda steps=1: None), "description": "x", "total": 1}
    for source in (torch.zeros(5), torch.zeros(5), torch.arange(5.0), torch.zeros(5)):
        cached_reference("slow", "mean", "parabola", source, compute, **args)
    assert len(computed) == 2 and len(_cached(tmp_path)) == 2


def test_a_reference_that_cannot_be_stored_or_cached_is_one_line_never_a_crash(tmp_path, monkeypatch, capsys):
    args = {"progress": lambda d, n: (lambda steps=1: None), "description": "x", "total": 1}
    with pytest.raises(PluginError, match="must be tensors, numbers, strings"):
        cached_reference("slow", "odd", "parabola", torch.zeros(3), lambda advance: object(), **args)
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made here")
    monkeypatch.setenv("GANZOO_CACHE", str(blocker))
    value = cached_reference("slow", "mean", "parabola", torch.zeros(3), lambda advance: torch.ones(3), **args)
    assert torch.equal(value, torch.ones(3))
    warnings = _lines(capsys.readouterr().err, "warning")
    assert len(warnings) == 1 and "computed again next time" in warnings[0]


def test_unknown_or_unfit_names_are_one_line_each(invoke, slow, run):
    def error(*args):
        lines = invoke("evaluate", run, "--samples", "64", *args, expect=1).stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        return lines[0]

    assert "unknown metric 'curv'; did you mean 'curve'?" in error("--metrics", "curv")
    assert "'classifier' does not apply to dataset 'parabola'" in error("--metrics", "curve,classifier")
    assert "empty item" in error("--metrics", "curve,,points")
    with pytest.raises(ganzoo.ConfigError, match="did you mean 'slow'"):
        ganzoo.evaluate(run, 64, metrics=["slw"])


def test_training_evaluates_the_chosen_metrics_and_evaluate_keeps_the_choice(invoke, slow, tmp_path):
    run = tmp_path / "run"
    result = invoke("train", *TINY, "--steps", "20", "--eval-every", "10", "--eval-samples", "128",
                    "--metrics", "curve,slow", "--out", run, "-q")
    assert not _lines(result.stderr, "note")
    evals = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "slow_gap" in r]
    assert [r["step"] for r in evals] == [10, 20]
    assert all(set(r) >= CURVE and not POINTS & set(r) for r in evals)
    assert slow.calls == [256]  # computed once for the whole run (its first evaluation), then kept
    again = json.loads(invoke("evaluate", run, "--samples", "128", "--json").stdout)  # the run's own choice
    assert set(again) == CURVE | {"slow_gap"} and slow.calls == [256]  # read back from the cache
    assert set(json.loads(invoke("evaluate", run, "--samples", "128", "--json", "--metrics", "points").stdout)) \
        == POINTS


def test_training_by_default_leaves_the_expensive_metric_out_on_a_cpu_with_a_note(invoke, slow, tmp_path):
    run = tmp_path / "run"
    result = invoke("train", *TINY, "--steps", "10", "--eval-every", "5", "--eval-samples", "128", "--out", run)
    assert _lines(result.stderr, "note") == ["ganzoo: note: metric 'slow' is left out on a CPU, where it is slow; "
                                             "ask for it by name: --metrics curve,points,slow"]
    evals = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "curve_error" in r]
    assert len(evals) == 2 and not any("slow_gap" in r for r in evals) and slow.calls == []


def test_a_misspelt_training_metric_is_refused_before_the_run_exists(invoke, slow, tmp_path):
    result = invoke("train", *TINY, "--steps", "10", "--eval-every", "5", "--metrics", "curve,slw", "--out",
                    tmp_path / "run", expect=1)
    assert result.stderr.strip() == ("error: --metrics: unknown metric 'slw'; did you mean 'slow'? (installed "
                                     "metrics and dataset 'parabola''s own: curve, points, inception, classifier, "
                                     "slow; or one of their keys)")
    assert not (tmp_path / "run").exists()


def test_a_key_chooses_its_metric(invoke, slow, run):
    metrics = json.loads(invoke("evaluate", run, "--samples", "200", "--json", "--metrics", "mmd,slow_gap").stdout)
    assert set(metrics) == POINTS | {"slow_gap"}  # the whole metric each key belongs to
    line = invoke("evaluate", run, "--samples", "64", "--metrics", "slow_gp", expect=1).stderr.strip()
    assert line.startswith("error: --metrics: unknown metric 'slow_gp'; did you mean 'slow_gap'?")


@pytest.mark.slow
def test_a_sweep_passes_metrics_to_its_members_and_refuses_a_misspelt_one_before_training(invoke, plugin, tmp_path):
    # built-in metrics only (a sweep's members usually train in processes of their own, where no in-process plugin
    # is registered); the member trains and is evaluated in this process here (helpers/engines.py), from the plan
    # the sweep wrote, as a member process would
    plugin(InlineEngine(), name="inline-engine")
    result = invoke("sweep", *TINY, "--metrics", "curv", "--steps", "5", "--out", tmp_path / "s", expect=None)
    assert result.exit_code != 0 and "did you mean 'curve'?" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s").exists()
    invoke("sweep", *TINY, "--metrics", "curve", "--steps", "20", "--seeds", "1", "--eval-samples", "200",
           "--jobs", "1", "--engine", "inline", "--out", tmp_path / "s", "-q")
    [member] = (tmp_path / "s" / "members").iterdir()
    assert 'metrics = ["curve"]' in (member / "config.toml").read_text()
    [outcome] = [json.loads(p.read_text()) for p in (tmp_path / "s" / "outcomes").glob("*.json")]
    assert outcome["status"] == "done" and set(outcome["metrics"]) == CURVE  # evaluated with its own choice


def test_a_named_metric_that_raises_is_one_warning_and_the_others_still_count(invoke, plugin, run):
    class Broken:
        @hookimpl
        def ganzoo_metrics(self):
            def compute(ctx):
                raise KeyError("features")

            yield MetricSpec(name="broken", description="raises", compute=compute, keys={"b": "nothing"},
                             expensive=True)

    plugin(Broken(), name="broken-plugin")
    result = invoke("evaluate", run, "--samples", "64", "--json", "--metrics", "broken,curve")
    assert set(json.loads(result.stdout)) == CURVE
    warnings = _lines(result.stderr, "warning")
    assert len(warnings) == 1 and "metric 'broken' failed and is left out from now on: KeyError" in warnings[0]
    alone = invoke("evaluate", run, "--samples", "64", "--metrics", "broken", expect=1).stderr.splitlines()
    assert alone[-1] == "error: every metric failed (see the warnings above); nothing was measured"


def test_a_samples_file_takes_metrics_too(invoke, run, tmp_path):
    ganzoo.sample(run, 300, out=tmp_path / "xy.pt")
    result = invoke("evaluate", tmp_path / "xy.pt", "--dataset", "parabola", "--metrics", "curve", "--json")
    assert set(json.loads(result.stdout)) == CURVE


def test_a_record_says_expensive_with_a_bool():
    with pytest.raises(TypeError, match="expensive must be True or False"):
        MetricSpec(name="x", description="x", compute=lambda ctx: {}, expensive="yes")


def test_a_named_metric_that_cannot_run_here_is_an_error_and_unnamed_a_note(invoke, plugin, run):
    class Missing:
        @hookimpl
        def ganzoo_metrics(self):
            yield MetricSpec(name="needs-weights", description="weights not installed", compute=lambda ctx: {},
                             unavailable=lambda data: "no weights; pip install them", expensive=True)

    plugin(Missing(), name="missing-plugin")
    result = invoke("evaluate", run, "--samples", "64", "--json")
    assert _lines(result.stderr, "note") == ["ganzoo: note: metric 'needs-weights' is off: no weights; pip install "
                                             "them"]
    named = invoke("evaluate", run, "--samples", "64", "--metrics", "needs-weights", expect=1)
    assert named.stderr.strip() == "error: --metrics needs-weights: no weights; pip install them"


def test_processes_wanting_the_same_missing_reference_take_turns_and_compute_it_once(tmp_path):
    import threading
    import time

    computed = []

    def compute(advance):
        computed.append(1)
        time.sleep(0.5)  # the second caller arrives while this one holds the lock
        return torch.arange(4.0)

    args = {"progress": lambda d, n: (lambda steps=1: None), "description": "x", "total": 1}
    results = []

    def want():  # each thread opens the lock file itself, as another process would (flock is per open file)
        results.append(cached_reference("slow", "mean", "parabola", torch.zeros(3), compute, **args))

    threads = [threading.Thread(target=want) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    assert len(computed) == 1 and len(results) == 2 and all(torch.equal(r, torch.arange(4.0)) for r in results)
