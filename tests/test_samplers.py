"""Sampler plugins (issue 25): truncation draws nearer the generator's typical output, discriminator rejection
sampling drops samples off the data, latent walks join their ends; ``--z`` gives the noise; a sampler's mistakes
are one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

import ganzoo
from ganzoo import SampleContext
from helpers.components import build

POINTS = ganzoo.DataSpec("points", (2,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("samplers") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_LOAD_PLUGINS", "")
        ganzoo.train(steps=150, batch_size=32, sample_every=0, set=["dataset.n=256"], out=run)
    return run


def _spread(x: torch.Tensor) -> float:
    return (x - x.mean(0)).norm(dim=1).mean().item()


def test_truncation_draws_nearer_the_typical_sample(trained):
    plain = ganzoo.sample(trained, 2000, seed=1)
    truncated = ganzoo.sample(trained, 2000, seed=1, sampler="truncation", set=["sampler.psi=0.3"])
    assert truncated.shape == plain.shape
    assert _spread(truncated) < 0.8 * _spread(plain)  # measured about 0.3-0.5x


class _Mixture(torch.nn.Module):
    """G puts the sample at the data's mode (0, 0) unless z₀ > 1, then far off at (10, 10): 16% off the data."""

    def forward(self, z):
        off = (z[:, :1] > 1).float()
        return 0.1 * z[:, 1:3] + 10 * off


def test_rejection_sampling_drops_samples_the_discriminator_puts_off_the_data(registry):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    ctx = SampleContext(n=2000, generator=_Mixture(), labels=None, spec=POINTS, device=torch.device("cpu"),
                        conditional=False, noise_source=lambda n: torch.randn(n, 4, generator=generator),
                        scorer=lambda x, labels: -x.square().sum(1))  # a logit of log p_data/p_G: high at the mode
    precision = lambda x: (x.norm(dim=1) < 1).float().mean().item()  # noqa: E731
    plain = ctx.generate(ctx.noise(2000))
    kept = build(registry, "sampler", "rejection").sample(ctx)
    assert kept.shape == (2000, 2)
    assert precision(plain) < 0.9 and precision(kept) > 0.99  # measured 0.84 -> 1.00


def test_interpolate_walks_from_one_noise_vector_to_another(registry):
    rows = torch.randn(8, 3)
    used = []

    def source(n):
        used.append(n)
        return rows[:n]

    linear = torch.nn.Linear(3, 2)
    ctx = SampleContext(n=16, generator=linear, labels=None, spec=POINTS, device=torch.device("cpu"),
                        conditional=False, noise_source=source)
    walks = build(registry, "sampler", "interpolate", steps=4).sample(ctx)
    with torch.no_grad():
        assert used == [8] and torch.allclose(walks[0], linear(rows[0]), atol=1e-5)  # walk 1 starts at a₀
        assert torch.allclose(walks[3], linear(rows[4]), atol=1e-5)  # and ends at b₀
        assert torch.allclose(walks[12], linear(rows[3]), atol=1e-5)  # walk 4 starts at a₃


def test_given_noise_gives_the_same_samples_and_mistakes_are_one_line(trained, invoke, tmp_path):
    torch.save(torch.randn(10, 64), tmp_path / "z.pt")
    for name in ("a", "b"):
        invoke("sample", trained, "-n", "10", "--z", tmp_path / "z.pt", "--seed", name == "a" and "1" or "2",
               "-o", tmp_path / f"{name}.pt")
    assert torch.equal(torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt"))  # the noise, not the seed
    invoke("sample", trained, "-n", "64", "--sampler", "rejection", "-o", tmp_path / "r.pt")  # loads the run's D
    assert torch.load(tmp_path / "r.pt").shape == (64, 2)
    for args, line in (
        (["-n", "11", "--z", tmp_path / "z.pt"], "--z holds 10 noise vectors, and sampling asked for 11"),
        (["--sampler", "truncation", "--set", "sampler.psi=0.01"], "'psi' must be >= 0.05, got 0.01"),
        (["--sampler", "truncaton"], "unknown sampler 'truncaton'; did you mean 'truncation'?"),
        (["--set", "sampler.psi=0.5"], "--set applies to a sampler: name one with --sampler"),
    ):
        result = invoke("sample", trained, *args, "-o", tmp_path / "x.pt", expect=None)
        assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
        assert line in result.stderr, result.stderr


def _frames(path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        return [np.asarray(frame.convert("RGB"), dtype=np.float32) for frame in ImageSequence.Iterator(gif)]


def test_interpolate_writes_an_animated_gif_of_its_walks(trained, invoke, tmp_path, tiny_mnist):
    invoke("train", "--dataset", "mnist", "--set", f"dataset.root={tiny_mnist}", "--set", "dataset.download=false",
           "--set", "generator.hidden=16", "--steps", "3", "--batch-size", "8", "--out", tmp_path / "images", "-q")
    invoke("sample", tmp_path / "images", "-n", "12", "--sampler", "interpolate", "--set", "sampler.steps=6",
           "-o", tmp_path / "walk.gif")
    frames = _frames(tmp_path / "walk.gif")
    assert len(frames) == 6 + 4  # forwards, then back without repeating the ends: a loop without a jump
    step = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    assert min(step[:5]) > 0  # every frame moves along the walks
    assert np.abs(frames[1] - frames[-1]).max() == 0  # the way back retraces the way out
    # the same walks as a tensor: a walk's two ends are different samples
    invoke("sample", tmp_path / "images", "-n", "12", "--sampler", "interpolate", "--set", "sampler.steps=6",
           "-o", tmp_path / "walk.pt")
    walks = torch.load(tmp_path / "walk.pt")
    assert walks.shape == (12, 1, 28, 28) and (walks[0] - walks[5]).abs().max() > 0
    invoke("sample", trained, "-n", "16", "--sampler", "interpolate", "--set", "sampler.steps=4",
           "-o", tmp_path / "points.gif")  # points: each frame a scatter over the real ones
    assert len(_frames(tmp_path / "points.gif")) == 4 + 2
    for args, line in (
        (["-n", "10", "--sampler", "interpolate"], "a GIF of walks 8 samples long needs a multiple of 8 samples"),
        (["-n", "8", "--sampler", "truncation"], "sampler 'truncation' draws no walks to animate"),
        (["-n", "8"], "plain sampling draws no walks to animate"),
    ):
        result = invoke("sample", trained, *args, "-o", tmp_path / "x.gif", expect=None)
        assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
        assert line in result.stderr, result.stderr
        assert not (tmp_path / "x.gif").exists()
