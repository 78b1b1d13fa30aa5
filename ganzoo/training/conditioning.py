"""How class labels flow through a mix: which components take labels, and how the trainer draws them.

A conditional generator gets the labels its batch is generated for; a conditional discriminator gets the real
batch's own labels and the generated batch's; losses and regularisers read both through the step's context. The
labels of a generated batch are drawn on the device, without a host sync: from the data's class frequencies (the
labels of a second, independent batch of indices) or uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import TrainConfig
from ..data.contract import DataSpec
from ..errors import IncompatibleError, PluginError
from ..registry.kinds import SLOTS
from ..registry.registry import Registry

#: A conditional run's sample pictures show at most this many classes...
GRID_CLASSES = 20
#: ...each with an equal share of the picture's samples, and at least this many.
GRID_PER_CLASS = 10


@dataclass(frozen=True)
class Conditioning:
    """How labels flow through a mix.

    ``classes`` is the number of label values the generated batch is drawn from (None: G takes no labels);
    ``own_labels`` says they are G's own codes (InfoGAN), drawn uniformly whatever the data; ``discriminator``
    says D takes labels too; ``real_labels`` says the step needs the real batch's labels (a conditional D, or a
    loss or regulariser that reads them).
    """

    classes: int | None = None
    own_labels: bool = False
    discriminator: bool = False
    real_labels: bool = False

    @property
    def generator(self) -> bool:
        return self.classes is not None

    def grid_labels(self, present: list[int] | None = None, total: int = 64) -> torch.Tensor | None:
        """Class-major labels for a sample picture of about ``total`` samples: every class present (up to 20) with
        an equal share, at least 10 each (None for an unconditional G). 64 images of 2 classes: 32 each, drawn as
        8 x 8; 1,000 points of 4 classes: 250 each."""
        if self.classes is None:
            return None
        classes = (present if present and not self.own_labels else list(range(self.classes)))[:GRID_CLASSES]
        return torch.tensor(classes).repeat_interleave(max(GRID_PER_CLASS, -(-total // len(classes))))

    @property
    def label_word(self) -> str:
        """How pictures name a label: InfoGAN's are its own codes, not the data's classes."""
        return "code" if self.own_labels else "class"

    def sample_labels(self, n: int, label: int | None = None) -> torch.Tensor | None:
        """Labels for ``n`` samples: all ``label``, or class-major blocks over every class (sample ``i`` has label
        ``i // ceil(n / classes)``)."""
        if self.classes is None:
            return None
        if label is not None:
            return torch.full((n,), label, dtype=torch.long)
        per_class = -(-n // self.classes)
        return torch.arange(self.classes).repeat_interleave(per_class)[:n]


class LabelSampler:
    """Draws the labels of generated batches on the device."""

    def __init__(self, conditioning: Conditioning, data_labels: torch.Tensor | None, label_dist: str,
                 device: torch.device) -> None:
        self.classes = conditioning.classes
        self.device = device
        uniform = conditioning.own_labels or label_dist == "uniform" or data_labels is None
        self.pool = None if uniform else data_labels.to(device)

    def __call__(self, n: int) -> torch.Tensor | None:
        if self.classes is None:
            return None
        if self.pool is None:
            return torch.randint(self.classes, (n,), device=self.device)
        return self.pool[torch.randint(len(self.pool), (n,), device=self.device)]


def conditioning(registry: Registry, config: TrainConfig, data: DataSpec) -> Conditioning:
    """The mix's label flow, or an :class:`IncompatibleError` saying which component needs labels it cannot get."""
    g = registry.get("generator", config.generator.name)
    d = registry.get("discriminator", config.discriminator.name)
    dataset = f"dataset '{config.dataset.name}' ({data.describe()})"
    own = g.conditional and g.label_classes is not None
    classes = None
    if own:
        classes = g.call("label_classes", g.label_classes, **config.generator.params)
        if not isinstance(classes, int) or classes < 1:
            raise PluginError(f"{g.owner}: label_classes returned {classes!r}, not a positive number of classes")
    elif g.conditional:
        classes = data.classes
    needs = {"real": set(), "fake": set()}
    owners = [(d.owner, ("real", "fake") if d.conditional else ())]
    for slot in ("loss", "regularisers"):
        value = config.component(slot)
        for choice in (value if isinstance(value, tuple) else [value]):
            spec = registry.get(SLOTS[slot].kind, choice.name)
            owners.append((spec.owner, spec.needs_labels))
            missing = [o for o in spec.needs_outputs if o not in d.outputs]
            if missing:
                having = [p.spec.name for p in registry.components("discriminators")
                          if set(spec.needs_outputs) <= set(p.spec.outputs)]
                raise IncompatibleError(
                    f"{spec.owner} reads the discriminator's '{missing[0]}' output, which {d.owner} does not "
                    f"return (it returns: {', '.join(['logits', *d.outputs])}); discriminators that do: "
                    f"{', '.join(sorted(set(having))) or 'none installed'}")
    for owner, labels in owners:
        for which in labels:
            needs[which].add(owner)
    if needs["real"] and not data.classes:
        raise IncompatibleError(f"{sorted(needs['real'])[0]} needs the real batch's labels, and {dataset} has none")
    if needs["fake"] and classes is None:
        conditional = [p.spec.name for p in registry.components("generators") if p.spec.conditional]
        raise IncompatibleError(f"{sorted(needs['fake'])[0]} needs the labels each sample was generated for, and "
                                f"{g.owner} takes none; conditional generators: "
                                f"{', '.join(sorted(set(conditional))) or 'none installed'}")
    if needs["real"] and own:
        raise IncompatibleError(f"{sorted(needs['real'])[0]} compares the data's labels with the generated batch's, "
                                f"but {g.owner} draws its own codes, not the dataset's classes; choose a generator "
                                f"conditional on the data's labels")
    return Conditioning(classes, own, d.conditional, bool(needs["real"]))

