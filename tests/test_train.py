"""``ganzoo train`` end to end: run directory, reproducibility, resume, precedence, learning, sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.config import resolve_config
from ganzoo.run.checkpoint import load_checkpoint

TINY = ["--set", "dataset.n=256", "--set", "generator.hidden=32,32", "--set", "discriminator.hidden=32,32",
        "--batch-size", "32"]


def _weights(run: Path) -> dict:
    return load_checkpoint(run / "checkpoints" / "latest.pt")


def _same_weights(a: Path, b: Path) -> bool:
    ca, cb = _weights(a), _weights(b)
    return all(torch.equal(ca[part][k], cb[part][k]) for part in ("generator", "discriminator") for k in ca[part])


def test_run_directory_has_every_file(invoke, tmp_path):
    run = tmp_path / "run"
    result = invoke("train", *TINY, "--steps", "60", "--sample-every", "20", "--checkpoint-every", "30",
                    "--log-every", "10", "--out", run)
    assert "run directory" in result.stdout and "D(G(z))" in result.stdout
    assert "step 60/60" in result.stdout  # plain progress lines when stdout is not a terminal
    assert (run / "config.toml").is_file()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30, 40, 50, 60]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "time", "steps_per_sec"} <= set(records[0])
    assert all(math.isfinite(r["d_loss"]) and 0 <= r["d_fake"] <= 1 for r in records)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "latest.pt", "step_0000030.pt", "step_0000060.pt"]
    samples = sorted(p.name for p in (run / "samples").iterdir())
    assert samples == ["step_0000020.png", "step_0000040.png", "step_0000060.png"]
    for png in [*(run / "samples").iterdir(), run / "loss_curve.png"]:
        with Image.open(png) as image:
            assert image.size[0] > 100 and image.size[1] > 100
    assert _weights(run)["step"] == 60


def test_config_toml_reproduces_the_run(invoke, tmp_path):
    invoke("train", *TINY, "--steps", "40", "--seed", "7", "--ema", "0.9", "--out", tmp_path / "a", "-q")
    invoke("train", "--config", tmp_path / "a" / "config.toml", "--out", tmp_path / "b", "-q")
    assert _same_weights(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a" / "config.toml").read_text() == (tmp_path / "b" / "config.toml").read_text()
    invoke("train", "--config", tmp_path / "a" / "config.toml", "--seed", "8", "--out", tmp_path / "c", "-q")
    assert not _same_weights(tmp_path / "a", tmp_path / "c")


def test_resume_is_bit_identical(invoke, tmp_path):
    common = [*TINY, "--set", "discriminator.dropout=0.2", "--ema", "0.95", "--checkpoint-every", "0", "-q"]
    invoke("train", *common, "--steps", "200", "--out", tmp_path / "once")
    invoke("train", *common, "--steps", "100", "--out", tmp_path / "twice")
    invoke("train", "--resume", tmp_path / "twice", "--steps", "200", "-q")
    once, twice = _weights(tmp_path / "once"), _weights(tmp_path / "twice")
    for part in ("generator", "discriminator", "ema"):
        assert all(torch.equal(once[part][k], twice[part][k]) for k in once[part]), part
    assert twice["step"] == 200
    steps = [json.loads(line)["step"] for line in (tmp_path / "twice" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 200  # one log, appended, no duplicates


def test_resume_refuses_to_change_the_mix(invoke, tmp_path):
    invoke("train", *TINY, "--steps", "5", "--out", tmp_path / "r", "-q")
    result = invoke("train", "--resume", tmp_path / "r", "-l", "bce", "--steps", "10", expect=1)
    assert "cannot change --loss when resuming" in result.stderr
    result = invoke("train", "--resume", tmp_path / "r", expect=1)
    assert "already trained 5 of 5 steps" in result.stderr
    result = invoke("train", *TINY, "--steps", "5", "--out", tmp_path / "r", expect=1)
    assert "already holds a run" in result.stderr


def test_set_and_config_precedence(registry, invoke, tmp_path):
    config = tmp_path / "mix.toml"
    config.write_text(
        'steps = 7\nbatch_size = 16\nlr_g = 0.001\n\n[generator]\nname = "mlp"\nhidden = [16, 16]\nslope = 0.1\n'
        '\n[loss]\nname = "bce"\nreal_label = 0.8\n'
    )
    cfg = resolve_config(registry, {"steps": 3}, config, ["generator.hidden=8", "loss.real_label=0.9"])
    assert cfg.steps == 3 and cfg.batch_size == 16 and cfg.lr_g == 0.001  # flag > file > default
    assert cfg.generator.params["hidden"] == [8] and cfg.generator.params["slope"] == 0.1  # --set > file
    assert cfg.loss.name == "bce" and cfg.loss.params["real_label"] == 0.9
    cfg = resolve_config(registry, {"loss": "nonsaturating"}, config)  # another loss: the file's params stay behind
    assert cfg.loss.params["real_label"] == 1.0
    invoke("train", "--config", config, "--steps", "2", "--set", "dataset.n=64", "--out", tmp_path / "run", "-q")
    written = (tmp_path / "run" / "config.toml").read_text()
    assert "steps = 2" in written and "hidden = [16, 16]" in written and "real_label = 0.8" in written


def test_dataset_suggestions_sit_below_user_settings(registry, tmp_path):
    cfg = resolve_config(registry, {"dataset": "mnist"})
    assert cfg.latent_dim == 100  # MNIST's suggested setting
    assert resolve_config(registry, {"dataset": "mnist", "latent_dim": 12}).latent_dim == 12


def test_a_dataset_may_tune_the_models_parameters_but_not_choose_them(registry, plugin, tmp_path):
    """The built-in curves keep the mlp generator's LeakyReLU, which other points trade for a ReLU; a dataset's model
    parameters go to the model chosen beneath it, never to one chosen above, and a dataset never names a model."""
    from ganzoo import DatasetSpec, DefaultsSpec, GeneratorSpec, hookimpl
    from ganzoo.errors import PluginError

    def slope(**kw):
        return resolve_config(registry, kw).generator.params["slope"]

    (tmp_path / "ring.csv").write_text("x,y\n0,2\n2,0\n0,-2\n-2,0\n")
    assert slope() == slope(dataset="sine") == 0.2  # the curves' suggestion, over the mlp's ReLU for points
    assert slope(dataset={"name": "points-file", "path": str(tmp_path / "ring.csv")}) == 0.0
    assert slope(generator={"name": "mlp", "slope": 0.1}) == 0.1  # the user's own value wins
    parabola, mlp = registry.get("dataset", "parabola"), registry.get("generator", "mlp")

    class Plugins:
        @hookimpl
        def ganzoo_datasets(self):
            yield DatasetSpec(name="picky", factory=parabola.factory, shape=parabola.shape, params=parabola.params,
                              description="names a generator (tests)", suggested={"generator": {"name": "mlp"}})

        @hookimpl
        def ganzoo_generators(self):
            yield GeneratorSpec(name="mlp-copy", factory=mlp.factory, params=mlp.params,
                                data_defaults=mlp.data_defaults, description="the mlp generator again (tests)")

    plugin(Plugins(), name="suggest-plugin")
    assert slope(generator="mlp-copy") == 0.0  # chosen above the parabola's layer: its own defaults for points
    assert slope(generator="mlp") == 0.2  # the same model named again keeps the dataset's tuning

    class NoSlope:  # defaults for points that choose a generator without a slope: the parabola's tuning drops out
        @hookimpl
        def ganzoo_generators(self):
            yield GeneratorSpec(name="no-slope", factory=mlp.factory, description="no slope (tests)",
                                params=tuple(p for p in mlp.params if p.name != "slope"))

        @hookimpl
        def ganzoo_defaults(self):
            yield DefaultsSpec(name="no-slope-points", description="tests", settings=lambda data: (
                {"generator": "no-slope"} if data.kind == "points" else None))

    plugin(NoSlope(), name="no-slope-plugin")
    chosen = resolve_config(registry, {}).generator
    assert chosen.name == "no-slope" and "slope" not in chosen.params
    with pytest.raises(PluginError, match="dataset 'picky' suggests 'generator': a component may suggest training "
                                          "options and .* only; a dataset may also suggest parameters of the "
                                          "generator and discriminator, without naming one"):
        resolve_config(registry, {"dataset": "picky"})


def _curve_error(run: Path) -> float:
    xy = ganzoo.sample(run, 2000, seed=1)
    inside = xy[:, 0].abs() <= 3
    return (xy[inside, 1] - (xy[inside, 0] ** 2 + 1)).abs().mean().item()


@pytest.mark.slow
def test_a_short_parabola_run_learns_the_curve(invoke, tmp_path):
    # measured on the default mix (seeds 0-5): untrained 2.74; after 1,000 steps 0.24-0.36 (800: 0.29-0.42)
    invoke("train", "--steps", "1", "--out", tmp_path / "untrained", "-q")
    invoke("train", "--steps", "1000", "--out", tmp_path / "trained", "-q")
    before, after = _curve_error(tmp_path / "untrained"), _curve_error(tmp_path / "trained")
    assert after < 0.25 * before and after < 0.6, (before, after)


def test_sample_command_writes_the_promised_shapes(invoke, tmp_path, tiny_mnist):
    invoke("train", *TINY, "--steps", "5", "--out", tmp_path / "points", "-q")
    invoke("sample", tmp_path / "points", "-n", "300", "-o", tmp_path / "p.pt")
    points = torch.load(tmp_path / "p.pt")
    assert points.shape == (300, 2) and points.dtype == torch.float32
    invoke("sample", tmp_path / "points", "-n", "300", "-o", tmp_path / "p.png")
    Image.open(tmp_path / "p.png").verify()
    invoke("sample", tmp_path / "points", "-n", "300", "-o", tmp_path / "same.pt")
    invoke("sample", tmp_path / "points", "-n", "300", "--seed", "3", "-o", tmp_path / "other.pt")
    assert torch.equal(points, torch.load(tmp_path / "same.pt"))
    assert not torch.equal(points, torch.load(tmp_path / "other.pt"))

    invoke("train", "--dataset", "mnist", "--set", f"dataset.root={tiny_mnist}", "--set", "dataset.download=false",
           "--set", "generator.hidden=16", "--ema", "0.9", "--steps", "3", "--batch-size", "8",
           "--out", tmp_path / "images", "-q")
    result = invoke("sample", tmp_path / "images", "-n", "10", "-o", tmp_path / "i.pt")
    assert "shape (1, 28, 28)" in result.stdout
    images = torch.load(tmp_path / "i.pt")
    assert images.shape == (10, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    invoke("sample", tmp_path / "images", "-n", "10", "-o", tmp_path / "grid.png")
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (4 * 30 + 2, 3 * 30 + 2)  # ceil(sqrt(10)) = 4 columns, 2-pixel padding
    result = invoke("sample", tmp_path / "images", "-n", "10", "-o", tmp_path / "x.jpg", expect=1)
    assert ".png" in result.stderr and ".pt" in result.stderr


def test_more_discriminator_and_generator_steps(tmp_path):
    result = ganzoo.train(steps=4, d_steps=3, g_steps=2, batch_size=16, set=["dataset.n=64"], out=tmp_path / "r")
    assert result.step == 4 and math.isfinite(result.final["d_loss"])
    assert _weights(tmp_path / "r")["opt_d"]["state"][0]["step"].item() == 12  # 3 D updates per step
    assert _weights(tmp_path / "r")["opt_g"]["state"][0]["step"].item() == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_device_cuda_without_cuda_is_one_line(invoke, tmp_path):
    result = invoke("train", "--device", "cuda", "--out", tmp_path / "r", expect=1)
    assert result.stderr.count("\n") == 1 and "CUDA is not available" in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_with_amp_and_ema(tmp_path):
    result = ganzoo.train(steps=50, amp=True, ema=0.99, device="cuda", set=["dataset.n=512"], out=tmp_path / "r")
    assert result.device.startswith("cuda") and math.isfinite(result.final["g_loss"])
    assert ganzoo.sample(tmp_path / "r", 16, device="cuda").shape == (16, 2)


def test_device_auto_says_what_it_picked(invoke, tmp_path):
    result = invoke("train", *TINY, "--steps", "2", "--out", tmp_path / "r")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert f"on {expected}" in result.stdout


def test_components_adapt_their_defaults_to_the_data(registry):
    points = resolve_config(registry, {})
    assert points.generator.params["hidden"] == [128, 128, 128] and points.generator.params["batchnorm"] is False
    assert points.discriminator.params["hidden"] == [256, 256]
    images = resolve_config(registry, {"dataset": "mnist"})
    assert images.generator.params["hidden"] == [256, 512, 1024] and images.generator.params["batchnorm"] is True
    chosen = resolve_config(registry, {}, sets=["generator.hidden=64"])
    assert chosen.generator.params["hidden"] == [64] and chosen.generator.params["batchnorm"] is False
