"""Built-in plugin: points (N, D) read from a file of the user's (CSV, TSV, text, .npy or .pt), optionally labelled.

Text files are checked in one streaming pass and then parsed by numpy's C parser (see ``text.py``); a .npy is
memory-mapped, so only the rows and columns used are ever in memory.
"""

from __future__ import annotations

import difflib
import functools
import pickle
from pathlib import Path

import numpy as np
import torch

from ganzoo import Data, DatasetSpec, DataSpec, Param, ParameterError, first_line, hookimpl, note

from .text import TEXT_SUFFIXES, TextFile, sniff
from .values import check, error

NAME = "points-file"
FORMATS = ".csv, .tsv, .txt, .npy or .pt"
#: Header names that look like class labels; such a column is still data unless label_column names it.
LABEL_LIKE = {"class", "classes", "label", "labels", "y_class", "target", "category"}


def _column(key: str, names: list[str] | None, width: int, what: str) -> int:
    """A column by header name or 0-based index."""
    if names and key in names:
        return names.index(key)
    if key.strip().isdigit():
        if int(key) < width:
            return int(key)
        why = f"column index {key} is out of range; it has {width} columns (0-{width - 1})"
    elif not names:
        why = f"no column {key!r}; it has no header row, so give columns by 0-based index (0-{width - 1})"
    else:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        why = f"no column {key!r}{hint} (its columns: {', '.join(names)})"
    raise error(what, why, ParameterError)


def _choose(shown, names, width, columns, label_column) -> tuple[list[int], int | None]:
    label = None if label_column is None else _column(label_column, names, width, f"{shown}: label_column")
    if columns is None:
        cols = [c for c in range(width) if c != label]
    else:
        cols = [_column(key, names, width, f"{shown}: columns") for key in columns]
        if len(set(cols)) != len(cols) or label in cols:
            raise error(shown, f"columns {','.join(columns)} name a column twice (or the label column)",
                         ParameterError)
    if not cols:
        raise error(shown, "no column is left for the points beside the label column", ParameterError)
    return cols, label


def _array(values, path: str, what: str) -> np.ndarray:
    """A tensor or array of real numbers as float64; anything else is refused."""
    if isinstance(values, torch.Tensor) and not (values.is_complex() or values.dtype == torch.bool):
        values = values.detach().cpu().double().numpy()
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
        kind = f"dtype {values.dtype}" if hasattr(values, "dtype") else type(values).__name__
        raise error(path, f"{what} are {kind}; they must be real numbers")
    return values.astype(np.float64, copy=False)


def _unreadable(err: Exception, suffix: str) -> str:
    """Why a .npy or .pt cannot be read, in ganzoo's words: numpy's and torch's own advice is to load the file
    unsafely (running any code it holds), which ganzoo never does with a data file."""
    text = str(err)
    if isinstance(err, pickle.UnpicklingError) or any(w in text for w in ("pickle", "weights_only", "Python objects")):
        save = "numpy.save(path, array)" if suffix == ".npy" else "torch.save({'points': tensor}, path)"
        return (f"holds pickled Python objects, not plain numbers (or is damaged); ganzoo never unpickles a data file:"
                f" save the points with {save}")
    return f"cannot be read as {suffix} ({first_line(err, 80)}); is it damaged or cut short?"


def _note_label_like(shown: str, names: list[str], cols: list[int]) -> None:
    """A column named like labels that is used as data is more often a mistake than not: say so (once per file)."""
    used = [names[c] for c in cols if c < len(names) and names[c].strip().lower() in LABEL_LIKE]
    if used:
        name = used[0]
        note(f"dataset '{NAME}': {shown}: column {name!r} is used as data, one of {len(cols)} dimensions; to use it "
             f"as class labels, set dataset.label_column={name}")


def _binary(path: Path, shown: str, suffix: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(points (N, W), labels (N,) or None) from .npy or .pt."""
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False, mmap_mode="r")  # only the rows and columns used are read
        else:
            values = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - numpy and torch raise ValueError, UnpicklingError, RuntimeError...
        raise error(shown, _unreadable(err, suffix)) from None
    labels = None
    if isinstance(values, dict):
        if "points" not in values:
            raise error(shown, f"holds a dict without 'points' (keys: {', '.join(map(str, values))}); save "
                                f"{{'points': tensor (N, D), 'labels': tensor (N,)}}")
        values, labels = values["points"], values.get("labels")
    values = _array(values, shown, "the points")
    if values.ndim != 2 or 0 in values.shape:
        raise error(shown, f"holds an array of shape {tuple(values.shape)}; it must be (N, D) with N, D >= 1 "
                            f"(for one dimension: x.reshape(-1, 1))")
    if labels is not None:
        labels = _array(labels, shown, "the labels")
        if labels.shape != (len(values),):
            raise error(shown, f"holds labels of shape {tuple(labels.shape)} for {len(values)} points; they must "
                                f"be ({len(values)},)")
    return values, labels


@functools.lru_cache(maxsize=2)  # shape() and the factory; more would hold large files in memory for nothing
def _read(resolved: str, shown: str, size: int, mtime_ns: int, columns: tuple[str, ...] | None,
          label_column: str | None, limit: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The points and labels of one file, cached on its size and time so shape() and the factory parse it once."""
    path, suffix = Path(resolved), Path(resolved).suffix.lower()
    columns = list(columns) if columns is not None else None
    if suffix in TEXT_SUFFIXES:
        sniff(path, shown, size)
        text = TextFile(path, shown, TEXT_SUFFIXES[suffix])
        cols, label = _choose(shown, text.names, text.width, columns, label_column)
        if columns is None and label is None:
            _note_label_like(shown, text.names or [], cols)
        labelled = label is not None
        values = text.read(cols + [label] * labelled, labelled, limit)
    else:
        values, own = _binary(path, shown, suffix)
        if own is not None and label_column is not None:
            raise error(shown, "holds its own 'labels'; leave label_column unset", ParameterError)
        cols, label = _choose(shown, None, values.shape[1], columns, label_column)
        wanted = cols + [label] * (label is not None)
        values, labelled = values[:limit, wanted], label is not None or own is not None
        if own is not None:
            values = np.column_stack([values, own[:limit]])
        check(values, labelled, lambda row, j: f"row {row + 1} of 'labels'" if j == len(wanted) else
               f"row {row + 1}, column {wanted[j] + 1}", shown)
    if len(values) < 2:
        what = "no rows of numbers below its header" if len(values) == 0 else "only 1 point"
        raise error(shown, f"has {what}; a GAN needs at least 2 points")
    points = torch.from_numpy(values[:, :len(cols)].astype(np.float32))
    return points, torch.from_numpy(values[:, -1].astype(np.int64)) if labelled else None


def _load(path: str | None, columns: list[str] | None, label_column: str | None,
          limit: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    if not path:
        raise error(None, f"set the file to load with --set dataset.path=FILE ({FORMATS})", ParameterError)
    file = Path(path).expanduser()
    if file.is_dir():
        raise error(path, f"is a folder; point dataset.path at a {FORMATS} file")
    suffix = file.suffix.lower()
    if suffix not in (*TEXT_SUFFIXES, ".npy", ".pt"):
        raise error(path, f"unknown extension {suffix or '(none)'!r}; use {FORMATS}")
    try:
        stat = file.stat()
        return _read(str(file.resolve()), path, stat.st_size, stat.st_mtime_ns, columns and tuple(columns),
                     label_column, limit)
    except FileNotFoundError:
        raise error(path, f"no such file (looked for {file.absolute()})") from None
    except OSError as err:
        raise error(path, f"cannot be read ({err.strerror or err})") from None


def points_file(path: str | None, columns: list[str] | None, label_column: str | None, limit: int | None) -> Data:
    """The file's points, standardised per column. Labels (``label_column``, or a .pt's 'labels') are kept as written,
    not renumbered, so the file's class k is ``ganzoo sample --label k``; classes = the largest label + 1."""
    points, labels = _load(path, columns, label_column, limit)
    if labels is None:
        return Data.points(points)
    return Data.points(points, labels=labels.clone(), classes=int(labels.max()) + 1)


def _shape(path: str | None, columns: list[str] | None, label_column: str | None, limit: int | None) -> DataSpec:
    points, labels = _load(path, columns, label_column, limit)
    return DataSpec("points", (points.shape[1],), int(labels.max()) + 1 if labels is not None else None)


@hookimpl
def ganzoo_datasets():
    yield DatasetSpec(
        name=NAME,
        factory=points_file,
        shape=_shape,
        description="Points (N, D) from your file: CSV/TSV/text (header optional), .npy or .pt; labels optional.",
        params=(
            Param("path", str, None, f"the file ({FORMATS}); required", path=True),
            Param("columns", list[str], None, "columns to use, by header name or 0-based index, e.g. x,y or 0,1 "
                                              "(default: all but the label column)"),
            Param("label_column", str, None, "column of integer class labels (name or 0-based index), used as they "
                                             "are: labelled data for conditional models, classes = largest + 1; "
                                             "without it, every column is data, even one named 'class'"),
            Param("limit", int, None, "only the first N rows, e.g. 1000 for data-limited training", min=2),
        ),
        full_data={"limit": None},
    )
