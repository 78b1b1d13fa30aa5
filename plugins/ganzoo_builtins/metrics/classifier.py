"""A small CNN that classifies a labelled image dataset; its penultimate features drive the image metrics.

Trained once per dataset configuration on the real training split and cached, with its test accuracy, so every
later evaluation is a forward pass.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo import Data, DataSpec, cache_dir, to_model_space

FORMAT = "ganzoo-classifier"
FEATURES = 128
#: Parameters that change where data comes from but not what it is; they do not change the classifier.
NOT_IDENTITY = {"root", "download"}


class FeatureCNN(nn.Module):
    """conv 32 -> pool -> conv 64 -> pool -> fc 128 (features) -> classes; any (C, H, W) with H, W >= 4."""

    def __init__(self, spec: DataSpec, classes: int) -> None:
        super().__init__()
        c, h, w = spec.shape
        self.body = nn.Sequential(
            nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (h // 4) * (w // 4), FEATURES), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


def cache_path(dataset: str, params: dict[str, Any], spec: DataSpec, classes: int) -> Path:
    identity = {k: v for k, v in sorted(params.items()) if k not in NOT_IDENTITY}
    key = json.dumps([dataset, identity, list(spec.shape), classes], sort_keys=True, default=str)
    return cache_dir() / "classifiers" / f"{dataset}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.pt"


@torch.no_grad()
def predict(model: FeatureCNN, images: torch.Tensor, device: torch.device, batch: int = 1000):
    """Features (N, 128) and class probabilities (N, K) for images in the model space ([-1, 1])."""
    model.eval()
    feats, probs = [], []
    for part in images.split(batch):
        f, logits = model(to_model_space(part.to(device)))
        feats.append(f.cpu())
        probs.append(logits.softmax(1).cpu())
    return torch.cat(feats), torch.cat(probs)


def accuracy(model: FeatureCNN, data: Data, device: torch.device) -> float:
    _, probs = predict(model, data.samples, device)
    return (probs.argmax(1) == data.labels).double().mean().item()


def train_classifier(train: Data, test: Data | None, device: torch.device, progress, epochs: int = 2,
                     batch_size: int = 128, min_steps: int = 300, seed: int = 0) -> tuple[FeatureCNN, float]:
    """Train on ``train`` with Adam for ``epochs`` (more on a small dataset, so it still sees ``min_steps``
    batches) and report the accuracy on ``test`` (or ``train`` when there is no held-out split)."""
    # Its own random stream: training the classifier on first use must not change a GAN run's random numbers.
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return _train(train, test, device, progress, epochs, batch_size, min_steps, seed)


def _train(train: Data, test: Data | None, device: torch.device, progress, epochs: int, batch_size: int,
           min_steps: int, seed: int) -> tuple[FeatureCNN, float]:
    classes = int(train.labels.max()) + 1
    gen = torch.Generator().manual_seed(seed)
    model = FeatureCNN(train.spec, classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = train.samples, train.labels
    steps_per_epoch = math.ceil(len(images) / batch_size)
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
    advance = progress("feature classifier (first use)", epochs * steps_per_epoch)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
            _, logits = model(to_model_space(images[idx].to(device)))
            loss = F.cross_entropy(logits, labels[idx].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            advance(1)
    return model, accuracy(model, test if test is not None else train, device)


def load_or_train(dataset: str, params: dict[str, Any], train: Data, test: Data | None, device: torch.device,
                  progress) -> tuple[FeatureCNN, float]:
    """The cached classifier for this dataset configuration, trained and saved on first use."""
    classes = int(train.labels.max()) + 1
    path = cache_path(dataset, params, train.spec, classes)
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("format") == FORMAT:
                model = FeatureCNN(train.spec, classes)
                model.load_state_dict(saved["state"])
                return model.to(device), float(saved["accuracy"])
        except Exception:  # noqa: BLE001 - a broken cache file is simply retrained
            pass
    model, acc = train_classifier(train, test, device, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")  # two processes may build the same cache at once
    torch.save({"format": FORMAT, "state": {k: v.cpu() for k, v in model.state_dict().items()}, "accuracy": acc},
               tmp)
    tmp.replace(path)
    return model, acc
