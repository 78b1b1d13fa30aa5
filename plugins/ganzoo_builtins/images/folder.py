"""Any directory of images, decoded once into ganzoo's uint8 cache (torchvision's ImageFolder convention for labels).

Class subfolders (``cats/…``, ``dogs/…``, at any depth below them) become labels 0..K-1 in sorted order, like
torchvision's ``ImageFolder``; images directly in the folder make it unlabelled. Every regular file that is not
hidden is tried: those that are not readable images are skipped with one warning.
"""

from __future__ import annotations

import os
from pathlib import Path

from ganzoo import Data, DatasetError, DataSpec, ImageSet, ParameterError, decoded_images, files_digest

LABELS = ("auto", "folders", "none")
CHANNELS = ("auto", "1", "3")


def scan(root: Path) -> list[Path]:
    """Every non-hidden file below ``root``, in sorted order (hidden folders are skipped too)."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if not f.startswith(".")]
    return found


#: Files that count as images lying directly in the folder (a README or a CSV beside the class folders does not).
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm"}


def _labels(root: Path, files: list[Path], mode: str) -> tuple[list[int] | None, list[str]]:
    top = [f for f in files if f.parent == root and f.suffix.lower() in IMAGE_SUFFIXES]
    if mode == "none" or (mode == "auto" and (top or not files)):
        return None, []
    if top:
        raise DatasetError(f"folder {root}: labels=folders, but {len(top)} files lie directly in it "
                           f"(e.g. {top[0].name}); move them into a class folder or use labels=auto")
    classes = sorted({f.relative_to(root).parts[0] for f in files if f.parent != root})
    index = {c: i for i, c in enumerate(classes)}
    # a stray non-image file directly in the folder gets no class: it is skipped as unreadable (or, if it is an
    # image after all, takes class 0)
    return [index.get(f.relative_to(root).parts[0], 0) for f in files], classes


def spread(n: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over ``range(n)`` (all of them without a limit): every class folder of a
    sorted file list keeps its share."""
    if limit is None or limit >= n:
        return list(range(n))
    return [i * n // limit for i in range(limit)]


def _first_side(files: list[Path]) -> int:
    from PIL import Image

    for f in files[:50]:
        try:
            with Image.open(f) as im:
                side = min(im.size)
        except Exception:  # noqa: BLE001 - unreadable files are skipped (and reported) by the decoder
            side = 0
        if side:
            return side
    return 0


def _decoded(root: Path, size: int | None, channels: str, labels: str, limit: int | None):
    if not root.exists():
        raise DatasetError(f"folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder of images; give the folder that holds them "
                           f"(or --dataset points-file for a file of points)")
    files = scan(root)
    if not files:
        raise DatasetError(f"folder {root} holds no files; put images in it (class subfolders give labels)")
    chosen = spread(len(files), limit)
    files = [files[i] for i in chosen]
    classes_of, names = _labels(root, files, labels)
    side = size or _first_side(files)
    if not side:
        raise DatasetError(f"no readable image among the first files of folder {root} (e.g. {files[0].name})")
    key = {"source": "folder", "root": str(root.resolve()), "files": files_digest(root, files), "labels": labels,
           "limit": limit}
    image_set = decoded_images(
        key, len(files), lambda i: (files[i], classes_of[i] if classes_of is not None else None), side,
        None if channels == "auto" else int(channels), f"folder {root}", name=lambda i: str(files[i].relative_to(root)))
    return image_set, len(names) if classes_of is not None else None


def _check(size: int | None, channels: str, labels: str, limit: int | None) -> None:
    if size is not None and size < 1:
        raise ParameterError(f"dataset 'folder': 'size' must be at least 1 pixel, got {size}")
    if limit is not None and limit < 1:
        raise ParameterError(f"dataset 'folder': 'limit' must be at least 1 image, got {limit}")


def load_set(path: str | None, size: int | None, channels: str, labels: str, limit: int | None
             ) -> tuple[ImageSet, int | None]:
    if not path:
        raise ParameterError("dataset 'folder' needs the folder: --set dataset.path=DIR")
    _check(size, channels, labels, limit)
    return _decoded(Path(path).expanduser(), size, channels, labels, limit)


def folder(path: str | None, size: int | None, channels: str, labels: str, limit: int | None) -> Data:
    """The folder's images as uint8 (memory-mapped from the cache), with class labels when it has class folders."""
    image_set, classes = load_set(path, size, channels, labels, limit)
    return Data.images(image_set.pixels, labels=image_set.labels, classes=classes)


def shape(path: str | None, size: int | None, channels: str, labels: str, limit: int | None) -> DataSpec:
    image_set, classes = load_set(path, size, channels, labels, limit)
    return DataSpec("image", tuple(image_set.pixels.shape[1:]), classes)
