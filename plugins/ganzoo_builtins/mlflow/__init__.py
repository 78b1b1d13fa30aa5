"""Built-in plugin: the MLflow reporter (``--report mlflow``).

Each ganzoo run is one MLflow run: the resolved config as parameters (``generator.hidden``, ``lr_d``...), every
metrics line and evaluation as metrics by step, and as artifacts the sample pictures, ``config.toml`` and the loss
curve. It logs to ``$MLFLOW_TRACKING_URI``, else to a local ``./mlruns`` file store, in the experiment
``$MLFLOW_EXPERIMENT_NAME`` (default ``ganzoo``); a resumed ganzoo run continues its MLflow run. ``mlflow`` is an
optional extra (``pip install 'ganzoo[mlflow]'``; add ``pip install mlflow`` for its UI, ``mlflow ui``). MLflow 3
keeps the file store in maintenance mode: ganzoo opts in (``MLFLOW_ALLOW_FILE_STORE=true``) for its default store
only; point ``MLFLOW_TRACKING_URI`` at a database or a server for MLflow's newest features.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ganzoo import ConfigError, ReporterSpec, RunReporter, hookimpl

INSTALL = "pip install 'ganzoo[mlflow]'"
RUN_DIR_TAG = "ganzoo.run_dir"


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """``{"generator": {"hidden": [256, 512]}}`` -> ``{"generator.hidden": "256,512"}``: one parameter per setting."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out[name] = ",".join(str(v.get("name", "?")) for v in value)
            for item in value:
                out.update(flatten({k: v for k, v in item.items() if k != "name"}, f"{name}.{item.get('name')}."))
        elif isinstance(value, list):
            out[name] = ",".join(map(str, value)) or "none"
        else:
            out[name] = str(value)
    return out


class MLflowReporter(RunReporter):
    def __init__(self) -> None:
        try:
            from mlflow.entities import Metric, Param
            from mlflow.tracking import MlflowClient
        except ImportError as err:
            raise ConfigError(f"--report mlflow needs the optional mlflow package, which cannot be imported "
                              f"({str(err).splitlines()[0][:120]}); install it with: {INSTALL}") from None
        self.client_class, self.metric, self.param = MlflowClient, Metric, Param
        self.client = self.run_id = None

    def start(self, run) -> None:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # the local file store: MLflow 3 keeps it in maintenance mode, behind this opt-in
            uri = Path("mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = client = self.client_class(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "ganzoo")
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        previous = client.search_runs([experiment_id], f"tags.`{RUN_DIR_TAG}` = '{run.run_dir.resolve()}'",
                                      max_results=1) if run.resumed_at else []
        if previous:  # a resumed ganzoo run continues its MLflow run (parameters are already there, and fixed)
            self.run_id = previous[0].info.run_id
            client.update_run(self.run_id, status="RUNNING")
            return
        self.run_id = client.create_run(experiment_id, run_name=run.run_dir.name,
                                        tags={RUN_DIR_TAG: str(run.run_dir.resolve()), "ganzoo.mix": run.label}
                                        ).info.run_id
        params = [self.param(k, v[:500]) for k, v in flatten(run.config).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
            client.log_batch(self.run_id, params=params[i:i + 100])
        if run.config_path is not None:
            client.log_artifact(self.run_id, str(run.config_path))

    def _log(self, step: int, values: dict, prefix: str = "") -> None:
        now = int(time.time() * 1000)
        metrics = [self.metric(f"{prefix}{k}", float(v), now, step) for k, v in values.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def metrics(self, step, values) -> None:
        self._log(step, values)

    def evaluation(self, step, metrics) -> None:
        self._log(step, metrics, "eval/")

    def sample(self, step, path) -> None:
        self.client.log_artifact(self.run_id, str(path), "samples")

    def end(self, step, interrupted, loss_curve) -> None:
        if self.run_id is None:
            return
        if loss_curve is not None:
            self.client.log_artifact(self.run_id, str(loss_curve))
        self.client.set_terminated(self.run_id, "FINISHED" if interrupted is None else
                                   "FAILED" if interrupted == "failed" else "KILLED")


@hookimpl
def ganzoo_reporters():
    yield ReporterSpec(name="mlflow", factory=MLflowReporter,
                       description="MLflow: config as params, metrics by step, samples, loss curve and config.toml "
                                   "as artifacts; $MLFLOW_TRACKING_URI or ./mlruns (pip install 'ganzoo[mlflow]').")
