"""Any directory of images, decoded once into ganzoo's uint8 cache (torchvision's ImageFolder convention for labels).

Class subfolders (``cats/…``, ``dogs/…``, at any depth below them) become labels 0..K-1 in sorted order, like
torchvision's ``ImageFolder``; a class folder without files is no class, and a warning states the mapping. Images
directly in the folder make it unlabelled. Every regular file that is not hidden is tried: those that are not
readable images are skipped with one warning.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo import Data, DatasetError, DataSpec, ImageSet, ParameterError, decoded_images, files_digest

from .walk import walk, warn_once

LABELS = ("auto", "folders", "none")
CHANNELS = ("auto", "1", "3")
#: The default square side is the median shorter side of this many images, spread over the folder...
SIZE_SAMPLE = 64
#: ...but at most this: one huge photo must not make every image (and the cache) huge.
MAX_AUTO_SIZE = 256
#: Classes named in the label mapping of a warning.
MAPPED = 12


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


def mapping(classes: list[str], empty: set[str] = frozenset()) -> str:
    """``cats=0, zebra=1``: which label each class folder became (the first few of many)."""
    named = [f"{c}=" + ("(no images)" if c in empty else str(i)) for i, c in enumerate(classes)]
    return ", ".join(named[:MAPPED]) + (f", … ({len(classes)} classes)" if len(classes) > MAPPED else "")


def _warn_empty(root: Path, folders: list[str], classes: list[str], image_set: ImageSet) -> None:
    """Label numbers come from the class folders that hold files: an empty one shifts the labels after it, and one
    whose files are all unreadable leaves its label without images. Either way the user is told the mapping."""
    empty = sorted(set(folders) - set(classes))
    present = set(image_set.labels.unique().tolist()) if image_set.labels is not None else set()
    unreadable = [c for i, c in enumerate(classes) if i not in present]
    if empty:
        warn_once(f"folder {root}: {_folders(empty)} no files, so {'it is' if len(empty) == 1 else 'they are'} no "
                  f"class; labels: {mapping(classes)}")
    if unreadable:
        warn_once(f"folder {root}: {_folders(unreadable)} no readable image; labels: "
                  f"{mapping(classes, set(unreadable))}")


def _folders(names: list[str]) -> str:
    """``class folder 'dogs' holds`` or ``class folders 'a', 'b' hold``."""
    quoted = ", ".join(repr(n) for n in names)
    return f"class folder {quoted} holds" if len(names) == 1 else f"class folders {quoted} hold"


def spread(n: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over ``range(n)`` (all of them without a limit): every class folder of a
    sorted file list keeps its share."""
    if limit is None or limit >= n:
        return list(range(n))
    return [i * n // limit for i in range(limit)]


def default_size(sides: list[int]) -> tuple[int, str]:
    """The square side for images of these shorter sides: their median, at most MAX_AUTO_SIZE; and how it was
    chosen, in words. The median, not the first file's side, so one odd image cannot set the size of all."""
    median = sorted(sides)[(len(sides) - 1) // 2]
    side = min(median, MAX_AUTO_SIZE)
    capped = f" is {median}, capped at {MAX_AUTO_SIZE}" if median > MAX_AUTO_SIZE else ""
    return side, f"{side}x{side} (the median shorter side of {len(sides)} sampled images{capped})"


def _sides(files: list[Path]) -> list[int]:
    """The shorter side of up to SIZE_SAMPLE images spread over ``files``, read from their headers only."""
    import warnings

    from PIL import Image

    sides = []
    with warnings.catch_warnings():  # huge images are reported when decoded, not as PIL's raw warning here
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        for i in spread(len(files), SIZE_SAMPLE):
            try:
                with Image.open(files[i]) as im:
                    sides.append(min(im.size))
            except Exception:  # noqa: BLE001, S112 - unreadable files are skipped (and reported) by the decoder
                continue
    return [s for s in sides if s > 0]


def _decoded(root: Path, size: int | None, channels: str, labels: str, limit: int | None):
    if not root.exists():
        raise DatasetError(f"folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder of images; give the folder that holds them "
                           f"(or --dataset points-file for a file of points)")
    found = walk(root)
    found.warn()
    files = found.files
    if not files:
        skipped = found.skipped()
        raise DatasetError(f"folder {root} holds no files" + (f" it can use (skipped {skipped})" if skipped else "")
                           + "; put images in it (class subfolders give labels)")
    chosen = spread(len(files), limit)
    files = [files[i] for i in chosen]
    classes_of, names = _labels(root, files, labels)
    announce = None
    if size is None:
        sides = _sides(files)
        if not sides:
            raise DatasetError(f"no readable image among the files of folder {root} (e.g. {files[0].name})")
        size, how = default_size(sides)
        announce = f"folder {root}: decoding its images at {how}; set dataset.size to choose another"
    key = {"source": "folder", "root": str(root.resolve()), "files": files_digest(root, files), "labels": labels,
           "limit": limit}
    image_set = decoded_images(
        key, len(files), lambda i: (files[i], classes_of[i] if classes_of is not None else None), size,
        None if channels == "auto" else int(channels), f"folder {root}", name=lambda i: str(files[i].relative_to(root)),
        announce=announce)
    if classes_of is not None:
        _warn_empty(root, found.folders, names, image_set)
    return image_set, len(names) if classes_of is not None else None


def load_set(path: str | None, size: int | None, channels: str, labels: str, limit: int | None
             ) -> tuple[ImageSet, int | None]:
    if not path:
        raise ParameterError("it needs the folder: --set dataset.path=DIR")
    return _decoded(Path(path).expanduser(), size, channels, labels, limit)


def folder(path: str | None, size: int | None, channels: str, labels: str, limit: int | None) -> Data:
    """The folder's images as uint8 (memory-mapped from the cache), with class labels when it has class folders."""
    image_set, classes = load_set(path, size, channels, labels, limit)
    return Data.images(image_set.pixels, labels=image_set.labels, classes=classes)


def shape(path: str | None, size: int | None, channels: str, labels: str, limit: int | None) -> DataSpec:
    image_set, classes = load_set(path, size, channels, labels, limit)
    return DataSpec("image", tuple(image_set.pixels.shape[1:]), classes)
