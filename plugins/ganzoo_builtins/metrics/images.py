"""Metrics for labelled image data, through the cached feature classifier: classifier FID, class coverage,
entropy of the predicted classes, and mean confidence; for a conditional generator also how often a sample is
classified as the class it was drawn for, and for InfoGAN's codes how purely each code value picks one class."""

from __future__ import annotations

import math

import torch

from ganzoo import Data

from .classifier import load_or_train, predict
from .distances import frechet_distance, gaussian_stats, inception_score

#: Samples of a class, generated and real, below which intra-class FID leaves the class out (its covariance would be
#: mostly noise).
MIN_PER_CLASS = 20


def intra_class_fid(feats: torch.Tensor, labels: torch.Tensor, real_feats: torch.Tensor,
                    real_labels: torch.Tensor) -> float:
    """Mean over classes of the Fréchet distance between the samples drawn for a class and that class's real
    samples (Miyato & Koyama 2018's intra-FID), in the classifier's feature space."""
    distances = []
    for c in sorted(set(labels.tolist())):
        fake, real = feats[labels == c], real_feats[real_labels == c]
        if len(fake) >= MIN_PER_CLASS and len(real) >= MIN_PER_CLASS:
            distances.append(frechet_distance(gaussian_stats(fake), gaussian_stats(real)))
    return sum(distances) / len(distances) if distances else math.nan

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


def label_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of samples classified as the class they were drawn for, averaged over the classes drawn."""
    per_class = [(predicted[labels == c] == c).double().mean().item() for c in labels.unique().tolist()]
    return sum(per_class) / len(per_class)


def code_purity(predicted: torch.Tensor, codes: torch.Tensor) -> tuple[float, float]:
    """For each code value, the share of its samples in their most frequent class, averaged over the codes; and
    how many distinct classes are some code's majority (InfoGAN: one code value per digit scores 1.0 and 10)."""
    purities, majorities = [], set()
    for code in codes.unique().tolist():
        counts = torch.bincount(predicted[codes == code])
        purities.append(counts.max().item() / counts.sum().item())
        majorities.add(int(counts.argmax()))
    return sum(purities) / len(purities), float(len(majorities))


def _prepare(ctx) -> dict:
    """The classifier and the real test split's statistics, loaded once into the metric's state."""
    state = ctx.state
    if "model" not in state:
        test = ctx.held_out()
        model, acc = load_or_train(ctx, ctx.full_data(), test)
        reference = test if test is not None else ctx.full_data()
        feats, _ = predict(model, reference.samples, ctx.device)
        state.update(model=model, accuracy=acc, real_stats=gaussian_stats(feats), real_feats=feats,
                     real_labels=reference.labels, present=sorted(set(ctx.data.labels.tolist())))
    return state


def compute(ctx) -> dict[str, float]:
    return compute_many([ctx])[0]


def compute_many(contexts) -> list[dict[str, float]]:
    """Every sample set's scores from one classifier forward over all of them (a sweep's members), split per set."""
    state = _prepare(contexts[0])
    feats, probs = predict(state["model"], torch.cat([ctx.samples for ctx in contexts]), contexts[0].device)
    sizes = [len(ctx.samples) for ctx in contexts]
    return [_scores(ctx, state, f, p) for ctx, f, p in zip(contexts, feats.split(sizes), probs.split(sizes))]


def _scores(ctx, state: dict, feats: torch.Tensor, probs: torch.Tensor) -> dict[str, float]:
    if not torch.isfinite(feats).all():
        return {"classifier_fid": math.inf, "classes_covered": 0.0, "class_entropy": 0.0, "confidence": 0.0,
                "classifier_accuracy": state["accuracy"]}
    out = {
        "classifier_fid": frechet_distance(gaussian_stats(feats), state["real_stats"]),
        **class_stats(probs, state["present"]),
        "classifier_is": inception_score(probs),
        "classifier_accuracy": state["accuracy"],
    }
    if ctx.labels is not None and ctx.label_kind == "classes":
        out["label_accuracy"] = label_accuracy(probs.argmax(1), ctx.labels)
        out["intra_class_fid"] = intra_class_fid(feats, ctx.labels, state["real_feats"], state["real_labels"])
    elif ctx.labels is not None and ctx.label_kind == "codes":
        out["code_purity"], out["code_classes"] = code_purity(probs.argmax(1), ctx.labels)
    return out


KEYS = {
    "classifier_fid": "Fréchet distance of classifier features, generated vs the real test split",
    "classes_covered": f"classes that get >= {COVERED_SHARE:.0%} of the generated samples",
    "class_entropy": "entropy of the predicted-class histogram, in bits (log2 K when uniform)",
    "confidence": "mean top-class probability of generated samples",
    "classifier_accuracy": "the feature classifier's accuracy on the real test split",
    "classifier_is": "Inception Score computed with the dataset's classifier: exp E KL(p(y|x) || p(y)), 1 to K",
    "intra_class_fid": f"conditional G: classifier FID per class (samples drawn for it vs its real ones), mean "
                       f"over classes with >= {MIN_PER_CLASS} of each",
    "label_accuracy": "conditional G: share of samples classified as the class drawn for them, mean over classes",
    "code_purity": "G's own codes (InfoGAN): share of each code value's samples in its majority class, mean",
    "code_classes": "G's own codes (InfoGAN): distinct classes that are some code value's majority",
}
BETTER = {"classifier_fid": "lower", "classes_covered": "higher", "class_entropy": "higher", "confidence": "higher",
          "classifier_is": "higher", "intra_class_fid": "lower",
          "label_accuracy": "higher", "code_purity": "higher", "code_classes": "higher"}
