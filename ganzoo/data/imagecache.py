"""Decode a set of images once, in worker processes, into a uint8 cache that later runs memory-map.

Decoding is the slow part of image data (a JPEG costs about as much as a small GAN step), so ganzoo does it once per
source and parameters: :func:`decoded_images` resizes each image's shorter side to ``size``, centre-crops it square,
converts it to the chosen channels and writes it into ``$GANZOO_CACHE/images/<key>/pixels.u8``. The cache is keyed
by what the caller says identifies the source (for a folder: every file's path, size and modification time) and by
the parameters, so a changed folder gets a new cache; it is checked (size, CRC-32) on every load, and a truncated or
corrupt one is rebuilt with a warning. The result is memory-mapped: the trainer moves it to the device when it fits
the memory budget and streams batches from it otherwise.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DatasetError, ParameterError, first_line
from ..messages import note, warn
from .decode import decode, megapixels, quiet_bombs, too_large
from .paths import cache_dir

#: Bumped when the cache layout (or how an image decodes) changes, so an old cache is rebuilt instead of misread.
#: 2: 16-bit greyscale scaled instead of clipped to white.
FORMAT = 2
#: Images per task handed to a worker (large enough to amortise the inter-process copy).
CHUNK = 64
#: Skipped files named in the warning (the count covers them all).
NAMED = 3

#: ``read(i) -> (image, label)``: a path or an open PIL image, and the class (None for unlabelled data).
Reader = Callable[[int], tuple[Any, int | None]]


@dataclass
class ImageSet:
    """Decoded images from the cache: ``pixels`` uint8 (N, C, S, S), memory-mapped; ``labels`` int64 (N,) or None;
    ``skipped``: how many sources were not readable images."""

    pixels: torch.Tensor
    labels: torch.Tensor | None
    skipped: int
    path: Path


def cache_key(**parts: Any) -> str:
    """A short digest of what identifies a decoded set (JSON-serialisable values)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def files_digest(root: Path, files: list[Path]) -> str:
    """Paths (relative to ``root``), sizes and modification times: any change to the files changes it."""
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


#: Cache files this process has checked, with (inode, size, mtime, crc): the same run reads them more than once
#: (its spec, then its data) and need not checksum them twice.
_VERIFIED: dict[Path, tuple] = {}
_WARNED: set[Path] = set()
_READER: Reader | None = None  # set in the parent before the workers fork, so it is never pickled


def _decode_chunk(task: tuple[int, int, int, int | None]):
    start, stop, side, channels = task
    out = np.zeros((stop - start, 3 if channels is None else channels, side, side), np.uint8)
    ok = np.zeros(stop - start, bool)
    grey = np.ones(stop - start, bool)
    labels = np.full(stop - start, -1, np.int64)
    errors, large = [], []
    for j, i in enumerate(range(start, stop)):
        try:
            with quiet_bombs():  # a reader may open the image itself (torchvision's datasets do)
                source, label = _READER(i)
            arr, grey[j], pixels = decode(source, side, channels)
            if pixels:
                large.append((i, pixels))
            if arr.shape[1:] != (side, side):
                raise ValueError(f"decoded to {arr.shape[2]}x{arr.shape[1]}, not {side}x{side}")
            out[j], ok[j] = arr, True
            labels[j] = -1 if label is None else int(label)
        except Exception as err:  # noqa: BLE001 - any unreadable source is skipped and named in one warning
            errors.append((i, _why(err)))
    return start, out, ok, grey, labels, errors, large


def _why(err: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "not an image"
    if too_large(err):
        return too_large(err)
    return f"{type(err).__name__}: {first_line(err, 60)}"


def _workers(count: int) -> int:
    if count < 4 * CHUNK or "fork" not in mp.get_all_start_methods():
        return 0
    env = os.environ.get("GANZOO_DECODE_WORKERS")
    if env is not None:
        return max(0, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _progress(total: int, what: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    return Progress(TextColumn(f"[bold]decoding {what}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def _build(folder: Path, count: int, read: Reader, side: int, channels: int | None, what: str,
           name: Callable[[int], str], key: Mapping[str, Any]) -> None:
    global _READER
    large: list[tuple[int, int]] = []
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    width = 3 if channels is None else channels
    # a raw file, not .npy: with no header it can be compacted in place once the skipped images are known
    out = np.memmap(tmp / "pixels.u8", np.uint8, "w+", shape=(count, width, side, side))
    ok = np.zeros(count, bool)
    grey = np.ones(count, bool)
    labels = np.full(count, -1, np.int64)
    errors: list[tuple[int, str]] = []
    tasks = [(s, min(s + CHUNK, count), side, channels) for s in range(0, count, CHUNK)]
    _READER = read
    try:
        workers = _workers(count)
        with _progress(count, what) as bar:
            task = bar.add_task("decode", total=count)
            pool = mp.get_context("fork").Pool(workers) if workers else None
            try:
                results = pool.imap_unordered(_decode_chunk, tasks) if pool else map(_decode_chunk, tasks)
                for start, arr, good, g, lab, errs, big in results:
                    stop = start + len(arr)
                    out[start:stop], ok[start:stop], grey[start:stop], labels[start:stop] = arr, good, g, lab
                    errors += errs
                    large += big
                    bar.advance(task, len(arr))
            finally:
                if pool is not None:
                    pool.terminate()
    except BaseException:  # interrupted or failed: leave no half-written copy behind
        del out
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _READER = None
    if large:
        from PIL import Image

        large.sort()
        more = f" and {len(large) - 1} more" if len(large) > 1 else ""
        note(f"{len(large)} of {count} images in {what} are over {megapixels(Image.MAX_IMAGE_PIXELS)} (e.g. "
             f"{name(large[0][0])}: {megapixels(large[0][1])}{more}); they were decoded and scaled down, slowly: "
             f"shrink them for faster decoding")
    kept = np.flatnonzero(ok)
    if len(kept) == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        first = f" (first: {name(errors[0][0])}: {errors[0][1]})" if errors else ""
        raise DatasetError(f"no readable image in {what}{first}")
    n = len(kept)
    final_channels = width if channels is not None else (1 if grey[kept].all() else 3)
    item = final_channels * side * side
    if n < count or final_channels < width:  # compact: skipped images leave no gaps, a grey set keeps one channel
        flat = out.reshape(-1)
        for j, i in enumerate(kept):  # row j is written at or before row i, so no later source is overwritten
            flat[j * item:(j + 1) * item] = out[i, :final_channels].reshape(-1)
    out.flush()
    del out
    os.truncate(tmp / "pixels.u8", n * item)
    crc = _crc(tmp / "pixels.u8")
    if (labels[kept] >= 0).any():
        np.save(tmp / "labels.npy", labels[kept])
    meta = {"format": FORMAT, "key": dict(key), "count": n, "shape": [final_channels, side, side], "crc32": crc,
            "skipped": len(errors), "skipped_named": [f"{name(i)} ({why})" for i, why in errors[:NAMED]],
            "sources": count}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    try:
        os.rename(tmp, folder)  # fails when the folder exists: another process finished the same cache first
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return crc


def _open(folder: Path, key: Mapping[str, Any]) -> tuple[ImageSet, dict]:
    """The cached set and its metadata, or a ValueError saying why it cannot be used."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"its meta.json is unreadable ({first_line(err, 60)})") from None
    if meta.get("format") != FORMAT or meta.get("key") != json.loads(json.dumps(dict(key), default=str)):
        raise ValueError("it was written for other data or by another version")
    path = folder / "pixels.u8"
    shape = (int(meta["count"]), *map(int, meta["shape"]))
    expected = int(np.prod(shape))
    st = path.stat() if path.is_file() else None
    size = st.st_size if st is not None else -1
    if size != expected:
        raise ValueError(f"pixels.u8 holds {size} bytes, not {expected} (truncated?)")
    stamp = (st.st_ino, size, st.st_mtime_ns, meta["crc32"])
    if _VERIFIED.get(path) != stamp and _crc(path) != meta["crc32"]:
        raise ValueError("pixels.u8 does not match its checksum (corrupt)")
    labels = None
    if (folder / "labels.npy").is_file():
        labels = torch.from_numpy(np.load(folder / "labels.npy", allow_pickle=False))
        if len(labels) != shape[0]:
            raise ValueError("labels.npy does not match the images")
    _VERIFIED[path] = stamp
    pixels = torch.from_numpy(np.memmap(path, np.uint8, "c", shape=shape))
    return ImageSet(pixels, labels, int(meta.get("skipped", 0)), folder), meta


def decoded_images(key: Mapping[str, Any], count: int, read: Reader, size: int, channels: int | None,
                   what: str, name: Callable[[int], str] = str, announce: str | None = None) -> ImageSet:
    """The ``count`` images ``read(i)`` gives, decoded to ``size`` x ``size`` with ``channels`` (1, 3, or None:
    1 when every image is greyscale, else 3), from the cache when it is there and sound, else decoded now.

    ``key`` identifies the source and every parameter (see :func:`files_digest`); ``what`` names the source in
    messages; ``name(i)`` names source ``i`` in the warning about skipped files; ``announce`` is a note shown when
    the images are decoded now rather than read from the cache (how a default size was chosen, say).
    """
    if size < 1:
        raise ParameterError(f"image size must be at least 1 pixel, got {size}")
    key = {**key, "size": size, "channels": channels}
    folder = cache_dir() / "images" / cache_key(**key)
    image_set = None
    if folder.exists():
        try:
            image_set, meta = _open(folder, key)
        except (ValueError, OSError, KeyError, TypeError) as err:
            warn(f"the decoded-image cache {folder} is unusable ({first_line(err, 80)}); rebuilding it")
            shutil.rmtree(folder, ignore_errors=True)
    if image_set is None:
        if announce:
            note(announce)
        _build(folder, count, read, size, channels, what, name, key)
        image_set, meta = _open(folder, key)
    if meta["skipped"] and folder not in _WARNED:  # once per process: a run reads its dataset more than once
        _WARNED.add(folder)
        named = ", ".join(meta["skipped_named"])
        more = f" and {meta['skipped'] - len(meta['skipped_named'])} more" if meta["skipped"] > NAMED else ""
        warn(f"skipped {meta['skipped']} of {meta['sources']} files in {what} that are not readable images: "
             f"{named}{more}")
    return image_set

