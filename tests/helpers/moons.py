"""Two moons (the half circles of scikit-learn's make_moons) and how well samples cover each, for the tests and
benchmarks/quality.py: a generator that learned the data puts about half its samples near each moon."""

from __future__ import annotations

import math
from pathlib import Path

import torch


def two_moons(n: int = 4000, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """(n, 2) points: an upper half circle centred at (0, 0) and a lower one centred at (1, 0.5), radius 1."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=gen) * math.pi
    upper = torch.rand(n, generator=gen) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    return torch.stack([x, y], 1) + noise * torch.randn(n, 2, generator=gen)


def write_csv(path: Path, points: torch.Tensor) -> Path:
    path.write_text("x,y\n" + "".join(f"{x:.5f},{y:.5f}\n" for x, y in points.tolist()))
    return path


def moon_shares(samples: torch.Tensor, within: float = 0.2) -> tuple[float, float, float]:
    """Shares of the samples within ``within`` of the upper moon's arc, of the lower one's, and of neither."""
    t = torch.linspace(0, math.pi, 400)
    arcs = [torch.stack([torch.cos(t), torch.sin(t)], 1), torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)]
    near = [torch.cdist(samples.float(), arc).min(1).values <= within for arc in arcs]
    upper, lower = near[0].float().mean().item(), near[1].float().mean().item()
    return upper, lower, (~(near[0] | near[1])).float().mean().item()
