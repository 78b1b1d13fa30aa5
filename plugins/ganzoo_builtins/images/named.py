"""torchvision's datasets by name: CIFAR-10/100 and CelebA, and any other ``torchvision.datasets`` class whose items
are (image, label).

They load through torchvision's own classes (and download through them when files are missing and download is on).
Those classes check CIFAR's and CelebA's files against md5 sums on every load; ganzoo checks that the files exist
instead, so copies re-packed elsewhere (and the tests' tiny files in the real formats) load, and it checks its own
decoded cache by CRC. Images other than CIFAR's arrays are decoded once into that cache.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch

from ganzoo import (
    Data,
    DatasetError,
    DataSpec,
    ImageSet,
    ParameterError,
    data_root,
    decoded_images,
    did_you_mean,
    files_digest,
    first_line,
)


def _root(root: str | None) -> Path:
    return Path(root).expanduser() if root else data_root()


def _missing(cls: str, where: Path, download: bool, err: BaseException, what: str) -> DatasetError:
    why = "download is off" if not download else f"the download failed: {first_line(err)}"
    return DatasetError(f"{cls} files not found in {where} ({why}); put {what} there, or point GANZOO_DATA (or the "
                        f"dataset's root parameter) at the folder that holds {where.name}/")


def _relaxed(cls, rows: str):
    """``cls`` with its md5 sums dropped from the lists it checks on load. CIFAR's download still checks its
    archive's; CelebA's download reads the same list, so its downloaded files go unchecked too."""
    if rows == "cifar":
        attrs = {"train_list": [[f, None] for f, _ in cls.train_list],
                 "test_list": [[f, None] for f, _ in cls.test_list], "meta": {**cls.meta, "md5": None}}
    else:
        attrs = {"file_list": [(i, None, f) for i, _, f in cls.file_list]}
    return type(cls.__name__, (cls,), attrs)


# -- CIFAR ------------------------------------------------------------------------------------------------------


def cifar(which: str, root: str | None, download: bool, train: bool, classes: list[int] | None,
          limit: int | None) -> Data:
    """CIFAR-10 or CIFAR-100 as uint8 (N, 3, 32, 32) with labels, optionally only some classes and the first
    ``limit`` images."""
    import torchvision.datasets as tvd

    n_classes = 10 if which == "CIFAR10" else 100  # 'classes' and 'limit' are checked by their Param bounds
    base = _root(root)
    cls = _relaxed(getattr(tvd, which), "cifar")
    try:
        dataset = cls(str(base), train=train, download=download)
    except Exception as err:  # noqa: BLE001 - torchvision raises RuntimeError/URLError/OSError/UnpicklingError
        folder = base / cls.base_folder
        if folder.is_dir() and all((folder / f).is_file() for f, _ in cls.train_list + cls.test_list):
            raise DatasetError(f"{which} files in {folder} could not be read ({type(err).__name__}); "
                               f"replace them") from None
        raise _missing(which, folder, download, err, f"the extracted {cls.filename}") from None
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(dataset.targets, dtype=torch.long)
    if classes is not None:
        keep = torch.isin(labels, torch.tensor(classes))
        images, labels = images[keep], labels[keep]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return Data.images(images, labels=labels, classes=n_classes)


def cifar_shape(which: str):
    return lambda **_: DataSpec("image", (3, 32, 32), classes=10 if which == "CIFAR10" else 100)


# -- CelebA -----------------------------------------------------------------------------------------------------


def _celeba_set(root: str | None, download: bool, split: str, size: int, attribute: str | None,
                limit: int | None) -> tuple[ImageSet, int | None]:
    import torchvision.datasets as tvd

    from .folder import spread

    base = _root(root)
    cls = _relaxed(tvd.CelebA, "celeba")
    try:
        dataset = cls(str(base), split=split, target_type="attr", download=download)
    except Exception as err:  # noqa: BLE001
        folder = base / cls.base_folder
        names = ", ".join(f for _, _, f in cls.file_list if not f.endswith(".zip"))
        if folder.is_dir() and (folder / "img_align_celeba").is_dir():
            raise DatasetError(f"CelebA files in {folder} could not be read ({type(err).__name__}: "
                               f"{first_line(err, 80)}); replace them") from None
        raise _missing("CelebA", folder, download, err, f"img_align_celeba/ and {names}") from None
    labels = None
    if attribute is not None:
        if attribute not in dataset.attr_names:
            hint = did_you_mean(attribute, dataset.attr_names)
            known = ", ".join(n for n in dataset.attr_names if n)
            raise ParameterError(f"no attribute {attribute!r}{hint} (one of {known})")
        labels = dataset.attr[:, dataset.attr_names.index(attribute)].long()
    chosen = spread(len(dataset.filename), limit)
    folder = base / cls.base_folder / "img_align_celeba"
    files = [folder / dataset.filename[i] for i in chosen]
    chosen_labels = labels[chosen].tolist() if labels is not None else None
    key = {"source": "celeba", "root": str(base.resolve()), "split": split, "attribute": attribute, "limit": limit,
           "files": files_digest(folder, files)}
    image_set = decoded_images(key, len(files), lambda i: (files[i], chosen_labels[i] if chosen_labels else None),
                               size, 3, f"CelebA in {folder}", name=lambda i: files[i].name)
    return image_set, (2 if attribute is not None else None)


def celeba(root: str | None, download: bool, split: str, size: int, attribute: str | None, limit: int | None) -> Data:
    """CelebA's aligned faces, resized (shorter side) and centre-cropped to ``size``; labelled by one attribute
    (0/1) when ``attribute`` names one."""
    image_set, classes = _celeba_set(root, download, split, size, attribute, limit)
    return Data.images(image_set.pixels, labels=image_set.labels, classes=classes)


def celeba_shape(size: int, attribute: str | None, **_) -> DataSpec:
    """Known without the files: RGB at ``size``, two classes when labelled by an attribute."""
    return DataSpec("image", (3, size, size), 2 if attribute is not None else None)


# -- any torchvision dataset ------------------------------------------------------------------------------------


def dataset_names() -> list[str]:
    """``torchvision.datasets`` classes (the image datasets among them are what this takes)."""
    import torchvision.datasets as tvd
    from torchvision.datasets.vision import VisionDataset

    return sorted(n for n in dir(tvd) if isinstance(getattr(tvd, n), type)
                  and issubclass(getattr(tvd, n), VisionDataset) and n not in ("VisionDataset", "DatasetFolder"))


def _instantiate(name: str, root: Path, download: bool, split: str | None):
    import torchvision.datasets as tvd

    names = dataset_names()
    if name not in names:
        lowered = {n.lower(): n for n in names}
        hint = f"; did you mean '{lowered[name.lower()]}'?" if name.lower() in lowered else did_you_mean(name, names)
        raise ParameterError(f"'{name}' is not a torchvision dataset{hint} (e.g. SVHN, STL10, Flowers102, Places365; "
                             f"see torchvision.datasets)")
    cls = getattr(tvd, name)
    sig = inspect.signature(cls)
    kwargs = {}
    if "split" in sig.parameters:
        kwargs["split"] = split or "train"
    elif "train" in sig.parameters:
        if split not in (None, "train", "test"):
            raise ParameterError(f"{name} has a train and a test split, not {split!r}")
        kwargs["train"] = split != "test"
    elif split is not None:
        raise ParameterError(f"{name} takes no split")
    if "download" in sig.parameters:
        kwargs["download"] = download
    try:
        return cls(str(root), **kwargs)
    except (ParameterError, DatasetError):
        raise
    except ValueError as err:  # a split torchvision does not know
        raise ParameterError(f"{name}: {first_line(err)}") from None
    except Exception as err:  # noqa: BLE001 - missing or broken files
        raise _missing(name, root, download, err, "its files in torchvision's layout") from None


def _any_set(name: str | None, root: str | None, download: bool, split: str | None, size: int | None,
             channels: str, limit: int | None) -> tuple[ImageSet, int | None]:
    from PIL import Image

    from .folder import default_size, spread

    if not name:
        raise ParameterError("it needs a class name: --set dataset.name=SVHN")
    base = _root(root)
    dataset = _instantiate(name, base, download, split)
    if len(dataset) == 0:
        raise DatasetError(f"torchvision's {name} in {base} has no items")
    first = dataset[0]
    if not (isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], Image.Image)
            and isinstance(first[1], int)):
        raise DatasetError(f"torchvision's {name} gives items of another form ({type(first).__name__}), not "
                           f"(image, class label); ganzoo takes datasets of labelled images")
    chosen = spread(len(dataset), limit)
    announce, side = None, size
    if side is None:  # items are decoded whole, so a smaller sample than a folder's headers
        with warnings.catch_warnings():  # huge images are reported when decoded, not as PIL's raw warning here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            side, how = default_size([min(dataset[chosen[i]][0].size) for i in spread(len(chosen), 16)])
        announce = f"torchvision's {name}: decoding its images at {how}; set dataset.size to choose another"
    folder = base / getattr(dataset, "base_folder", name)
    stamp = files_digest(folder, sorted(p for p in folder.rglob("*") if p.is_file())) if folder.is_dir() else ""
    key = {"source": "torchvision", "name": name, "root": str(base.resolve()), "split": split, "limit": limit,
           "items": len(dataset), "files": stamp}
    image_set = decoded_images(key, len(chosen), lambda i: dataset[chosen[i]], side,
                               None if channels == "auto" else int(channels), f"torchvision's {name} in {base}",
                               name=lambda i: f"item {chosen[i]}", announce=announce)
    classes = len(getattr(dataset, "classes", [])) or None
    labels = image_set.labels
    if labels is not None and int(labels.min()) < 0:  # e.g. STL10's unlabelled part (-1): no classes to condition on
        image_set.labels = labels = None
    if labels is not None and classes is not None and int(labels.max()) >= classes:
        classes = None
    return image_set, classes


def any_dataset(name, root, download, split, size, channels, limit) -> Data:
    """Any ``torchvision.datasets`` class of (image, label) items, decoded once to ``size`` (default: the median
    shorter side of a sample, capped), centre-cropped square."""
    image_set, classes = _any_set(name, root, download, split, size, channels, limit)
    return Data.images(image_set.pixels, labels=image_set.labels, classes=classes)


def any_shape(**params) -> DataSpec:
    image_set, classes = _any_set(**params)
    return DataSpec("image", tuple(image_set.pixels.shape[1:]),
                    classes or (int(image_set.labels.max()) + 1 if image_set.labels is not None else None))
