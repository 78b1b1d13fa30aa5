"""Metrics for labelled image data, through the cached feature classifier: classifier FID, class coverage,
entropy of the predicted classes, and mean confidence."""

from __future__ import annotations

import math

import torch

from ganzoo import Data

from .classifier import load_or_train, predict
from .distances import frechet_distance, gaussian_stats

#: A class counts as covered when it gets at least this share of the samples.
COVERED_SHARE = 0.02


def applies(data: Data) -> bool:
    return data.spec.kind == "image" and data.labels is not None


def class_stats(probs: torch.Tensor, present: list[int]) -> dict[str, float]:
    """Coverage, entropy (bits) and confidence from class probabilities (N, K) over the ``present`` classes."""
    predicted = probs.argmax(1)
    shares = torch.bincount(predicted, minlength=probs.shape[1]).double() / len(predicted)
    nonzero = shares[shares > 0]
    return {
        "classes_covered": float(sum(shares[c].item() >= COVERED_SHARE for c in present)),
        "class_entropy": -(nonzero * nonzero.log2()).sum().item(),
        "confidence": probs.max(1).values.double().mean().item(),
    }


def compute(ctx) -> dict[str, float]:
    state = ctx.state
    if "model" not in state:
        test = ctx.held_out()
        model, acc = load_or_train(ctx.dataset.name, ctx.dataset_params, ctx.data, test, ctx.device, ctx.progress)
        reference = test if test is not None else ctx.data
        feats, _ = predict(model, reference.samples, ctx.device)
        state.update(model=model, accuracy=acc, real_stats=gaussian_stats(feats),
                     present=sorted(set(ctx.data.labels.tolist())))
    feats, probs = predict(state["model"], ctx.samples, ctx.device)
    if not torch.isfinite(feats).all():
        return {"classifier_fid": math.inf, "classes_covered": 0.0, "class_entropy": 0.0, "confidence": 0.0,
                "classifier_accuracy": state["accuracy"]}
    return {
        "classifier_fid": frechet_distance(gaussian_stats(feats), state["real_stats"]),
        **class_stats(probs, state["present"]),
        "classifier_accuracy": state["accuracy"],
    }


KEYS = {
    "classifier_fid": "Fréchet distance of classifier features, generated vs the real test split",
    "classes_covered": f"classes that get >= {COVERED_SHARE:.0%} of the generated samples",
    "class_entropy": "entropy of the predicted-class histogram, in bits (log2 K when uniform)",
    "confidence": "mean top-class probability of generated samples",
    "classifier_accuracy": "the feature classifier's accuracy on the real test split",
}
BETTER = {"classifier_fid": "lower", "classes_covered": "higher", "class_entropy": "higher", "confidence": "higher"}
