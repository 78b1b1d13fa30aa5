"""Reporters: plugins that receive a run's events (start, metrics lines, evaluations, samples, end); TensorBoard
and MLflow among them; a reporter that fails warns once and never stops training."""

from __future__ import annotations

import json
import sys

import pytest

import ganzoo
from ganzoo import ReporterSpec, RunReporter, hookimpl

TINY = ["--set", "dataset.n=128", "--set", "generator.hidden=16", "--set", "discriminator.hidden=16",
        "--batch-size", "16", "--checkpoint-every", "0"]


class Recorder(RunReporter):
    made: list[Recorder] = []

    def __init__(self) -> None:
        self.events: list[tuple] = []
        Recorder.made.append(self)

    def start(self, run):
        self.events.append(("start", run.label, run.resumed_at, run.total_steps, run.config["steps"]))

    def metrics(self, step, values):
        self.events.append(("metrics", step, sorted(values)))

    def evaluation(self, step, metrics):
        self.events.append(("evaluation", step, sorted(metrics)))

    def sample(self, step, path):
        self.events.append(("sample", step, path.name, path.is_file()))

    def end(self, step, interrupted, loss_curve):
        self.events.append(("end", step, interrupted, loss_curve.name if loss_curve else None))


class Broken(RunReporter):
    def metrics(self, step, values):
        raise RuntimeError("the tracking server is down")


class ReporterPlugin:
    @hookimpl
    def ganzoo_reporters(self):
        yield ReporterSpec(name="recorder", factory=Recorder, description="records events (tests)")
        yield ReporterSpec(name="broken", factory=Broken, description="fails (tests)")


@pytest.fixture
def reporters(plugin):
    Recorder.made.clear()
    return plugin(ReporterPlugin(), name="reporters-test")


def test_a_reporter_receives_every_event_of_a_run_and_its_resume(reporters, invoke, tmp_path):
    run = tmp_path / "run"
    invoke("train", "--report", "recorder", *TINY, "--steps", "20", "--log-every", "10", "--sample-every", "10",
           "--eval-every", "20", "--eval-samples", "64", "--out", run, "-q")
    events = Recorder.made[-1].events
    assert events[0] == ("start", "mlp-mlp-nonsaturating-parabola", 0, 20, 20)
    assert [e[:2] for e in events if e[0] == "metrics"] == [("metrics", 10), ("metrics", 20)]
    assert "d_loss" in events[1][2] and "steps_per_sec" in events[1][2] and "curve_error" not in events[1][2]
    assert [e[:2] for e in events if e[0] == "evaluation"] == [("evaluation", 20)]
    assert "curve_error" in next(e for e in events if e[0] == "evaluation")[2]
    assert [e for e in events if e[0] == "sample"] == [("sample", 10, "step_0000010.png", True),
                                                       ("sample", 20, "step_0000020.png", True)]
    assert events[-1] == ("end", 20, None, "loss_curve.png")
    invoke("train", "--resume", run, "--steps", "30", "--report", "recorder", "--log-every", "10", "-q")
    resumed = Recorder.made[-1].events
    assert resumed[0][:3] == ("start", "mlp-mlp-nonsaturating-parabola", 20) and resumed[-1][:3] == ("end", 30, None)


def test_a_failing_reporter_warns_once_and_training_goes_on(reporters, invoke, tmp_path):
    result = invoke("train", "--report", "broken", "--report", "recorder", *TINY, "--steps", "30", "--log-every",
                    "5", "--out", tmp_path / "run", "-q")
    warnings = [line for line in result.stderr.splitlines() if "reporter 'broken'" in line]
    assert len(warnings) == 1 and "the tracking server is down" in warnings[0] and "training goes on" in warnings[0]
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 30
    assert Recorder.made[-1].events[-1][:2] == ("end", 30)  # the other reporter kept receiving


def test_an_unknown_reporter_is_one_line_before_training(invoke, tmp_path):
    result = invoke("train", "--report", "mlflw", "--out", tmp_path / "run", expect=1)
    assert "unknown reporter 'mlflw'; did you mean 'mlflow'?" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "run").exists()


# -- TensorBoard ----------------------------------------------------------------------------------------------------


class FakeWriter:
    """Records what a SummaryWriter is asked to write (the real one is tested below when installed)."""

    made: list[FakeWriter] = []

    def __init__(self, log_dir: str, purge_step: int | None = None) -> None:
        self.log_dir, self.purge_step = log_dir, purge_step
        self.scalars: dict[str, list[tuple[int, float]]] = {}
        self.images: list[tuple[str, tuple, int]] = []
        self.closed = False
        FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.setdefault(tag, []).append((step, value))

    def add_image(self, tag, image, step):
        self.images.append((tag, tuple(image.shape), step))

    def close(self):
        self.closed = True


def test_missing_tensorboard_is_one_line_before_training(invoke, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what `import` sees without the package
    result = invoke("train", "--tensorboard", *TINY, "--steps", "5", "--out", tmp_path / "run", expect=1)
    assert "--tensorboard needs the optional tensorboard package" in result.stderr
    assert "pip install 'ganzoo[tensorboard]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # nothing was started


@pytest.mark.slow
def test_tensorboard_gets_scalars_and_samples_and_a_resume_purges(invoke, tmp_path, monkeypatch):
    from ganzoo_builtins import tensorboard

    monkeypatch.setattr(tensorboard, "summary_writer", lambda: FakeWriter)
    FakeWriter.made.clear()
    run = tmp_path / "run"
    invoke("train", "--tensorboard", *TINY, "--steps", "20", "--log-every", "5", "--sample-every", "10",
           "--eval-every", "20", "--eval-samples", "64", "--out", run, "-q")
    writer = FakeWriter.made[-1]
    assert writer.log_dir == str(run) and writer.purge_step is None and writer.closed
    for tag in ("loss/D", "loss/G", "D_output/real D(x)", "D_output/fake D(G(z))", "speed/steps_per_sec"):
        assert [step for step, _ in writer.scalars[tag]] == [5, 10, 15, 20], tag
    assert [step for step, _ in writer.scalars["metrics/curve_error"]] == [20]
    assert [(tag, step) for tag, _, step in writer.images] == [("samples", 10), ("samples", 20)]
    assert all(shape[0] == 3 and shape[1] > 100 for _, shape, _ in writer.images)  # RGB, CHW, the real picture
    invoke("train", "--resume", run, "--steps", "30", "--tensorboard", "--log-every", "5", "--sample-every", "10",
           "-q")
    resumed = FakeWriter.made[-1]
    assert resumed.purge_step == 20  # events after the checkpoint from an interrupted session are dropped
    assert [step for step, _ in resumed.scalars["loss/D"]] == [25, 30]
    assert [step for _, _, step in resumed.images] == [30]  # only this session's samples


def test_real_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    ganzoo.train(steps=10, log_every=5, sample_every=10, checkpoint_every=0, batch_size=16, out=run,
                 set=["dataset.n=128", "generator.hidden=16", "discriminator.hidden=16"], tensorboard=True)
    events = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("loss/D")] == [5, 10]
    assert [e.step for e in events.Images("samples")] == [10]
    final = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert events.Scalars("loss/G")[-1].value == pytest.approx(final["g_loss"], rel=1e-6)  # float32 in the file


# -- MLflow -----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mlflow_logs_params_metrics_and_artifacts_to_a_local_store(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # ganzoo opts in itself for its default store
    run = tmp_path / "run"
    sets = ["dataset.n=128", "generator.hidden=16", "discriminator.hidden=16"]
    ganzoo.train(steps=20, log_every=5, sample_every=10, checkpoint_every=0, batch_size=16, out=run, set=sets,
                 report=["mlflow"])
    store = tmp_path / "mlruns"
    assert store.is_dir()  # the default: a file store under the working directory
    client = MlflowClient(tracking_uri=store.as_uri())
    (logged,) = client.search_runs([client.get_experiment_by_name("ganzoo").experiment_id])
    assert logged.info.status == "FINISHED" and logged.data.tags["ganzoo.run_dir"] == str(run.resolve())
    assert logged.data.params["generator.hidden"] == "16" and logged.data.params["loss.name"] == "nonsaturating"
    assert logged.data.params["steps"] == "20"
    history = client.get_metric_history(logged.info.run_id, "d_loss")
    final = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert [m.step for m in history] == [5, 10, 15, 20] and history[-1].value == pytest.approx(final["d_loss"])
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"config.toml", "loss_curve.png", "samples"} <= artifacts
    samples = {a.path for a in client.list_artifacts(logged.info.run_id, "samples")}
    assert samples == {"samples/step_0000010.png", "samples/step_0000020.png"}
    # a resumed ganzoo run continues its MLflow run
    ganzoo.train(resume=run, steps=30, report=["mlflow"])
    (again,) = client.search_runs([client.get_experiment_by_name("ganzoo").experiment_id])
    assert again.info.run_id == logged.info.run_id
    assert [m.step for m in client.get_metric_history(again.info.run_id, "d_loss")][-2:] == [25, 30]


def test_mlflow_follows_the_tracking_uri(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", elsewhere.as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the user's own choice of a file store
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mine")
    ganzoo.train(steps=5, log_every=5, sample_every=0, checkpoint_every=0, batch_size=16, out=tmp_path / "run",
                 set=["dataset.n=64"], report=["mlflow"])
    assert not (tmp_path / "mlruns").exists()
    client = MlflowClient(tracking_uri=elsewhere.as_uri())
    assert len(client.search_runs([client.get_experiment_by_name("mine").experiment_id])) == 1


def test_missing_mlflow_is_one_line_before_training(invoke, tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "mlflow" or name.startswith("mlflow."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    result = invoke("train", "--report", "mlflow", "--out", tmp_path / "run", expect=1)
    assert "--report mlflow needs the optional mlflow package" in result.stderr
    assert "pip install 'ganzoo[mlflow]'" in result.stderr and not (tmp_path / "run").exists()
