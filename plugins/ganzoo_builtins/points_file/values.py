"""What a usable value is, for every format alike: a finite number that fits float32, and a label that is a class
index; and the one-line error that names the first value that is not."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ganzoo import DatasetError

#: Labels are class indices: a label of 10^6 would build a model for a million classes, surely a mistake.
MAX_LABEL = 9_999
#: Larger numbers become infinite in float32, which the models train in.
F32_MAX = float(np.finfo(np.float32).max)
FIX = "fix or remove that row"


def error(path: str | None, message: str, kind: type[Exception] = DatasetError) -> Exception:
    """An error naming the file (the registry puts the dataset's name in front)."""
    return kind(f"{path}: {message}" if path else message)


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def cell(text: str, where: str, path: str, label: bool, fix: str = FIX) -> None:
    """Raise the error a user can act on for one value, if it is unusable."""
    value = number(text)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    if label and (value is None or not value.is_integer() or not 0 <= value <= MAX_LABEL):
        raise error(path, f"{where}: label {shown} is not a class index; labels must be integers 0..{MAX_LABEL}")
    if value is None:
        raise error(path, f"{where}: {shown + ' is not a number' if text else 'an empty value'}; {fix}")
    if not math.isfinite(value) or abs(value) > F32_MAX:
        why = "is too large for float32" if math.isfinite(value) else "is not a finite number"
        raise error(path, f"{where}: {shown} {why}; {fix}")


def first_bad(values: np.ndarray, labelled: bool) -> tuple[int, int] | None:
    """(row, column) of the first value that is not finite (or, in the last column of labelled data, no label)."""
    ok = np.isfinite(values) & (np.abs(values) <= F32_MAX)
    if labelled:
        labels = values[:, -1]
        ok[:, -1] = (labels == np.floor(labels)) & (labels >= 0) & (labels <= MAX_LABEL)
    bad = np.argwhere(~ok)
    return (int(bad[0, 0]), int(bad[0, 1])) if len(bad) else None


def check(values: np.ndarray, labelled: bool, place: Callable[[int, int], str], path: str,
           text: Callable[[int, int], str] | None = None) -> np.ndarray:
    """The values, once sure that none is unusable; ``text(row, col)`` is a value as written, for the message."""
    bad = first_bad(values, labelled)
    if bad is not None:
        row, col = bad
        written = text(row, col) if text else f"{values[row, col]:g}"
        cell(written, place(row, col), path, labelled and col == values.shape[1] - 1)
    return values
