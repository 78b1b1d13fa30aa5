"""The data contract: what a dataset factory returns and what generators and discriminators are built for.

A dataset is held as one tensor so the trainer can move it to the device once and draw batches by index. Images
stay ``uint8`` there (a quarter of float32's memory) and become floats one batch at a time (:func:`to_model_space`);
a tensor backed by a memory-mapped file (:func:`memory_mapped`) lets a dataset larger than memory train by
streaming batches from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

Kind = Literal["image", "points"]
#: uint8 pixels p map to the model space as p * PIXEL_SCALE - 1, i.e. 0 -> -1 and 255 -> 1.
PIXEL_SCALE = 2 / 255


def to_model_space(stored: torch.Tensor) -> torch.Tensor:
    """Stored samples (a batch, or all of them) as float32 in the space the models train in: ``uint8`` pixels
    become [-1, 1], floats are already there."""
    if stored.dtype == torch.uint8:
        return stored.to(torch.float32).mul_(PIXEL_SCALE).sub_(1)
    return stored.float()


def memory_mapped(path: Path | str) -> torch.Tensor:
    """A ``.npy`` file as a CPU tensor that reads the file on demand instead of loading it: pass it to
    :meth:`Data.images` and a dataset larger than memory trains by streaming batches from it."""
    array = np.load(path, mmap_mode="c")  # copy-on-write: writable for torch, never written back
    return torch.from_numpy(array)


@dataclass(frozen=True)
class DataSpec:
    """The shape of one sample: ``image`` with (C, H, W) or ``points`` with (D,); and for labelled data the number
    of classes (labels are 0 .. classes - 1), which conditional generators and discriminators are built for."""

    kind: Kind
    shape: tuple[int, ...]
    classes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if self.classes is not None and (isinstance(self.classes, bool) or not isinstance(self.classes, int)
                                         or self.classes < 1):
            raise ValueError(f"classes must be a positive number of classes or None, not {self.classes!r}")
        expected = {"image": 3, "points": 1}
        if self.kind not in expected:
            raise ValueError(f"data kind must be 'image' or 'points', not {self.kind!r}")
        if len(self.shape) != expected[self.kind] or any(int(s) <= 0 for s in self.shape):
            layout = "(C, H, W)" if self.kind == "image" else "(D,)"
            raise ValueError(f"{self.kind} data needs a shape {layout} of positive sizes, not {self.shape}")

    @property
    def numel(self) -> int:
        """Numbers per sample (what an MLP sees)."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def describe(self) -> str:
        """E.g. ``image (1, 28, 28), 10 classes``."""
        labelled = f", {self.classes} classes" if self.classes else ""
        return f"{self.kind} {tuple(self.shape)}{labelled}"


@dataclass
class Data:
    """A loaded dataset, in the normalised space the models train in.

    Build it with :meth:`images` or :meth:`points`, which also record how to map samples back to data coordinates.
    ``samples`` holds the samples as stored: float32 in the model space, or ``uint8`` pixels; :meth:`take` gives
    any of them as float32 in the model space.
    ``labels`` (int64, shape (N,), values 0 .. classes - 1) make it a labelled dataset: conditional components then
    train on it, and the real batch always comes with its own labels.
    """

    samples: torch.Tensor
    spec: DataSpec
    to_data: Callable[[torch.Tensor], torch.Tensor]
    labels: torch.Tensor | None = None
    #: For point data lying on a curve: y = curve(x), for x in ``x_range`` (data coordinates).
    curve: Callable[[torch.Tensor], torch.Tensor] | None = None
    x_range: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.samples.shape[1:]) != tuple(self.spec.shape):
            raise ValueError(f"samples of shape {tuple(self.samples.shape)} do not match {self.spec.describe()}")
        if len(self.samples) == 0:
            raise ValueError("a dataset needs at least one sample")
        if self.labels is not None:
            labels = self.labels
            if labels.dtype.is_floating_point or labels.dtype == torch.bool or tuple(labels.shape) != (len(self),):
                raise ValueError(f"labels must be integers of shape ({len(self)},), got {labels.dtype} of shape "
                                 f"{tuple(labels.shape)}")
            self.labels = labels = labels.long()
            classes = self.spec.classes or int(labels.max()) + 1
            if int(labels.min()) < 0 or int(labels.max()) >= classes:
                raise ValueError(f"labels must lie in 0 .. {classes - 1}, got {int(labels.min())} .. "
                                 f"{int(labels.max())}")
            if self.spec.classes is None:
                self.spec = dataclasses.replace(self.spec, classes=classes)

    def __len__(self) -> int:
        return len(self.samples)

    def take(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Samples (all, a slice or those at the given indices) as float32 in the model space."""
        return to_model_space(self.samples if index is None else self.samples[index])

    def from_data(self, coords: torch.Tensor) -> torch.Tensor:
        """Samples in data coordinates (pixels in [0, 1], points as the dataset writes them) in the model space:
        the inverse of ``to_data``, for samples made elsewhere."""
        if self.spec.kind == "image":
            return coords.float() * 2 - 1
        inverse = getattr(self.to_data, "inverse", None)
        if inverse is None:
            raise ValueError("this dataset's points have no known mapping from data coordinates")
        return inverse(coords.float())

    @property
    def nbytes(self) -> int:
        """Bytes the stored samples take (what the trainer weighs against its memory budget)."""
        return self.samples.numel() * self.samples.element_size()

    @classmethod
    def images(cls, pixels: torch.Tensor, labels: torch.Tensor | None = None, classes: int | None = None) -> Data:
        """Images of shape (N, C, H, W), trained on in [-1, 1] (tanh range): ``uint8`` in 0-255, kept as they are
        (4x less memory than floats; a contiguous or memory-mapped tensor is not copied), or floats in [0, 1]
        (held as float32). ``classes``: the number of classes the labels come from (default: the largest label
        + 1)."""
        if pixels.dim() != 4:
            raise ValueError(f"images need shape (N, C, H, W), got {tuple(pixels.shape)}")
        if not pixels.is_floating_point() and pixels.dtype != torch.uint8:
            raise ValueError(f"integer pixels must be uint8 (0-255), got {pixels.dtype}; or pass floats in [0, 1]")
        if pixels.dtype == torch.uint8:
            samples = pixels.contiguous()
        else:
            samples = pixels.to(torch.float32, memory_format=torch.contiguous_format, copy=True).mul_(2).sub_(1)
        return cls(samples, DataSpec("image", tuple(samples.shape[1:]), classes), _pixels, labels)

    @classmethod
    def points(
        cls,
        points: torch.Tensor,
        curve: Callable[[torch.Tensor], torch.Tensor] | None = None,
        x_range: tuple[float, float] | None = None,
        labels: torch.Tensor | None = None,
        classes: int | None = None,
    ) -> Data:
        """Points (N, D) in data coordinates; trained on standardised per dimension (zero mean, unit std)."""
        if points.dim() != 2:
            raise ValueError(f"points need shape (N, D), got {tuple(points.shape)}")
        points = points.float()
        mean = points.mean(0)
        std = points.std(0).clamp_min(1e-8) if len(points) > 1 else torch.ones_like(mean)
        samples = ((points - mean) / std).contiguous()
        return cls(samples, DataSpec("points", (points.shape[1],), classes), _Unstandardise(mean, std), labels, curve,
                   x_range)


def _pixels(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2).clamp(0, 1)


class _Unstandardise:
    """Picklable mapping from the standardised training space back to data coordinates."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean, self.std = mean, std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x.device) + self.mean.to(x.device)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.device)) / self.std.to(x.device)
