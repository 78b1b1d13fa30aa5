"""``ganzoo sample`` and ``ganzoo evaluate``: what a trained run makes, and how good it is."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from ..errors import ConfigError
from ..run.evaluation import EVAL_SEED


@click.command("sample")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-n", "count", type=int, default=64, show_default=True, help="number of samples")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FILE.png (grid or scatter plot), FILE.gif (--sampler interpolate's walks, animated) or "
                   "FILE.pt (tensor of shape (N, *sample_shape))")
@click.option("--seed", type=int, default=0, show_default=True, help="noise seed (same seed, same samples)")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps")
@click.option("--no-ema", is_flag=True, help="use the raw generator even when the run has an EMA copy")
@click.option("--label", type=int, default=None, help="a conditional run: draw every sample for this class (InfoGAN: "
                                                      "this categorical code) [default: every class in turn, one "
                                                      "row each]")
@click.option("--sampler", default=None, help="draw through a sampler plugin: truncation, rejection, interpolate "
                                             "(see `ganzoo list samplers`)")
@click.option("--set", "sets", multiple=True, metavar="sampler.P=V", help="a parameter of the sampler (repeatable)")
@click.option("--z", "z_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="noise to sample from: a tensor (N, latent_dim) saved with torch.save, instead of --seed's")
def sample_command(run_dir: str, count: int, output: str, seed: int, device: str, no_ema: bool,
                   label: int | None, sampler: str | None, sets: tuple[str, ...], z_file: str | None) -> None:
    """Write N samples of a trained run's generator (its EMA copy when there is one)."""
    from ..api import sample

    if sets and sampler is None:
        raise ConfigError("--set applies to a sampler: name one with --sampler")
    samples = sample(run_dir, count, seed=seed, device=device, use_ema=not no_ema, out=output, label=label,
                     sampler=sampler, set=sets, z=z_file)
    which = f" of class {label}" if label is not None else ""
    click.echo(f"wrote {len(samples)} samples{which} of shape {tuple(samples.shape[1:])} to {output}")


@click.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--dataset", default=None, help="with a samples file: the dataset to judge it against")
@click.option("--set", "sets", multiple=True, metavar="dataset.P=V", help="with a samples file: dataset parameters")
@click.option("--samples", "count", type=int, default=None, help="generated samples to evaluate [default: 5000]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--seed", type=int, default=EVAL_SEED, show_default=True, help="noise seed")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps")
@click.option("--no-ema", is_flag=True, help="evaluate the raw generator even when the run has an EMA copy")
@click.option("--metrics", "metrics", metavar="NAME,...", default=None,
              help="the metrics to compute, by name or by one of their keys, e.g. classifier,inception_fid "
                   "[default: the run's --metrics, else the dataset's metrics; the expensive ones (Inception) only on "
                   "a GPU]")
def evaluate_command(run_dir: str, dataset: str | None, sets: tuple[str, ...], count: int | None, as_json: bool,
                     seed: int, device: str, no_ema: bool, metrics: str | None) -> None:
    """Quality metrics of a trained run (RUN_DIR), or of a samples file made anywhere (SAMPLES.pt: images
    (N, C, H, W) in [0, 1] or points (N, D) in data coordinates) with --dataset NAME."""
    from contextlib import ExitStack

    from rich.progress import Progress

    from ..api import evaluate_run
    from .tables import metrics_table

    with ExitStack() as stack:
        bars: list[Progress] = []

        def progress(description: str, total: int):
            # started on first use only: an idle bar still writes a blank line to stderr when it stops
            if not bars:
                bars.append(stack.enter_context(Progress(console=Console(stderr=True), transient=True)))
            task = bars[0].add_task(description, total=total)
            return lambda steps=1: bars[0].advance(task, steps)

        if Path(run_dir).is_file() and dataset is None:
            raise ConfigError(f"{run_dir} is a file: to evaluate a samples file, name its dataset with --dataset NAME")
        if Path(run_dir).is_dir() or dataset is None:
            if dataset is not None or sets:
                raise ConfigError("--dataset and --set are for a samples file; a run is judged on its own dataset")
            values, evaluator = evaluate_run(run_dir, count, seed=seed, device=device, use_ema=not no_ema,
                                             progress=progress, metrics=metrics)
        else:
            from ..api import evaluate_file

            bad = [s for s in sets if not s.startswith(("dataset.", "data."))]
            if bad:
                raise ConfigError(f"--set {bad[0]}: a samples file is judged against a dataset only; set dataset.P=V")
            values, evaluator = evaluate_file(run_dir, dataset, sets, device=device, progress=progress,
                                              metrics=metrics)
    if as_json:
        from ..run.rundir import finite_or_none

        click.echo(json.dumps(finite_or_none(values), indent=2))
        return
    Console().print(metrics_table(values, evaluator.descriptions(), evaluator.better(), f"ganzoo evaluate {run_dir}"))
