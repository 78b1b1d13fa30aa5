"""Built-in plugin: samplers for ``ganzoo sample --sampler NAME`` — the truncation trick, discriminator rejection
sampling and latent walks.

- ``truncation`` (Brock et al. 2019): noise entries beyond ±ψ are drawn again until none is, trading variety for
  samples nearer the generator's typical output.
- ``rejection`` (Azadi et al. 2019): the run's discriminator, whose logit estimates log p_data/p_G, accepts each
  sample with probability σ(F), F = D − M − log(1 − e^(D − M − ε)) − γ, M the largest logit seen: samples the
  generator puts where the data is not are dropped. It loads D from the checkpoint.
- ``interpolate``: walks between pairs of noise vectors (spherically), ``steps`` samples each; with ``-n`` =
  steps², each row of a PNG grid is one walk, and ``-o walk.gif`` animates every walk at once.
"""

from __future__ import annotations

import math

import torch

from ganzoo import ConfigError, Param, Sampler, SamplerSpec, hookimpl

TRUNCATION = "Brock, Donahue & Simonyan 2019, 'Large Scale GAN Training for High Fidelity Natural Image Synthesis'"
REJECTION = "Azadi, Olsson, Darrell, Goodfellow & Odena 2019, 'Discriminator Rejection Sampling'"


class Truncation(Sampler):
    def __init__(self, psi: float = 0.5) -> None:
        self.psi = psi

    def sample(self, ctx):
        z = ctx.noise(ctx.n)
        for _ in range(10_000):  # ψ ≥ 0.05 keeps 4% of draws: a few hundred rounds at most
            outside = z.abs() > self.psi
            if not outside.any():
                break
            z = torch.where(outside, ctx.noise(ctx.n), z)
        return ctx.generate(z, ctx.labels)


class Rejection(Sampler):
    def __init__(self, gamma: float = 0.0, burn_in: int = 1000, max_draws: int = 50, eps: float = 1e-6) -> None:
        self.gamma, self.burn_in, self.max_draws, self.eps = gamma, burn_in, max_draws, eps

    def _labels(self, ctx, n: int):
        return ctx.labels[torch.randint(len(ctx.labels), (n,))] if ctx.labels is not None else None

    def sample(self, ctx):
        labels = self._labels(ctx, self.burn_in)
        top = ctx.score(ctx.generate(ctx.noise(self.burn_in), labels), labels).max()
        kept, kept_labels, drawn = [], [], 0
        wanted = ctx.labels if ctx.labels is not None else None
        while sum(len(k) for k in kept) < ctx.n:
            if drawn >= self.max_draws * ctx.n:
                raise ConfigError(f"sampler 'rejection' accepted {sum(len(k) for k in kept)} of {drawn} samples, "
                                  f"short of {ctx.n}; lower its gamma (--set sampler.gamma=-1) or raise max_draws")
            labels = self._labels(ctx, ctx.n)
            x = ctx.generate(ctx.noise(ctx.n), labels)
            logits = ctx.score(x, labels)
            top = torch.maximum(top, logits.max())
            d = logits - top
            f = d - torch.log1p(-torch.exp(d - self.eps)) - self.gamma
            accept = torch.rand_like(f) < torch.sigmoid(f)
            kept.append(x[accept])
            kept_labels.append(labels[accept] if labels is not None else None)
            drawn += ctx.n
        samples = torch.cat(kept)
        if wanted is None:
            return samples[:ctx.n]
        found = torch.cat(kept_labels)  # a conditional run: the samples of each wanted label, in order
        order = [int(i) for y in wanted.unique() for i in (found == y).nonzero().flatten()[:int((wanted == y).sum())]]
        if len(order) < ctx.n:
            raise ConfigError("sampler 'rejection' accepted too few samples of some class; raise max_draws")
        return samples[torch.tensor(order)]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of ``a`` and ``b`` at fractions ``t`` (Gaussian noise lives near a
    sphere; a straight line between two vectors passes through its low-density inside)."""
    cos = (torch.nn.functional.normalize(a, dim=-1) * torch.nn.functional.normalize(b, dim=-1)).sum(-1, keepdim=True)
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class Interpolate(Sampler):
    def __init__(self, steps: int = 8) -> None:
        self.steps = self.frames = steps  # frames: ``-o walk.gif`` animates the walks

    def sample(self, ctx):
        walks = math.ceil(ctx.n / self.steps)
        ends = ctx.noise(2 * walks)
        t = torch.linspace(0, 1, self.steps, device=ends.device).repeat(walks)[:, None]
        z = slerp(ends[:walks].repeat_interleave(self.steps, 0), ends[walks:].repeat_interleave(self.steps, 0), t)
        labels = ctx.labels[::self.steps].repeat_interleave(self.steps, 0) if ctx.labels is not None else None
        return ctx.generate(z[:ctx.n], labels[:ctx.n] if labels is not None else None)


@hookimpl
def ganzoo_samplers():
    yield SamplerSpec(name="truncation", factory=Truncation, citation=TRUNCATION,
                      params=(Param("psi", float, 0.5, "noise entries beyond ±psi are drawn again", min=0.05),),
                      description="The truncation trick: noise resampled until every entry lies within ±ψ.")
    yield SamplerSpec(name="rejection", factory=Rejection, citation=REJECTION,
                      params=(Param("gamma", float, 0.0, "shifts the acceptance: higher keeps fewer, better samples"),
                              Param("burn_in", int, 1000, "samples scored first to estimate D's largest logit", min=1),
                              Param("max_draws", int, 50, "give up after this many draws per sample wanted", min=1),
                              Param("eps", float, 1e-6, "keeps the acceptance finite at the largest logit", above=0)),
                      description="Discriminator rejection sampling: the run's D drops samples off the data.")
    yield SamplerSpec(name="interpolate", factory=Interpolate,
                      params=(Param("steps", int, 8, "samples along each walk", min=2),),
                      description="Latent walks: spherical interpolation between pairs of noise vectors.")
