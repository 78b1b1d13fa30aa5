"""Drawing samples from a generator and writing them out: image grids, point scatter plots, tensors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from ..data.contract import Data, DataSpec
from .checkpoint import atomic_write
from .plot import scatter_png


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 4096) -> torch.Tensor:
    """G(z) (or G(z, labels) for a conditional G) in eval mode (BatchNorm uses its running statistics), as float32
    on the CPU; G's mode is restored."""
    was_training = generator.training
    generator.eval()
    try:
        if labels is None:
            chunks = [generator(part).float().cpu() for part in z.split(batch_size)]
        else:
            labels = labels.to(z.device)
            chunks = [generator(part, y).float().cpu() for part, y in zip(z.split(batch_size),
                                                                          labels.split(batch_size))]
    finally:
        generator.train(was_training)
    return torch.cat(chunks)


def noise(n: int, latent_dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Latent vectors from their own RNG, so drawing samples never disturbs training's random stream."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=gen).to(device)


def to_data_coords(samples: torch.Tensor, spec: DataSpec, data: Data | None) -> torch.Tensor:
    """Model space -> data coordinates: images as pixels in [0, 1], points through the dataset's mapping."""
    if spec.kind == "image":
        return ((samples + 1) / 2).clamp(0, 1)
    if data is None:
        raise ValueError("point samples need their dataset to map back to data coordinates")
    return data.to_data(samples)


def save_png(path: Path | str, samples: torch.Tensor, spec: DataSpec, data: Data | None = None,
             title: str = "", columns: int | None = None) -> None:
    """Images: a grid, square unless ``columns`` says how many per row (a conditional run: one row per class).
    Points: generated vs real samples, with the true curve when the dataset knows it.

    Written atomically, like checkpoints, so a reader (TensorBoard, ``compare``) never sees half a PNG, even after a
    ``kill -9`` mid-write."""
    atomic_write(Path(path), lambda f: _draw(f, samples, spec, data, title, columns))


def _draw(f: BinaryIO, samples: torch.Tensor, spec: DataSpec, data: Data | None, title: str,
          columns: int | None) -> None:
    coords = to_data_coords(samples, spec, data)
    if spec.kind == "image":
        from torchvision.utils import save_image

        nrow = columns or max(1, math.ceil(math.sqrt(len(coords))))
        save_image(coords, f, format="PNG", nrow=nrow, padding=2, pad_value=1.0)
        return
    real = curve = None
    if data is not None:
        real = data.to_data(data.take(slice(0, max(len(coords), 1000))).cpu()).numpy()
        if data.curve is not None and data.x_range is not None:
            xs = torch.linspace(*data.x_range, 200)
            curve = (xs.numpy(), data.curve(xs).numpy())
    scatter_png(f, coords.numpy(), real, curve, title)
