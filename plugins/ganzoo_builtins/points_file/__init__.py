"""Built-in plugin: points (N, D) read from a file of the user's (CSV, TSV, text, .npy or .pt), optionally labelled.

Text files go through numpy's C parser first, so a million rows load in well under a second; only when it refuses a
file (or the numbers are unusable) is the file read again line by line, to name the first bad line and column.
"""

from __future__ import annotations

import csv
import difflib
import functools
import itertools
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganzoo import Data, DatasetError, DatasetSpec, DataSpec, Param, ParameterError, hookimpl

NAME = "points-file"
TEXT = {".csv": ",", ".tsv": "\t", ".txt": None}  # None: comma, tab or whitespace, as the first line uses
FORMATS = ".csv, .tsv, .txt, .npy or .pt"
#: Labels are class indices: a label of 10^6 would build a model for a million classes, surely a mistake.
MAX_LABEL = 9_999
#: Larger numbers become infinite in float32, which the models train in.
F32_MAX = float(np.finfo(np.float32).max)
ENCODING = "utf-8-sig"  # also skips the byte-order mark that spreadsheets write
FIX = "fix or remove that row"


def _error(path: str | None, message: str, kind: type[Exception] = DatasetError) -> Exception:
    return kind(f"dataset '{NAME}': {path + ': ' if path else ''}{message}")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _cell(text: str, where: str, path: str, label: bool, fix: str = FIX) -> None:
    """Raise the error a user can act on for one value, if it is unusable."""
    value = _number(text)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    if label and (value is None or not value.is_integer() or not 0 <= value <= MAX_LABEL):
        raise _error(path, f"{where}: label {shown} is not a class index; labels must be integers 0..{MAX_LABEL}")
    if value is None:
        raise _error(path, f"{where}: {shown + ' is not a number' if text else 'an empty value'}; {fix}")
    if not math.isfinite(value) or abs(value) > F32_MAX:
        why = "is too large for float32" if math.isfinite(value) else "is not a finite number"
        raise _error(path, f"{where}: {shown} {why}; {fix}")


def _first_bad(values: np.ndarray, labelled: bool) -> tuple[int, int] | None:
    """(row, column) of the first value that is not finite (or, in the last column of labelled data, no label)."""
    ok = np.isfinite(values) & (np.abs(values) <= F32_MAX)
    if labelled:
        labels = values[:, -1]
        ok[:, -1] = (labels == np.floor(labels)) & (labels >= 0) & (labels <= MAX_LABEL)
    bad = np.argwhere(~ok)
    return (int(bad[0, 0]), int(bad[0, 1])) if len(bad) else None


def _check(values: np.ndarray, labelled: bool, place: Callable[[int, int], str], path: str,
           text: Callable[[int, int], str] | None = None) -> np.ndarray:
    """The values, once sure that none is unusable; ``text(row, col)`` is a value as written, for the message."""
    bad = _first_bad(values, labelled)
    if bad is not None:
        row, col = bad
        written = text(row, col) if text else f"{values[row, col]:g}"
        _cell(written, place(row, col), path, labelled and col == values.shape[1] - 1)
    return values


class _Text:
    """A delimited text file: its delimiter, its optional header and the width every row must have."""

    def __init__(self, path: Path, shown: str, delimiter: str | None) -> None:
        self.path, self.shown, self.delimiter = path, shown, delimiter
        if delimiter is None:
            first = next((line for line in self._lines() if line.strip()), "")
            self.delimiter = "," if "," in first else "\t" if "\t" in first else None
        lineno, fields = next(self.rows(), (0, None))
        if fields is None:
            raise _error(shown, "the file is empty (no rows of numbers)")
        self.width, self.first, self.names, self.header_line = len(fields), lineno, None, 0
        # A header holds names only: a first row mixing names and numbers is data with a typo, reported as such.
        if all(_number(f) is None for f in fields):
            self.names, self.header_line = fields, lineno

    def _lines(self):
        try:
            with self.path.open(encoding=ENCODING, newline="") as f:
                for line in f:
                    yield line.split("#", 1)[0] if "#" in line else line  # "#" starts a comment, as in numpy
        except UnicodeDecodeError as err:
            raise _error(self.shown, f"not UTF-8 text (byte {err.start}); save it as text or use .npy or .pt") from None

    def rows(self, start: int = 0):
        """(line number, stripped fields) of each line after line ``start`` that holds data."""
        if self.delimiter is None:
            for lineno, line in enumerate(self._lines(), 1):
                fields = line.split()
                if fields and lineno > start:
                    yield lineno, fields
            return
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        try:
            for fields in reader:
                if reader.line_num > start and (len(fields) > 1 or fields and fields[0].strip()):
                    yield reader.line_num, [f.strip() for f in fields]
        except csv.Error as err:  # e.g. an unclosed quote running on into a huge field
            raise _error(self.shown, f"line {reader.line_num}: {err}; fix the quotes") from None

    def place(self, lineno: int, col: int) -> str:
        return f"line {lineno}, column {col + 1}" + (f" ({self.names[col]!r})" if self.names else "")

    def read(self, wanted: list[int], labelled: bool, limit: int | None) -> np.ndarray:
        values = self._fast(wanted, limit)
        if values is None or _first_bad(values, labelled) is not None:
            values = self._scan(wanted, labelled, limit)
        return values

    def _fast(self, wanted: list[int], limit: int | None) -> np.ndarray | None:
        """numpy's parse of the columns, or None when it refuses the file or a row is ragged."""
        every = sorted(wanted) == list(range(self.width))  # then numpy counts the fields of every row
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's notes on blank lines and on a file without rows
                values = np.loadtxt(self.path, dtype=np.float64, delimiter=self.delimiter, skiprows=self.header_line,
                                    usecols=None if every else wanted, ndmin=2, max_rows=limit, encoding=ENCODING,
                                    quotechar='"' if self.delimiter else None)
        except ValueError:
            return None
        if every:  # the rows may agree with each other but not with the header
            return values[:, wanted] if values.shape[1] == self.width else None
        # usecols lets rows of other widths through: count the fields (quoted delimiters included) ourselves
        rows = itertools.islice(self.rows(self.header_line), limit)
        return values if all(len(fields) == self.width for _, fields in rows) else None

    def _scan(self, wanted: list[int], labelled: bool, limit: int | None) -> np.ndarray:
        """Parse line by line, raising at the first bad line and column; the values when there is none."""
        values: list[float] = []  # flat: a million short lists would cost seconds
        lines: list[int] = []

        def checked() -> np.ndarray:
            array = np.array(values, dtype=np.float64).reshape(len(lines), len(wanted))
            return _check(array, labelled, lambda row, j: self.place(lines[row], wanted[j]), self.shown,
                          lambda row, j: next(self.rows(lines[row] - 1))[1][wanted[j]])  # reread, not kept

        for lineno, fields in self.rows(self.header_line):
            if len(fields) != self.width:
                checked()  # an earlier row may hold a NaN
                ref = f"the header (line {self.header_line})" if self.names else f"line {self.first}"
                raise _error(self.shown, f"line {lineno} has {len(fields)} fields where {ref} has {self.width}; "
                                         f"every row needs the same number")
            try:
                values.extend([float(fields[c]) for c in wanted])
            except ValueError:
                checked()
                fix = "a header row holds names only" if lineno == self.first else FIX
                for j, c in enumerate(wanted):
                    _cell(fields[c], self.place(lineno, c), self.shown, labelled and j == len(wanted) - 1, fix)
            lines.append(lineno)
            if len(lines) == limit:
                break
        return checked()


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
    raise _error(what, why, ParameterError)


def _choose(shown, names, width, columns, label_column) -> tuple[list[int], int | None]:
    label = None if label_column is None else _column(label_column, names, width, f"{shown}: label_column")
    if columns is None:
        cols = [c for c in range(width) if c != label]
    else:
        cols = [_column(key, names, width, f"{shown}: columns") for key in columns]
        if len(set(cols)) != len(cols) or label in cols:
            raise _error(shown, f"columns {','.join(columns)} name a column twice (or the label column)",
                         ParameterError)
    if not cols:
        raise _error(shown, "no column is left for the points beside the label column", ParameterError)
    return cols, label


def _array(values, path: str, what: str) -> np.ndarray:
    """A tensor or array of real numbers as float64; anything else is refused."""
    if isinstance(values, torch.Tensor) and not (values.is_complex() or values.dtype == torch.bool):
        values = values.detach().cpu().double().numpy()
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
        kind = f"dtype {values.dtype}" if hasattr(values, "dtype") else type(values).__name__
        raise _error(path, f"{what} are {kind}; they must be real numbers")
    return values.astype(np.float64, copy=False)


def _binary(path: Path, shown: str, suffix: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(points (N, W), labels (N,) or None) from .npy or .pt."""
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            values = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - numpy and torch raise ValueError, UnpicklingError, RuntimeError...
        text = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise _error(shown, f"cannot be read as {suffix} ({text})") from None
    labels = None
    if isinstance(values, dict):
        if "points" not in values:
            raise _error(shown, f"holds a dict without 'points' (keys: {', '.join(map(str, values))}); save "
                                f"{{'points': tensor (N, D), 'labels': tensor (N,)}}")
        values, labels = values["points"], values.get("labels")
    values = _array(values, shown, "the points")
    if values.ndim != 2 or 0 in values.shape:
        raise _error(shown, f"holds an array of shape {tuple(values.shape)}; it must be (N, D) with N, D >= 1 "
                            f"(for one dimension: x.reshape(-1, 1))")
    if labels is not None:
        labels = _array(labels, shown, "the labels")
        if labels.shape != (len(values),):
            raise _error(shown, f"holds labels of shape {tuple(labels.shape)} for {len(values)} points; they must "
                                f"be ({len(values)},)")
    return values, labels


@functools.lru_cache(maxsize=2)  # shape() and the factory; more would hold large files in memory for nothing
def _read(resolved: str, shown: str, size: int, mtime_ns: int, columns: tuple[str, ...] | None,
          label_column: str | None, limit: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The points and labels of one file, cached on its size and time so shape() and the factory parse it once."""
    path, suffix = Path(resolved), Path(resolved).suffix.lower()
    columns = list(columns) if columns is not None else None
    if suffix in TEXT:
        text = _Text(path, shown, TEXT[suffix])
        cols, label = _choose(shown, text.names, text.width, columns, label_column)
        labelled = label is not None
        values = text.read(cols + [label] * labelled, labelled, limit)
    else:
        values, own = _binary(path, shown, suffix)
        if own is not None and label_column is not None:
            raise _error(shown, "holds its own 'labels'; leave label_column unset", ParameterError)
        cols, label = _choose(shown, None, values.shape[1], columns, label_column)
        wanted = cols + [label] * (label is not None)
        values, labelled = values[:limit, wanted], label is not None or own is not None
        if own is not None:
            values = np.column_stack([values, own[:limit]])
        _check(values, labelled, lambda row, j: f"row {row + 1} of 'labels'" if j == len(wanted) else
               f"row {row + 1}, column {wanted[j] + 1}", shown)
    if len(values) < 2:
        what = "no rows of numbers below its header" if len(values) == 0 else "only 1 point"
        raise _error(shown, f"has {what}; a GAN needs at least 2 points")
    points = torch.from_numpy(values[:, :len(cols)].astype(np.float32))
    return points, torch.from_numpy(values[:, -1].astype(np.int64)) if labelled else None


def _load(path: str | None, columns: list[str] | None, label_column: str | None,
          limit: int | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    if not path:
        raise _error(None, f"set the file to load with --set dataset.path=FILE ({FORMATS})", ParameterError)
    if limit is not None and limit < 2:
        raise _error(None, f"'limit' must be at least 2 points, got {limit}", ParameterError)
    if columns is not None and not columns:
        raise _error(None, "'columns' lists no column; leave it unset to use them all", ParameterError)
    file = Path(path).expanduser()
    if file.is_dir():
        raise _error(path, f"is a folder; point dataset.path at a {FORMATS} file")
    suffix = file.suffix.lower()
    if suffix not in (*TEXT, ".npy", ".pt"):
        raise _error(path, f"unknown extension {suffix or '(none)'!r}; use {FORMATS}")
    try:
        stat = file.stat()
        return _read(str(file.resolve()), path, stat.st_size, stat.st_mtime_ns, columns and tuple(columns),
                     label_column, limit)
    except FileNotFoundError:
        raise _error(path, f"no such file (looked for {file.absolute()})") from None
    except OSError as err:
        raise _error(path, f"cannot be read ({err.strerror or err})") from None


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
            Param("path", str, None, f"the file ({FORMATS}); required"),
            Param("columns", list[str], None, "columns to use, by header name or 0-based index, e.g. x,y or 0,1 "
                                              "(default: all but the label column)"),
            Param("label_column", str, None, "column of integer class labels (name or 0-based index), used as they "
                                             "are: labelled data for conditional models, classes = largest + 1"),
            Param("limit", int, None, "only the first N rows, e.g. 1000 for data-limited training"),
        ),
        full_data={"limit": None},
    )
