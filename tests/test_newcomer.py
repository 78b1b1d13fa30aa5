"""What a newcomer sees first: help that tells the values a run uses, progress that stays readable on a narrow
terminal and in a pipe, speeds that never read "0", samples that look like the run's progress, and legible
pictures (issue 23's newcomer list)."""

from __future__ import annotations

import re
from io import BytesIO, StringIO

import pytest
from rich.console import Console

from ganzoo.run.progress import PlainReporter, RichReporter, rate_text

RECORD = {"steps_per_sec": 0.24, "d_loss": 1.2345, "g_loss": 0.8765, "d_real": 0.55, "d_fake": 0.45}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- help -----------------------------------------------------------------------------------------------------------


def test_train_help_shows_the_values_the_default_run_uses(registry, invoke):
    """Every default in `ganzoo train --help` is what a plain `ganzoo train` resolves to (6000 steps, batch 128, lr
    4e-4, EMA 0.99 on the parabola, not ganzoo's own 3000 / 64 / 2e-4 / none), and the options the data changes say
    so."""
    import click

    from ganzoo.cli.tables import show
    from ganzoo.cli.train import train_command
    from ganzoo.config import option_params, resolve_config
    from ganzoo.registry.kinds import SLOTS

    run = resolve_config(registry)
    ctx = click.Context(train_command)
    helps = {p.name: p.get_help_record(ctx)[1] for p in train_command.params}
    used = {**{name: show(getattr(run, name), "none") for name in option_params()},
            **{s.name: run.component(s.name).name for s in SLOTS.values() if not s.many}}
    for name, value in used.items():
        assert re.search(r"\[default: ([^ ;,\]]+)", helps[name])[1] == value, (name, helps[name])
    mnist = resolve_config(registry, {"dataset": "mnist"})
    for name in ("steps", "batch_size", "latent_dim", "lr_g", "lr_d", "ema", "generator"):
        assert "for parabola; other datasets: from the defaults for the kind of data" in helps[name], name
    assert mnist.steps == 25_000 and mnist.latent_dim == 100  # what "other datasets" warns of
    assert "what a chosen component suggests" in helps["d_steps"]  # -l wgan-gp: 5
    assert "kind of data" not in helps["seed"] and "kind of data" not in helps["loss"]
    text = " ".join(invoke("train", "--help").stdout.split())
    for shown in ("[default: 6000 for parabola", "[default: 128 for parabola", "[default: 0.0004 for parabola",
                  "[default: 0.99 for parabola"):
        assert shown in text
    assert "3000" not in text and "0.0002" not in text


# -- progress -------------------------------------------------------------------------------------------------------


def test_rates_below_one_step_a_second_read_as_seconds_per_step():
    assert rate_text(0.238) == "4.2 s/step"
    assert rate_text(4.5) == "4.5 steps/s" and rate_text(123.4) == "123 steps/s"
    assert rate_text(0) == rate_text(None) == "-"


def _bar_line(bar: RichReporter, width: int) -> str:
    """The bar as a terminal of ``width`` columns draws it."""
    console = Console(width=width, file=StringIO(), record=True)
    console.print(bar.bars.get_renderable())
    return console.export_text().rstrip("\n")


def test_the_bar_keeps_step_eta_and_speed_at_80_columns():
    clock = FakeClock()
    bar = RichReporter(Console(file=StringIO()), clock=clock)
    bar.start(25_000, 0, "header")
    for _ in range(20):  # a slow run: 4.2 s a step
        clock.now += 4.2
        bar.advance()
    bar.log({"step": 20, **RECORD})
    bar.stop()
    line = _bar_line(bar, 80).rstrip()
    assert len(line) <= 80
    assert "20/25000" in line and "4.2 s/step" in line, line
    eta = re.search(r"ETA (\d+):(\d\d):(\d\d)", line)
    assert eta, line
    hours = int(eta[1]) + int(eta[2]) / 60
    assert abs(hours - 24_980 * 4.2 / 3600) < 0.1  # the remaining steps at 4.2 s each
    assert "D loss 1.234" in line and line.endswith("…")  # the losses are what gets cut
    assert "D(G(z)) 0.450" in _bar_line(bar, 200)  # with room, every statistic shows


def _plain(total: int, seconds_per_step: float, log_every: int = 50) -> list[str]:
    clock, out = FakeClock(), StringIO()
    reporter = PlainReporter(out, clock=clock)
    reporter.start(total, 0, "header")
    for step in range(1, total + 1):
        clock.now += seconds_per_step
        reporter.advance()
        if step % log_every == 0 or step == total:
            reporter.log({"step": step, **RECORD, "steps_per_sec": 1 / seconds_per_step})
    return out.getvalue().splitlines()[1:]


def test_a_slow_run_in_a_pipe_prints_a_line_at_least_every_30_seconds():
    lines = _plain(200, 4.0)  # 800 s: the first total/20 mark (10 steps) is no log step; the first log is at 200 s
    assert lines[0].startswith("step 8/200  ETA 0:12:48  4.0 s/step"), lines[0]  # after 32 s, not 200 s
    steps = [int(re.match(r"step (\d+)/", line)[1]) for line in lines]
    assert all(b - a <= 8 for a, b in zip(steps, steps[1:]))  # never 30 s (7.5 steps) and more apart
    assert steps[-1] == 200 and "D loss 1.234" in lines[-1]


def test_a_fast_run_in_a_pipe_prints_about_twenty_lines():
    lines = _plain(25_000, 0.001)  # 25 s in all: the 30 s clock never fires
    steps = [int(re.match(r"step (\d+)/", line)[1]) for line in lines]
    assert steps == list(range(1250, 25_001, 1250))
    assert "1000 steps/s" in lines[0] and "ETA 0:00:23" in lines[0]


def test_one_cpu_thread_is_singular(monkeypatch):
    import torch

    from ganzoo.training.device import describe

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert describe(torch.device("cpu")) == "cpu (1 thread)"
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert describe(torch.device("cpu")) == "cpu (2 threads)"


# -- samples of short runs --------------------------------------------------------------------------------------------


def test_a_short_runs_ema_has_caught_up_with_g(registry, tmp_path):
    """EMA 0.999 after 60 steps: without a warm-up it would still be 94% the random initial G (0.999^60); warmed
    up it sits near G, measured in weights and in the samples drawn from it."""
    import torch

    from ganzoo.config import resolve_config
    from ganzoo.run.rundir import RunDir
    from ganzoo.run.samples import generate, noise
    from ganzoo.training.trainer import Trainer

    cfg = resolve_config(registry, {"steps": 60, "ema": 0.999, "batch_size": 32, "lr_g": 1e-3, "lr_d": 1e-3,
                                    "sample_every": 0, "checkpoint_every": 0},
                         sets=["dataset.n=256", "generator.hidden=16,16", "discriminator.hidden=16,16"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    start = [p.detach().clone() for p in trainer.G.parameters()]
    trainer.fit()

    def distance(a, b):
        return torch.cat([(x - y).flatten() for x, y in zip(a, b)]).norm().item()

    g, ema = list(trainer.G.parameters()), list(trainer.ema.parameters())
    assert distance(ema, g) < 0.25 * distance(start, g)  # measured 0.06; a fixed decay gives 0.93
    z = noise(500, cfg.latent_dim, 3)
    moved = (generate(trainer.G, z) - generate(trainer.sampler, z)).norm(dim=1).mean()
    spread = generate(trainer.G, z).std(dim=0).norm()
    assert moved < 0.25 * spread  # measured 0.08


# -- pictures -------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_keeps_each_sample_picture_legible_as_runs_are_added():
    """Scatter plots (720 x 540 px) stay near their own size in every panel: the figure grows (in rows of three)
    instead of shrinking them until their titles and legends cannot be read."""
    import numpy as np

    from ganzoo.run.plot import DPI, PANEL_MIN, comparison_figure

    picture = np.random.default_rng(0).random((540, 720, 3))
    series = [("a", [1, 2, 3], [1.0, 0.9, 0.8], [0.7, 0.8, 0.9])]
    sizes = []
    for runs in (2, 3, 4, 7):
        fig = comparison_figure([(f"run {i}\n(step 10)", picture) for i in range(runs)], series)
        fig.savefig(BytesIO(), format="png")  # lays the figure out as compare's PNG is
        panels = [ax.get_window_extent() for ax in fig.axes if ax.images]
        assert len(panels) == runs
        assert all(p.width >= 0.95 * max(720, PANEL_MIN * DPI) for p in panels), [p.width for p in panels]
        sizes.append(tuple(fig.get_size_inches()))
    widths, heights = zip(*sizes)
    assert widths[0] < widths[1] == widths[2] == widths[3]  # up to three side by side...
    assert heights[1] < heights[2] < heights[3]  # ...then another row for each three more
    small = comparison_figure([("a", np.zeros((62, 62, 3))), ("b", None)], series)
    small.savefig(BytesIO(), format="png")
    (panel,) = [ax.get_window_extent() for ax in small.axes if ax.images]
    assert panel.width >= 0.95 * PANEL_MIN * DPI  # a tiny image grid is shown at the minimum size, not as a dot


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_a_conditional_image_grid_is_near_square_with_each_class_named(tmp_path):
    """Two classes of 32 images: an 8 x 8 grid, four rows per class, each block labelled on the left; ten classes
    of ten: one labelled row each; 64 classes of one: a square grid with the class in each picture's corner."""
    import numpy as np
    import torch
    from PIL import Image

    from ganzoo.data.contract import DataSpec
    from ganzoo.run.samples import class_grid_figure, save_png
    from ganzoo.training.conditioning import Conditioning

    def written(classes: int, shape: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
        labels = Conditioning(classes=classes).grid_labels(None, 64)
        images = torch.rand(len(labels), *shape) * 2 - 1
        path = tmp_path / f"{classes}.png"
        save_png(path, images, DataSpec("image", shape, classes), labels=labels)
        with Image.open(path) as png:
            picture = np.asarray(png.convert("L"))
        return _texts(class_grid_figure((images + 1) / 2, labels)), picture

    texts, png = written(2, (3, 32, 32))
    assert texts == ["class 0", "class 1"]
    left = 90  # the labels' margin, then 8 columns of 32 px pictures, enlarged twice, with 2 px gaps
    assert png.shape == (8 * 34 * 2 + 4, left + 8 * 34 * 2 + 4)
    assert 0.8 < png.shape[0] / png.shape[1] < 1.25
    for block in range(2):  # each label sits at the middle of its block of four rows, left of the pictures
        middle = (block * 4 + 2) * 34 * 2
        assert (png[middle - 10:middle + 10, :left] < 128).any() and (png[middle + 60:middle + 80, :left] > 250).all()
    texts, png = written(10, (1, 28, 28))
    assert texts == [f"class {k}" for k in range(10)] and png.shape == (10 * 30 * 2 + 4, left + 10 * 30 * 2 + 4)
    labels = Conditioning(classes=100).sample_labels(64)  # `ganzoo sample -n 64` of 100 classes: one each
    fig = class_grid_figure(torch.rand(64, 1, 28, 28), labels)
    assert _texts(fig) == [str(k) for k in range(64)] + ["class in each corner"]  # a row each: 8 times too tall
    assert 0.8 < fig.get_figheight() / fig.get_figwidth() < 1.25
    code = Conditioning(classes=3, own_labels=True)
    assert _texts(class_grid_figure(torch.rand(30, 1, 8, 8), code.grid_labels(None, 30), code.label_word))[0] == \
        "code 0"


def test_a_conditional_point_plot_shows_a_thousand_points_coloured_by_class(registry, plugin, tmp_path):
    """cGAN on four labelled blobs: its sample plot holds 1,000 generated points, 250 per class, each class in its
    own colour (read from the written PNG) and named in the legend."""
    import numpy as np
    import torch
    from helpers import labelled
    from PIL import Image, ImageColor

    from ganzoo.config import resolve_config
    from ganzoo.run.plot import PALETTE, scatter_figure
    from ganzoo.run.rundir import RunDir
    from ganzoo.run.samples import generate, to_data_coords
    from ganzoo.training.trainer import Trainer

    plugin(labelled, name="labelled")
    cfg = resolve_config(registry, {"generator": "cgan", "discriminator": "cgan", "dataset": "blobs", "steps": 1,
                                    "batch_size": 8, "latent_dim": 64},  # an untrained G spreads 64-D noise wider
                         sets=["dataset.n=256", "generator.hidden=16"])
    trainer = Trainer(cfg, registry, RunDir(tmp_path / "r"))
    assert torch.bincount(trainer.sample_labels).tolist() == [250] * 4
    trainer.run_dir.create()
    with Image.open(trainer.write_samples()) as png:
        pixels = np.asarray(png.convert("RGB")).reshape(-1, 3).astype(float)
    for colour in PALETTE[:4]:  # a point alone: its colour at alpha 0.7 over white
        seen = 0.7 * np.array(ImageColor.getrgb(colour)) + 0.3 * 255
        assert (np.abs(pixels - seen).max(axis=1) <= 3).sum() >= 100, colour
    samples = to_data_coords(generate(trainer.sampler, trainer.sample_z, trainer.sample_labels), trainer.data.spec,
                             trainer.data).numpy()
    fig = scatter_figure(samples, None, None, "", (trainer.sample_labels.numpy(), "class"))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"class {k}" for k in range(4)]
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == [250] * 4
    assert np.isfinite(samples).all()
