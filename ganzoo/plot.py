"""Small PNG plots (scatter and lines) drawn with Pillow, which torchvision already brings.

Enough for sample scatter plots and loss curves without adding a plotting library to every install.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]


@dataclass
class _Series:
    x: list[float]
    y: list[float]
    color: str
    label: str
    style: str  # "points" | "line"
    size: float


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class Figure:
    """Collect series, then :meth:`save` draws axes, ticks, legend and data scaled to fit."""

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "",
                 size: tuple[int, int] = (720, 540)) -> None:
        self.title, self.xlabel, self.ylabel, self.size = title, xlabel, ylabel, size
        self.series: list[_Series] = []

    def scatter(self, x: Sequence[float], y: Sequence[float], label: str = "", color: str | None = None,
                size: float = 1.5) -> Figure:
        self._add(x, y, label, color, "points", size)
        return self

    def line(self, x: Sequence[float], y: Sequence[float], label: str = "", color: str | None = None,
             width: float = 2) -> Figure:
        self._add(x, y, label, color, "line", width)
        return self

    def _add(self, x, y, label, color, style, size) -> None:
        pairs = [(float(a), float(b)) for a, b in zip(x, y) if math.isfinite(float(a)) and math.isfinite(float(b))]
        xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
        color = color or COLORS[len(self.series) % len(COLORS)]
        self.series.append(_Series(xs, ys, color, label, style, size))

    def save(self, target: Path | str | BinaryIO) -> None:
        """Write the plot as a PNG to a path or a binary file."""
        # Level 1 compresses these flat plots nearly as well as the default level 6, in a fraction of the time.
        self.render().save(target, format="PNG", compress_level=1)

    def render(self) -> Image.Image:
        """The plot as an RGB picture."""
        width, height = self.size
        image = Image.new("RGB", self.size, "white")
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default()
        left, right, top, bottom = 70, width - 20, 40, height - 55
        xs = [v for s in self.series for v in s.x] or [0.0, 1.0]
        ys = [v for s in self.series for v in s.y] or [0.0, 1.0]
        x0, x1 = _padded(min(xs), max(xs))
        y0, y1 = _padded(min(ys), max(ys))

        def px(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * (right - left)

        def py(y: float) -> float:
            return bottom - (y - y0) / (y1 - y0) * (bottom - top)

        for t in nice_ticks(x0, x1):
            draw.line([(px(t), top), (px(t), bottom)], fill="#eeeeee")
            draw.text((px(t), bottom + 6), _fmt(t), fill="black", font=font, anchor="mt")
        for t in nice_ticks(y0, y1):
            draw.line([(left, py(t)), (right, py(t))], fill="#eeeeee")
            draw.text((left - 6, py(t)), _fmt(t), fill="black", font=font, anchor="rm")
        draw.rectangle([left, top, right, bottom], outline="black")
        for s in self.series:
            if s.style == "line" and len(s.x) > 1:
                draw.line([(px(a), py(b)) for a, b in zip(s.x, s.y)], fill=s.color, width=int(s.size))
            elif s.x:
                image = _stamp(image, [px(a) for a in s.x], [py(b) for b in s.y], s.size, s.color)
                draw = ImageDraw.Draw(image)
        draw.text((width / 2, 14), self.title, fill="black", font=font, anchor="mt")
        draw.text(((left + right) / 2, height - 18), self.xlabel, fill="black", font=font, anchor="mt")
        draw.text((8, top - 22), self.ylabel, fill="black", font=font)
        labelled = [s for s in self.series if s.label]
        for i, s in enumerate(labelled):
            y = top + 10 + 16 * i
            draw.rectangle([left + 10, y - 4, left + 20, y + 4], fill=s.color)
            draw.text((left + 26, y), s.label, fill="black", font=font, anchor="lm")
        return image


def _stamp(image: Image.Image, xs: list[float], ys: list[float], radius: float, color: str) -> Image.Image:
    """Draw every point as a small disc with one array write per disc pixel offset, not one call per point:
    a sample plot holds thousands of points and is drawn many times per run."""
    pixels = np.array(image)
    height, width = pixels.shape[:2]
    cx, cy = np.rint(np.asarray(xs)).astype(np.int64), np.rint(np.asarray(ys)).astype(np.int64)
    reach = max(int(radius), 0)
    rgb = ImageColor.getrgb(color)[:3]
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if dx * dx + dy * dy > radius * radius:
                continue
            x, y = cx + dx, cy + dy
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            pixels[y[inside], x[inside]] = rgb
    return Image.fromarray(pixels)


def _padded(low: float, high: float) -> tuple[float, float]:
    if high - low < 1e-12:
        return low - 1, high + 1
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value != 0 else "0"
