"""Built-in plugin: MNIST, Fashion-MNIST and KMNIST (one file format) through torchvision, held as uint8."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganzoo import Data, DatasetError, DatasetSpec, DataSpec, Param, data_root, first_line, hookimpl

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class Family:
    """One dataset in MNIST's format: torchvision's class, its folder below the root, and what a class is."""

    name: str
    cls: str  # torchvision.datasets.<cls>; files in ROOT/<cls>/raw/
    description: str
    subset: str  # the parameter that keeps only some classes
    what: str  # a class, in messages ("digits")


FAMILY = (
    Family("mnist", "MNIST", "MNIST handwritten digits, 1x28x28, 10 classes, through torchvision", "digits", "digits"),
    Family("fashion-mnist", "FashionMNIST", "Fashion-MNIST clothing images (Xiao et al. 2017), 1x28x28, 10 classes, "
           "through torchvision", "classes", "classes"),
    Family("kmnist", "KMNIST", "Kuzushiji-MNIST cursive Japanese characters (Clanuwat et al. 2018), 1x28x28, "
           "10 classes, through torchvision", "classes", "classes"),
)


def _missing_message(family: Family, raw: Path, why: str) -> str:
    names = ", ".join(FILES)
    return (
        f"{family.cls} files not found in {raw} ({why}); put {names} (or their .gz) there, "
        f"or point GANZOO_DATA (or the dataset's root parameter) at the folder that holds {family.cls}/raw/"
    )


def load(family: Family, root: str | None, download: bool, train: bool, keep: list[int] | None,
         limit: int | None) -> Data:
    """The training (or test) split as uint8 images with their labels, optionally only some classes and only the
    first ``limit`` images (data-limited training)."""
    import torchvision.datasets

    base = Path(root).expanduser() if root else data_root()
    raw = base / family.cls / "raw"
    try:
        dataset = getattr(torchvision.datasets, family.cls)(str(base), train=train, download=download)
    except Exception as err:  # noqa: BLE001 - torchvision raises RuntimeError/URLError/OSError for missing data
        reason = first_line(err)  # never empty: torchvision's "Error downloading x.gz:" gets the line saying why
        if all((raw / name).is_file() for name in FILES):
            raise DatasetError(f"{family.cls} files in {raw} could not be read ({reason}); replace them") from None
        why = "download is off" if not download else f"the download failed: {reason}"
        raise DatasetError(_missing_message(family, raw, why)) from None
    images, labels = dataset.data, dataset.targets
    if keep is not None:
        chosen = sum(labels == d for d in set(keep)).bool()
        if not chosen.any():
            raise DatasetError(f"{family.cls} in {raw} has no images of {family.what} {keep}")
        images, labels = images[chosen], labels[chosen]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return Data.images(images.unsqueeze(1), labels=labels, classes=10)  # uint8, held as it is


def mnist(root: str | None, download: bool, train: bool, digits: list[int] | None, limit: int | None) -> Data:
    """MNIST (see :func:`load`)."""
    return load(FAMILY[0], root, download, train, digits, limit)


def _factory(family: Family):
    def factory(root, download, train, classes, limit) -> Data:
        return load(family, root, download, train, classes, limit)

    factory.__doc__ = f"{family.cls} (see :func:`load`)."
    return factory


def _shape(**_params) -> DataSpec:
    return DataSpec("image", (1, 28, 28), classes=10)


def _params(family: Family) -> tuple[Param, ...]:
    return (
        Param("root", str, None, f"folder holding {family.cls}/raw/ (default: $GANZOO_DATA, else "
                                 f"~/.cache/ganzoo/data)", path=True),
        Param("download", bool, True, "download the files when they are missing"),
        Param("train", bool, True, "use the training split (false: the test split)"),
        Param(family.subset, list[int], None, f"only these {family.what}, e.g. 0,1,7", min=0, max=9),
        Param("limit", int, None, f"only the first N images (after '{family.subset}'), e.g. 1000 for data-limited "
                                  f"training", min=1),
    )


@hookimpl
def ganzoo_datasets():
    for family in FAMILY:
        yield DatasetSpec(
            name=family.name,
            factory=mnist if family.name == "mnist" else _factory(family),
            shape=_shape,
            description=f"{family.description}; pixels scaled to [-1, 1].",
            alias_of="" if family is FAMILY[0] else f"mnist, reading torchvision's {family.cls} files",
            params=_params(family),
                # Tuned on MNIST with benchmarks/quality.py at equal wall time: EMA 0.999 cuts the classifier FID by a
            # third, and batch 128 at lr 4e-4 by another third (more samples per second on a CPU, same number of
            # updates' noise). Fashion-MNIST and KMNIST share MNIST's size and models, so they start from it.
            suggested={"steps": 25_000, "latent_dim": 100, "batch_size": 128, "lr_g": 4e-4, "lr_d": 4e-4,
                       "ema": 0.999},
            test_split={"train": False, "limit": None},
            full_data={"limit": None},
        )
