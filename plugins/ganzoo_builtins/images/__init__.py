"""Built-in plugin: image datasets beyond MNIST — any folder of images, CIFAR-10/100, CelebA, and any torchvision
dataset by class name. Decoded images are cached as uint8 (see ``ganzoo.decoded_images``), so only the first run
pays for decoding, and a dataset larger than the memory budget trains from the memory-mapped cache."""

from __future__ import annotations

from ganzoo import DatasetSpec, Param, hookimpl

from . import folder, named

_ROOT = Param("root", str, None, "folder holding the dataset in torchvision's layout (default: $GANZOO_DATA, else "
                                 "~/.cache/ganzoo/data)", path=True)
_DOWNLOAD = Param("download", bool, True, "download the files when they are missing")
_LIMIT = Param("limit", int, None, "only N images, spread evenly over the dataset so every class keeps its share "
                                   "(data-limited training)", min=1)
_AUTO_SIZE = f"default: the median shorter side of a sample of the images, at most {folder.MAX_AUTO_SIZE}"
_CHANNELS = Param("channels", str, "auto", "1 (greyscale) or 3 (RGB); auto: 1 when every image is greyscale. An "
                                          "alpha channel is discarded", folder.CHANNELS)


def _cifar(which: str, description: str, alias_of: str = "") -> DatasetSpec:
    classes = 10 if which == "CIFAR10" else 100
    return DatasetSpec(
        name=which.lower(), factory=lambda **p: named.cifar(which, **p), shape=named.cifar_shape(which),
        description=description, alias_of=alias_of,
        params=(_ROOT, _DOWNLOAD, Param("train", bool, True, "use the training split (false: the test split)"),
                Param("classes", list[int], None, "only these classes, e.g. 3,5", min=0, max=classes - 1),
                Param("limit", int, None, "only the first N images (after 'classes')", min=1)),
        test_split={"train": False, "limit": None}, full_data={"limit": None},
    )


@hookimpl
def ganzoo_datasets():
    yield DatasetSpec(
        name="folder", aliases=("imagefolder",), factory=folder.folder, shape=folder.shape,
        description="Any folder of images (PNG, JPEG, WebP, BMP, GIF...); class subfolders become labels.",
        params=(
            Param("path", str, None, "the folder (nested folders are walked; hidden files are skipped)", path=True),
            Param("size", int, None, f"square side: the shorter side is resized to it, then centre-cropped "
                                     f"({_AUTO_SIZE})", min=1),
            _CHANNELS,
            Param("labels", str, "auto", "folders: each top-level subfolder is a class (torchvision's ImageFolder); "
                                         "none: unlabelled; auto: folders unless images lie directly in the folder",
                  folder.LABELS),
            _LIMIT,
        ),
    )
    yield _cifar("CIFAR10", "CIFAR-10 (Krizhevsky 2009), 3x32x32, 10 classes, through torchvision.")
    yield _cifar("CIFAR100", "CIFAR-100 (Krizhevsky 2009), 3x32x32, 100 classes, through torchvision.",
                 alias_of="cifar10, reading torchvision's CIFAR100 files")
    yield DatasetSpec(
        name="celeba", factory=named.celeba, shape=named.celeba_shape,
        description="CelebA aligned faces (Liu et al. 2015) through torchvision, centre-cropped to 64x64 RGB.",
        params=(_ROOT, _DOWNLOAD,
                Param("split", str, "train", "train, valid, test or all", ("train", "valid", "test", "all")),
                Param("size", int, 64, "square side (the shorter side is resized to it, then centre-cropped)", min=1),
                Param("attribute", str, None, "label each face by this attribute (0/1), e.g. Smiling, for the "
                                              "conditional models"),
                _LIMIT),
        test_split={"split": "test", "limit": None}, full_data={"limit": None},
    )
    yield DatasetSpec(
        name="torchvision", factory=named.any_dataset, shape=named.any_shape,
        description="Any torchvision.datasets class of (image, label) items by name, e.g. SVHN or STL10.",
        params=(Param("name", str, None, "the class in torchvision.datasets, e.g. SVHN"), _ROOT, _DOWNLOAD,
                Param("split", str, None, "the split (e.g. train, test; default: the training split)"),
                Param("size", int, None, f"square side ({_AUTO_SIZE})", min=1), _CHANNELS,
                _LIMIT),
    )
