"""Tiny CIFAR-10/100 and CelebA folders in the real on-disk formats torchvision's classes read (nothing downloads)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def _cifar_files(root, folder, train_files, test_file, meta_file, label_key, meta_key, classes):
    base = root / folder
    base.mkdir(parents=True)
    gen = np.random.default_rng(0)
    for name in [*train_files, test_file]:
        data = gen.integers(0, 256, (10, 3072), dtype=np.uint8)
        data[:, :1024] = np.arange(10)[:, None] * 20  # the red plane of image i is 20 * i
        with open(base / name, "wb") as f:
            pickle.dump({"data": data, label_key: [i % classes for i in range(10)]}, f)
    with open(base / meta_file, "wb") as f:
        pickle.dump({meta_key: [f"c{i}" for i in range(classes)]}, f)


def make_tiny_cifar(root: Path) -> Path:
    """CIFAR-10 (5 train batches and a test batch of 10 images each) and CIFAR-100 (10 + 10) under ``root``; the red
    plane of image i of every batch is 20 * i, and image i has class i % classes."""
    _cifar_files(root, "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                 "batches.meta", "labels", "label_names", 10)
    _cifar_files(root, "cifar-100-python", ["train"], "test", "meta", "fine_labels", "fine_label_names", 100)
    return root


def make_tiny_celeba(root: Path, n: int = 12) -> Path:
    """``n`` aligned 178x218 faces (image i has red 10 * i), the first 8 in the train split, the rest in test;
    attribute Smiling is 1 for every third image."""
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    attrs = ["5_o_Clock_Shadow", "Smiling"] + [f"A{i}" for i in range(38)]
    for i, name in enumerate(names):
        Image.new("RGB", (178, 218), (10 * i, 100, 100)).save(base / "img_align_celeba" / name)
    (base / "list_eval_partition.txt").write_text("".join(f"{n_} {0 if i < 8 else 2}\n" for i, n_ in enumerate(names)))
    (base / "identity_CelebA.txt").write_text("".join(f"{n_} {i}\n" for i, n_ in enumerate(names)))
    (base / "list_bbox_celeba.txt").write_text(f"{n}\nimage_id x_1 y_1 width height\n"
                                               + "".join(f"{n_} 1 2 3 4\n" for n_ in names))
    marks = " ".join(["lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y", "leftmouth_x",
                      "leftmouth_y", "rightmouth_x", "rightmouth_y"])
    (base / "list_landmarks_align_celeba.txt").write_text(f"{n}\n{marks}\n"
                                                          + "".join(f"{n_} {' '.join(['1'] * 10)}\n" for n_ in names))
    rows = "".join(f"{n_} -1 {1 if i % 3 == 0 else -1} {' '.join(['-1'] * 38)}\n" for i, n_ in enumerate(names))
    (base / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(attrs)}\n{rows}")
    return root
