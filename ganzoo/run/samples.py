"""Drawing samples from a generator and writing them out (image grids, point scatter plots, animated walks,
tensors), and reading a samples file made anywhere back."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

from ..data.contract import Data, DataSpec
from ..errors import ConfigError, first_line
from .checkpoint import atomic_write
from .plot import grid_figure, scatter_png


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


def to_data_coords(samples: torch.Tensor, spec: DataSpec, data: Data | Callable | None) -> torch.Tensor:
    """Model space -> data coordinates: images as pixels in [0, 1], points through the dataset's mapping (``data``
    may be that map alone: an export folder holds no data)."""
    if spec.kind == "image":
        return ((samples + 1) / 2).clamp(0, 1)
    if data is None:
        raise ValueError("point samples need their dataset to map back to data coordinates")
    return data.to_data(samples) if isinstance(data, Data) else data(samples)


def save_png(path: Path | str, samples: torch.Tensor, spec: DataSpec, data: Data | Callable | None = None,
             title: str = "", labels: torch.Tensor | None = None, label_word: str = "class") -> None:
    """Images: a square grid, or for a conditional G (``labels``, class-major) one block of rows per class with its
    label beside it. Points: generated vs real samples, with the true curve when the dataset knows it, and coloured
    by class for a conditional G.

    Written atomically, like checkpoints, so a reader (TensorBoard, ``compare``) never sees half a PNG, even after a
    ``kill -9`` mid-write."""
    atomic_write(Path(path), lambda f: _draw(f, samples, spec, data, title, labels, label_word))


def write_samples(out: Path, raw: torch.Tensor, spec: DataSpec, data: Data | Callable | None, title: str,
                  labels: torch.Tensor | None, label_word: str, frames: int | None = None) -> None:
    """``out`` by its suffix: a picture (``.png``), an animation of walks ``frames`` samples long (``.gif``), or the
    samples in data coordinates as a tensor (``.pt``); each written atomically."""
    suffix = out.suffix.lower()
    if suffix == ".png":
        save_png(out, raw, spec, data, title=title, labels=labels, label_word=label_word)
    elif suffix == ".gif":
        atomic_write(out, lambda f: _animate(f, raw, spec, data, frames, title))
    else:
        coords = to_data_coords(raw, spec, data)
        atomic_write(out, lambda f: torch.save(coords, f))


def _animate(f: BinaryIO, samples: torch.Tensor, spec: DataSpec, data: Data | Callable | None, frames: int,
             title: str) -> None:
    """An animated GIF of walks: the samples come walk after walk, ``frames`` each; frame t shows every walk's
    t-th sample (images side by side in a grid; points over the real ones), and the animation plays forwards then
    back, so that it loops without a jump."""
    import io

    from PIL import Image

    walks = samples.reshape(len(samples) // frames, frames, *samples.shape[1:])
    pictures = []
    for t in range(frames):
        buffer = io.BytesIO()
        _draw(buffer, walks[:, t], spec, data, f"{title}  frame {t + 1}/{frames}", None, "class")
        pictures.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    pictures += pictures[-2:0:-1]
    pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:], duration=120, loop=0)


def _draw(f: BinaryIO, samples: torch.Tensor, spec: DataSpec, data: Data | Callable | None, title: str,
          labels: torch.Tensor | None, label_word: str) -> None:
    coords = to_data_coords(samples, spec, data)
    if spec.kind == "image":
        if labels is not None:
            class_grid_figure(coords, labels, label_word).savefig(f, format="png")
            return
        from torchvision.utils import save_image

        save_image(coords, f, format="PNG", nrow=max(1, math.ceil(math.sqrt(len(coords)))), padding=2,
                   pad_value=1.0)
        return
    real = curve = None
    if isinstance(data, Data):  # not a bare map to data coordinates: real points go beneath
        real = data.to_data(data.take(slice(0, max(len(coords), 1000))).cpu()).numpy()
        if data.curve is not None and data.x_range is not None:
            xs = torch.linspace(*data.x_range, 200)
            curve = (xs.numpy(), data.curve(xs).numpy())
    classes = None if labels is None else (labels.cpu().numpy(), label_word)
    scatter_png(f, coords.numpy(), real, curve, title, classes)


def class_grid_figure(images: torch.Tensor, labels: torch.Tensor, label_word: str = "class"):
    """A conditional run's images (pixels in [0, 1], class-major ``labels``) as a near-square figure: each class a
    block of rows, ``class 3`` written beside it; where that would be more than twice as tall as wide (many classes,
    a few samples each), a square grid with each picture's class in its corner."""
    from torchvision.utils import make_grid

    values, counts = torch.unique_consecutive(labels.cpu(), return_counts=True)
    n = len(images)
    columns = min(int(counts.max()), math.ceil(math.sqrt(n)))
    block_rows = [math.ceil(int(c) / columns) for c in counts]
    (height, width), pad = images.shape[-2:], 2
    if sum(block_rows) <= 2 * columns:  # one block of rows per class, each row filled from the left
        cells, row_labels, row = [], [], 0
        blank = torch.ones_like(images[0])
        for value, count, rows, first in zip(values, counts, block_rows, torch.cumsum(counts, 0) - counts):
            block = list(images[int(first):int(first + count)])
            cells += block + [blank] * (rows * columns - len(block))
            row_labels.append((f"{label_word} {int(value)}", row * (height + pad) + pad / 2,
                               (row + rows) * (height + pad) + pad / 2))
            row += rows
        grid = make_grid(torch.stack(cells), nrow=columns, padding=pad, pad_value=1.0)
        return grid_figure(grid.permute(1, 2, 0).numpy(), max(height, width), row_labels=row_labels)
    columns = math.ceil(math.sqrt(n))
    grid = make_grid(images, nrow=columns, padding=pad, pad_value=1.0)
    corners = [(str(int(y)), (i % columns) * (width + pad) + pad, (i // columns) * (height + pad) + pad)
               for i, y in enumerate(labels)]
    return grid_figure(grid.permute(1, 2, 0).numpy(), max(height, width), cell_labels=corners,
                       caption=f"{label_word} in each corner")


def read_samples(path: Path, data: Data) -> torch.Tensor:
    """A tensor of samples saved anywhere (``torch.save``; images (N, C, H, W) in [0, 1], points (N, D) in data
    coordinates), checked against the dataset and mapped to the model space."""
    try:
        samples = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; give a tensor saved with torch.save") from None
    except Exception as err:  # noqa: BLE001 - corrupt files, pickled code: refused, never run
        raise ConfigError(f"{path} is not a tensor file torch.load can read safely ({first_line(err, 80)})") from None
    spec = data.spec
    layout = "(N, C, H, W) pixels in [0, 1]" if spec.kind == "image" else "(N, D) points in data coordinates"
    if not isinstance(samples, torch.Tensor) or not samples.is_floating_point():
        held = samples.dtype if isinstance(samples, torch.Tensor) else type(samples).__name__
        raise ConfigError(f"{path} holds {held}, not a float tensor of {layout}")
    if tuple(samples.shape[1:]) != tuple(spec.shape) or len(samples) < 2:
        raise ConfigError(f"{path} holds samples of shape {tuple(samples.shape)}; dataset '{data.spec.describe()}' "
                          f"needs {layout} with {tuple(spec.shape)} per sample and at least 2 of them")
    if not torch.isfinite(samples).all():
        raise ConfigError(f"{path} holds NaN or infinite values")
    if spec.kind == "image" and (samples.min() < 0 or samples.max() > 1):
        raise ConfigError(f"{path}: pixels range over {samples.min().item():.3g}..{samples.max().item():.3g}, not "
                          f"[0, 1] (for images in [-1, 1], save (x + 1) / 2)")
    return data.from_data(samples)
