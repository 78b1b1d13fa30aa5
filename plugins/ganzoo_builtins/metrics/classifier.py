"""A small CNN that classifies a labelled image dataset; its penultimate features drive the image metrics.

Trained once per dataset on the real training split and cached with its test accuracy (as a reference of the
metric, ``ctx.reference``, under ``$GANZOO_CACHE/references/``), so every later evaluation is a forward pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo import Data, DataSpec, to_model_space

FEATURES = 128
#: Bumped when the network or its training changes, so a cached classifier of another kind is never loaded.
VERSION = 1
EPOCHS, BATCH_SIZE, MIN_STEPS = 2, 128, 300


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


def training_steps(n: int, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE, min_steps: int = MIN_STEPS) -> int:
    """Batches the classifier trains on for ``n`` images: ``epochs`` passes, more on a small dataset, so it still
    sees ``min_steps`` batches."""
    per_epoch = math.ceil(n / batch_size)
    return max(epochs, math.ceil(min_steps / per_epoch)) * per_epoch


def train_classifier(train: Data, test: Data | None, device: torch.device, progress, epochs: int = EPOCHS,
                     batch_size: int = BATCH_SIZE, min_steps: int = MIN_STEPS,
                     seed: int = 0) -> tuple[FeatureCNN, float]:
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
    epochs = training_steps(len(images), epochs, batch_size, min_steps) // steps_per_epoch
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


def load_or_train(ctx, train: Data, test: Data | None) -> tuple[FeatureCNN, float]:
    """The classifier for this dataset (``ctx`` is the metric's ``EvalContext``), trained on ``train`` and measured
    on ``test`` the first time, then read from ganzoo's reference cache."""
    classes = int(train.labels.max()) + 1

    def compute(advance) -> dict:
        model, acc = train_classifier(train, test, ctx.device, lambda description, total: advance)
        return {"state": model.state_dict(), "accuracy": acc}

    saved = ctx.reference("classifier", compute, source=[train] + ([test] if test is not None else []),
                          total=training_steps(len(train)), description="feature classifier (first use, then cached)",
                          key={"version": VERSION, "classes": classes, "shape": list(train.spec.shape)})
    model = FeatureCNN(train.spec, classes)
    model.load_state_dict(saved["state"])
    return model.to(ctx.device), float(saved["accuracy"])
