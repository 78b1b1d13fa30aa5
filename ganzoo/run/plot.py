"""Figures, drawn with matplotlib (the Agg backend, no display needed): sample scatter plots, loss curves, and the
comparison of several runs, and a conditional run's image grid with its class labels (plain grids are torchvision's,
in ``samples.py``).

Every figure is a ``matplotlib.figure.Figure`` of its own, never pyplot's global state, so drawing from the training
loop, a notebook or a thread does not interfere with anything else. The palette is Okabe and Ito's, which reads the
same for the common colour-vision deficiencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

#: Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
REAL, GENERATED, CURVE = "#56B4E9", "#D55E00", "#000000"
DPI = 100


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # imported on first use: a run that draws nothing never pays for it

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _plain_ticks(ax) -> None:
    """Tick labels as plain numbers (``2000``, not ``2e+03`` or an offset)."""
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def scatter_png(f: BinaryIO, generated: np.ndarray, real: np.ndarray | None = None,
                curve: tuple[np.ndarray, np.ndarray] | None = None, title: str = "",
                classes: tuple[np.ndarray, str] | None = None) -> None:
    """:func:`scatter_figure` as a PNG."""
    scatter_figure(generated, real, curve, title, classes).savefig(f, format="png")


def scatter_figure(generated: np.ndarray, real: np.ndarray | None = None,
                   curve: tuple[np.ndarray, np.ndarray] | None = None, title: str = "",
                   classes: tuple[np.ndarray, str] | None = None):
    """Generated points (N, 2) over the real ones, which stay visible beneath them, and the true curve; points of
    more dimensions show their first two, and 1-D points their histograms. ``classes`` (each point's label and the
    word for it) colours a conditional G's points by class, with a legend."""
    fig = _figure(7.2, 5.4)
    ax = fig.add_subplot()
    groups = [("generated", GENERATED, np.ones(len(generated), dtype=bool))]
    if classes is not None:
        labels, word = classes
        groups = [(f"{word} {c}", PALETTE[i % len(PALETTE)], labels == c) for i, c in enumerate(np.unique(labels))]
    under = REAL if classes is None else "#BBBBBB"  # beneath class colours, the real points stay neutral
    if generated.shape[1] == 1:
        bins = np.histogram_bin_edges(np.concatenate([generated[:, 0], *([real[:, 0]] if real is not None else [])]),
                                      bins=50)
        if real is not None:
            ax.hist(real[:, 0], bins=bins, density=True, color=under, alpha=0.6, label="real")
        for label, color, mask in groups:
            ax.hist(generated[mask, 0], bins=bins, density=True, histtype="step", color=color, linewidth=1.5,
                    label=label)
        ax.set(title=title, xlabel="x", ylabel="density")
        _plain_ticks(ax)
        ax.legend(loc="best", framealpha=0.9, fontsize="small" if len(groups) > 6 else None)
        return fig
    if real is not None and len(real):
        ax.scatter(real[:, 0], real[:, 1], s=22, color=under, alpha=0.6, linewidths=0, label="real", zorder=1)
    for label, color, mask in groups:
        ax.scatter(generated[mask, 0], generated[mask, 1], s=4, color=color, alpha=0.7, linewidths=0, label=label,
                   zorder=2)
    if curve is not None:
        ax.plot(*curve, color=CURVE, linewidth=0.9, linestyle=(0, (4, 3)), label="true curve", zorder=3)
    ax.set(title=title, xlabel="x", ylabel="y")
    _plain_ticks(ax)
    ax.legend(loc="best", markerscale=2, framealpha=0.9, fontsize="small" if len(groups) > 6 else None,
              ncols=2 if len(groups) > 10 else 1)
    return fig


#: Pictures in a labelled grid are enlarged by a whole factor to at least this many pixels a side, so that the
#: labels beside them are not taller than the pictures.
GRID_CELL = 56


def grid_figure(grid: np.ndarray, cell: int, row_labels: Sequence[tuple[str, float, float]] = (),
                cell_labels: Sequence[tuple[str, float, float]] = (), caption: str = ""):
    """An image grid (H, W, 3 in [0, 1]; pictures of ``cell`` pixels) drawn pixel for pixel, enlarged for small
    pictures, with ``row_labels`` (text, top, bottom) written on the left beside blocks of rows (a line between
    blocks of several rows), or ``cell_labels`` (text, x, y) in the pictures' corners; positions in grid pixels."""
    from matplotlib.figure import Figure

    scale = max(1, -(-GRID_CELL // cell))
    height, width = grid.shape[0] * scale / DPI, grid.shape[1] * scale / DPI
    left = 0.9 if row_labels else 0.0
    bottom = 0.3 if caption else 0.0
    fig = Figure(figsize=(width + left, height + bottom), dpi=DPI)
    ax = fig.add_axes((left / (width + left), bottom / (height + bottom), width / (width + left),
                       height / (height + bottom)))
    ax.imshow(grid.clip(0, 1), interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    tall = any(bottom - top > cell * 1.5 for _, top, bottom in row_labels)
    for i, (text, top, bottom) in enumerate(row_labels):
        ax.text(-6 / scale, (top + bottom) / 2, text, ha="right", va="center", fontsize=10, clip_on=False)
        if tall and i:
            ax.axhline(top, color=CURVE, linewidth=1.5)
    for text, x, y in cell_labels:
        ax.text(x, y, text, ha="left", va="top", fontsize=7, bbox={"facecolor": "white", "alpha": 0.75, "pad": 1,
                                                                   "linewidth": 0})
    if caption:
        fig.text(0.5, 0.05 / (height + bottom), caption, ha="center", va="bottom", fontsize=9)
    return fig


def running_mean(values: Sequence[float], window: int) -> np.ndarray:
    """The mean of the last ``window`` values at each point (fewer at the start)."""
    x = np.asarray(values, dtype=float)
    if window <= 1 or len(x) == 0:
        return x
    sums = np.cumsum(np.insert(x, 0, 0.0))
    ends = np.arange(1, len(x) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _loss_axes(ax, series: Sequence[tuple[str, Sequence[int], Sequence[float], Sequence[float]]]) -> None:
    """For each run: the raw D and G losses, faint, under their running mean (one colour per curve)."""
    colors = iter(PALETTE * 4)
    for name, steps, d_loss, g_loss in series:
        window = max(1, len(steps) // 25)
        for which, values in (("D", d_loss), ("G", g_loss)):
            color = next(colors)
            label = f"{name}: {which}" if name else f"{which} loss"
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, running_mean(values, window), color=color, linewidth=1.8,
                    label=f"{label} (mean of {window})" if window > 1 else label)
    ax.set(xlabel="step", ylabel="loss")
    _plain_ticks(ax)
    if series:
        ax.legend(loc="best", framealpha=0.9)


def loss_png(f: BinaryIO, steps: Sequence[int], d_loss: Sequence[float], g_loss: Sequence[float],
             title: str = "") -> None:
    """D and G losses over a run: the raw logged values and their running mean."""
    fig = _figure(7.2, 4.8)
    ax = fig.add_subplot()
    _loss_axes(ax, [("", steps, d_loss, g_loss)])
    ax.set_title(title)
    fig.savefig(f, format="png")


#: Each run's sample picture in ``compare`` is shown at least this wide (inches), at most at its own size, with at
#: most this many side by side: a picture shrunk further would make its titles and legends unreadable.
PANEL_MIN, PANEL_MAX, PANEL_COLUMNS = 3.6, 7.2, 3
#: Inches around each picture for its two-line caption and the layout's padding, and the loss curves' height.
CAPTION, MARGIN, LOSSES = 0.8, 0.25, 4.2


def comparison_figure(panels: Sequence[tuple[str, np.ndarray | None]],
                      series: Sequence[tuple[str, Sequence[int], Sequence[float], Sequence[float]]]):
    """Each run's latest sample picture (captioned), in rows of at most three, and below them all their loss curves.

    Panels are as large as the largest picture's own pixels (between 3.6 and 7.2 inches wide), so a scatter plot's
    title and legend stay readable; the figure grows with the number of runs instead of shrinking them."""
    import math

    shapes = [image.shape[:2] for _, image in panels if image is not None]
    width = min(max([PANEL_MIN, *(w / DPI for _, w in shapes)]), PANEL_MAX)
    aspect = max([h / w for h, w in shapes], default=0.75)
    height = width * aspect + CAPTION
    columns = max(min(len(panels), PANEL_COLUMNS), 1)
    rows = max(math.ceil(len(panels) / columns), 1)
    fig = _figure(max((width + MARGIN) * columns, 7.2), height * rows + LOSSES)
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[height] * rows + [LOSSES])
    for i, (caption, image) in enumerate(panels):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        ax.set_axis_off()
        ax.set_title(caption, fontsize=11)
        if image is not None:
            ax.imshow(image, interpolation="antialiased")
    _loss_axes(fig.add_subplot(grid[rows, :]), series)
    return fig


def comparison_png(f: BinaryIO, panels: Sequence[tuple[str, np.ndarray | None]],
                   series: Sequence[tuple[str, Sequence[int], Sequence[float], Sequence[float]]]) -> None:
    """:func:`comparison_figure` as a PNG."""
    comparison_figure(panels, series).savefig(f, format="png")
