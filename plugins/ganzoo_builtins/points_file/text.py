"""Delimited text files of points (CSV, TSV, whitespace), read in bounded memory.

Before anything parses a file, one streaming pass over its bytes refuses what is no text of rows: a file over the size
limit, zero bytes (binary data, or a sparse file), a "line" of megabytes. Then numpy's C parser reads it, fast; only
when it refuses the file (or the numbers are unusable) is the file read again line by line, to name the first bad
line and column.
"""

from __future__ import annotations

import csv
import itertools
import warnings
from array import array
from pathlib import Path

import numpy as np

from .values import FIX, cell, check, error, first_bad, number

#: Text suffixes and their delimiter (None: comma, tab or whitespace, as the first line uses).
TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}
ENCODING = "utf-8-sig"  # also skips the byte-order mark that spreadsheets write
#: Text files larger than this are refused before parsing: a parse costs minutes and a few times the numbers' size in
#: memory, while numpy.save writes the same points as a .npy that loads memory-mapped.
MAX_TEXT_BYTES = 1 << 30
#: No row of numbers is this long; a longer "line" is binary data or a file without line breaks.
MAX_LINE = 1 << 20
_CHUNK = 1 << 20


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def sniff(path: Path, shown: str, size: int) -> None:
    """Refuse, in seconds and a megabyte of memory, a text file that holds no lines of text to parse."""
    if size > MAX_TEXT_BYTES:
        raise error(shown, f"is {_size(size)}, over the {_size(MAX_TEXT_BYTES)} limit for text files; save the "
                           f"points with numpy.save and give the .npy, which loads without parsing")
    offset, line, since = 0, 1, 0  # since: bytes since the last line break
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            zero = chunk.find(b"\0")
            if zero >= 0:
                line += chunk.count(b"\n", 0, zero)
                raise error(shown, f"holds a zero byte at byte {offset + zero:,} (line {line}), so it is binary (or "
                                   f"UTF-16) data, not UTF-8 text; save it as text, or use .npy or .pt")
            first = chunk.find(b"\n")
            if since + (len(chunk) if first < 0 else first) > MAX_LINE:
                raise error(shown, f"line {line} is over {_size(MAX_LINE)} long; rows of numbers are short lines: is "
                                   f"it a text file of points?")
            line += chunk.count(b"\n")
            since = since + len(chunk) if first < 0 else len(chunk) - chunk.rfind(b"\n") - 1
            offset += len(chunk)


class TextFile:
    """A delimited text file: its delimiter, its optional header and the width every row must have."""

    def __init__(self, path: Path, shown: str, delimiter: str | None) -> None:
        self.path, self.shown, self.delimiter = path, shown, delimiter
        if delimiter is None:
            first = next((line for line in self._lines() if line.strip()), "")
            self.delimiter = "," if "," in first else "\t" if "\t" in first else None
        lineno, fields = next(self.rows(), (0, None))
        if fields is None:
            raise error(shown, "the file is empty (no rows of numbers)")
        self.width, self.first, self.names, self.header_line = len(fields), lineno, None, 0
        # A header holds names only: a first row mixing names and numbers is data with a typo, reported as such.
        if all(number(f) is None for f in fields):
            self.names, self.header_line = fields, lineno

    def _lines(self):
        try:
            with self.path.open(encoding=ENCODING, newline="") as f:
                for line in f:
                    yield line.split("#", 1)[0] if "#" in line else line  # "#" starts a comment, as in numpy
        except UnicodeDecodeError as err:
            raise error(self.shown, f"not UTF-8 text (byte {err.start}); save it as text or use .npy or .pt") from None

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
            raise error(self.shown, f"line {reader.line_num}: {err}; fix the quotes") from None

    def place(self, lineno: int, col: int) -> str:
        return f"line {lineno}, column {col + 1}" + (f" ({self.names[col]!r})" if self.names else "")

    def read(self, wanted: list[int], labelled: bool, limit: int | None) -> np.ndarray:
        values = self._fast(wanted, limit)
        if values is None or first_bad(values, labelled) is not None:
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
        values = array("d")  # flat doubles: Python floats in lists would take four times the memory
        lines = array("q")

        def checked() -> np.ndarray:
            found = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(wanted)).copy()
            return check(found, labelled, lambda row, j: self.place(lines[row], wanted[j]), self.shown,
                          lambda row, j: next(self.rows(lines[row] - 1))[1][wanted[j]])  # reread, not kept

        for lineno, fields in self.rows(self.header_line):
            if len(fields) != self.width:
                checked()  # an earlier row may hold a NaN
                ref = f"the header (line {self.header_line})" if self.names else f"line {self.first}"
                raise error(self.shown, f"line {lineno} has {len(fields)} fields where {ref} has {self.width}; "
                                         f"every row needs the same number")
            try:
                values.extend([float(fields[c]) for c in wanted])
            except ValueError:
                checked()
                fix = "a header row holds names only" if lineno == self.first else FIX
                for j, c in enumerate(wanted):
                    cell(fields[c], self.place(lineno, c), self.shown, labelled and j == len(wanted) - 1, fix)
            lines.append(lineno)
            if len(lines) == limit:
                break
        return checked()
