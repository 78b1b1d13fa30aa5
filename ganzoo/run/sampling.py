"""Sampler plugins: how ``ganzoo sample`` draws from a trained generator beyond plain G(z) — truncated noise,
rejection by the run's discriminator, walks through the latent space.

A sampler sees the run through one :class:`SampleContext`: the generator (its EMA copy when there is one), a noise
source (seeded, or the vectors of ``--z FILE``), the labels of a conditional run, and the run's discriminator,
loaded from the checkpoint only when a sampler asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..data.contract import DataSpec
from ..errors import ConfigError, ParameterError, PluginError, first_line
from ..registry.registry import Registry
from .samples import generate


class Sampler:
    """Base class for samplers: override :meth:`sample`."""

    #: Set by a sampler whose samples are walks, each ``frames`` consecutive samples (``interpolate``): ``ganzoo
    #: sample -o FILE.gif`` then animates them, frame t showing the t-th sample of every walk.
    frames: int | None = None

    def sample(self, ctx: SampleContext) -> torch.Tensor:
        """``ctx.n`` samples in the model's space, shaped ``(n, *ctx.spec.shape)``, for the labels ``ctx.labels``."""
        raise NotImplementedError


class NoiseSource:
    """Latent vectors in order: the rows of a given tensor (``--z FILE``), else seeded Gaussian noise."""

    def __init__(self, latent_dim: int, seed: int, device: torch.device, given: torch.Tensor | None = None) -> None:
        self.latent_dim, self.device, self.given, self.used = latent_dim, device, given, 0
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, n: int) -> torch.Tensor:
        if self.given is None:
            return torch.randn(n, self.latent_dim, generator=self.generator).to(self.device)
        if self.used + n > len(self.given):
            raise ConfigError(f"--z holds {len(self.given)} noise vectors, and sampling asked for "
                              f"{self.used + n}; give more, or ask for fewer samples")
        rows = self.given[self.used:self.used + n]
        self.used += n
        return rows.to(self.device, torch.float32)


def given_noise(z, latent_dim: int) -> torch.Tensor:
    """``--z``: noise vectors (n, latent_dim) as a tensor or a file saved with ``torch.save``."""
    if not isinstance(z, torch.Tensor):
        try:
            z = torch.load(z, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError) as err:
            raise ConfigError(f"--z {z}: {first_line(err)}; give a tensor saved with torch.save") from None
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != latent_dim or not z.is_floating_point():
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ConfigError(f"--z holds {shape}; the run's generator takes noise of shape (N, {latent_dim})")
    return z


@dataclass
class SampleContext:
    """What a sampler sees.

    - ``n``: how many samples to return.
    - ``generator``: the run's generator (its EMA copy when there is one), in eval mode, on ``device``.
    - ``labels``: the label of each of the ``n`` samples (a conditional run), or ``None``.
    - ``spec``: the shape of one sample (``DataSpec``).
    - ``device``: where the generator runs.
    - ``conditional``: whether the generator takes labels, ``G(z, labels)``.
    - ``noise_source``: set by ganzoo: what :meth:`noise` draws from (seeded noise, or ``--z``).
    - ``scorer``: set by ganzoo: how :meth:`score` runs the run's discriminator, loaded on the first call.
    """

    n: int
    generator: nn.Module
    labels: torch.Tensor | None
    spec: DataSpec
    device: torch.device
    conditional: bool
    noise_source: Callable[[int], torch.Tensor] = field(repr=False)
    scorer: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor] | None = field(default=None, repr=False)

    def noise(self, n: int) -> torch.Tensor:
        """The next ``n`` latent vectors."""
        return self.noise_source(n)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) (with ``labels`` for a conditional G) in the model's space, in batches, on ``device``."""
        if self.conditional and labels is None:
            raise ValueError("this generator is conditional: pass the labels of the samples")
        return generate(self.generator, z, labels if self.conditional else None).to(self.device)

    @torch.no_grad()
    def score(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The run's discriminator's logits for ``x`` (with ``labels`` for a conditional D), shape ``(B,)``."""
        if self.scorer is None:
            raise ConfigError("this sampler needs the run's discriminator, which its checkpoint does not hold")
        return self.scorer(x, labels)


def build_sampler(registry: Registry, name: str, sets: Iterable[str], spec: DataSpec) -> Sampler:
    """The sampler ``name`` with its parameters from ``sampler.PARAM=VALUE`` texts, checked like any component's."""
    record = registry.get("sampler", name)
    problem = record.incompatibility(spec)
    if problem is not None:
        raise ConfigError(f"{record.owner}: {problem}")
    given = {}
    for text in sets:
        key, sep, value = text.partition("=")
        kind, dot, param = key.partition(".")
        if not sep or not dot or kind != "sampler":
            raise ConfigError(f"--set {text}: when sampling, --set takes sampler.PARAM=VALUE")
        try:
            given[param] = record.find_param(param).parse(value)
        except ParameterError as err:
            raise ParameterError(f"--set {text}: {record.owner}: {err}") from None
    sampler = record.call("building it", record.factory, **record.resolve(given))
    if not isinstance(sampler, Sampler):
        raise PluginError(f"{record.owner}: factory returned {type(sampler).__name__}, not a ganzoo.Sampler")
    return sampler


def draw(sampler: Sampler, ctx: SampleContext, owner: str) -> torch.Tensor:
    """The sampler's samples, checked: ``(n, *shape)`` finite numbers, or one line naming the sampler."""
    samples = sampler.sample(ctx)
    expected = (ctx.n, *ctx.spec.shape)
    if not isinstance(samples, torch.Tensor) or tuple(samples.shape) != expected:
        got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise PluginError(f"{owner} returned {got} for -n {ctx.n}; expected a tensor of shape {expected}")
    return samples.float()


def gif_frames(out: Path | None, chosen: Sampler | None, name: str | None, n: int) -> int | None:
    """``-o FILE.gif`` animates a walking sampler's walks: it needs one, and whole walks."""
    if out is None or out.suffix.lower() != ".gif":
        return None
    frames = getattr(chosen, "frames", None)
    if not frames:
        which = f"sampler '{name}' draws" if name else "plain sampling draws"
        raise ConfigError(f"-o {out}: {which} no walks to animate; use --sampler interpolate, or write a .png")
    if n % frames:
        raise ConfigError(f"-n {n}: a GIF of walks {frames} samples long needs a multiple of {frames} samples "
                          f"(-n {max(frames, n - n % frames)})")
    return frames
