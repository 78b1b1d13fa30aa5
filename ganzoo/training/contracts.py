"""What the plugins of a training step see and implement: what D returned, the step's context, and the base classes
of losses, regularisers and constraints.

The trainer owns the loop; these contracts are how a loss, a regulariser or a constraint takes part in it without
knowing anything else about the mix (conditioning, augmentation, mixed precision, several ranks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn


class DOutput:
    """What the discriminator returned for one batch: ``logits`` of shape (B,) and named per-sample outputs
    (``out["classes"]``, ``out.get("features")``) declared by its record's ``outputs``."""

    __slots__ = ("logits", "heads")

    def __init__(self, logits: torch.Tensor, heads: Mapping[str, torch.Tensor] | None = None) -> None:
        self.logits = logits
        self.heads = dict(heads or {})

    @classmethod
    def of(cls, returned) -> DOutput:
        """Normalise a module's return value: a tensor of logits, or a dict with ``"logits"`` and more."""
        if isinstance(returned, DOutput):
            return returned
        if isinstance(returned, Mapping):
            heads = dict(returned)
            return cls(heads.pop("logits"), heads)
        return cls(returned)

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self.heads[name]
        except KeyError:
            raise KeyError(f"the discriminator returned no '{name}' output (it returned: "
                           f"{', '.join(['logits', *self.heads])})") from None

    def get(self, name: str, default=None):
        return self.heads.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.heads

    def detach(self) -> DOutput:
        return DOutput(self.logits.detach(), {k: v.detach() for k, v in self.heads.items()})

    def split(self, n: int) -> tuple[DOutput, DOutput]:
        """The first ``n`` samples' outputs and the rest's (one D pass scored two batches)."""
        return (DOutput(self.logits[:n], {k: v[:n] for k, v in self.heads.items()}),
                DOutput(self.logits[n:], {k: v[n:] for k, v in self.heads.items()}))

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in {"logits": self.logits, **self.heads}.items())
        return f"DOutput({shapes})"


class Drawing:
    """How a step runs G and draws its inputs; the trainer gives one to every :class:`StepContext`."""

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def noise(self, n: int) -> torch.Tensor:
        raise NotImplementedError

    def labels(self, n: int) -> torch.Tensor | None:
        raise NotImplementedError


@dataclass
class StepContext:
    """Everything beyond the logits that a loss or regulariser may need, for the player being updated.

    - ``real``, ``fake``: the batches as drawn and generated, before augmentation (``fake`` is detached in D's
      step, and carries G's graph in G's).
    - ``discriminator``: the plain D module (for a gradient penalty on inputs of your own; no augmentation, no
      labels). Prefer :meth:`score`, which runs D the way the step does.
    - ``real_labels``, ``fake_labels``: class indices ``(B,)`` of each batch, or ``None`` in an unconditional mix.
    - ``real_out``, ``fake_out``: what D returned for each batch (:class:`DOutput`). In G's step ``real_out`` is
      the output of D's last update on the real batch, detached: a relativistic G loss reads it with no extra
      forward pass (it is D's output before that update, which is what a standard alternating step has). A lazy
      regulariser's own step (``every`` > 1) gets the same fields as an eager one: in D's, fresh outputs for both
      batches, with gradients.
    - ``z``: the noise the fake batch was generated from (InfoGAN's continuous codes are its first entries).
    - ``player``: ``"discriminator"`` or ``"generator"``; ``step``: the training step (from 0).
    - ``scorer``: set by the trainer: how :meth:`score` runs D (augmented, with labels for a conditional D);
      ``score(x, labels=None)`` returns a :class:`DOutput`, differentiable in ``x`` and D's weights, for gradient
      penalties.
    - ``generator``: the plain G module, for a regulariser on G's weights (BigGAN's orthogonal regularisation).
    - ``drawing``: set by the trainer: how :meth:`generate`, :meth:`noise` and :meth:`labels` run G and draw its
      inputs the way the step does (mixed precision, compiled or not, the right module under DDP). In D's step G's
      weights are not updated, so wrap a generation there in ``torch.no_grad()``.
    """

    real: torch.Tensor
    fake: torch.Tensor
    discriminator: nn.Module
    real_labels: torch.Tensor | None = None
    fake_labels: torch.Tensor | None = None
    real_out: DOutput | None = None
    fake_out: DOutput | None = None
    z: torch.Tensor | None = None
    player: str = "discriminator"
    step: int = 0
    scorer: Callable[[torch.Tensor, torch.Tensor | None], DOutput] | None = field(default=None, repr=False)
    generator: nn.Module | None = field(default=None, repr=False)
    drawing: Drawing | None = field(default=None, repr=False)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) (``labels`` for a conditional G: from :meth:`labels`) as the step runs it, differentiable in G's
        weights: a second generated batch (mode seeking compares two)."""
        return self._drawing().generate(z, labels)

    def noise(self, n: int) -> torch.Tensor:
        """``n`` latent vectors drawn as the step draws them, on the step's device."""
        return self._drawing().noise(n)

    def labels(self, n: int) -> torch.Tensor | None:
        """Labels for ``n`` generated samples, drawn as the step draws them (None for an unconditional G)."""
        return self._drawing().labels(n)

    def _drawing(self) -> Drawing:
        if self.drawing is None:
            raise RuntimeError("this StepContext was built outside a training step: it cannot run the generator")
        return self.drawing

    def score(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> DOutput:
        """D's outputs for ``x`` as the step computes them: through the augmentations and with ``labels`` for a
        conditional D. Differentiable with respect to ``x`` and D's weights (R1 and gradient penalties use it)."""
        if self.scorer is not None:
            return self.scorer(x, labels)
        return DOutput.of(self.discriminator(x))


class GANLoss:
    """Base class for losses. Override both methods; work on logits with numerically stable functions
    (``softplus``, ``binary_cross_entropy_with_logits``) and in float32 (``.float()``), so mixed precision stays
    finite."""

    #: Whether D's outputs are logits of "real" (the BCE losses): then the D(x) and D(G(z)) statistics show
    #: sigmoid probabilities. Critic losses (Wasserstein, hinge, least squares) set False: their statistics are
    #: D's mean raw outputs, which is what their losses are written in.
    probability_outputs: ClassVar[bool] = True

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        """The scalar the discriminator minimises."""
        raise NotImplementedError

    def generator_loss(self, fake_logits: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """The scalar the generator minimises."""
        raise NotImplementedError


class Regulariser:
    """Base class for regularisers: override ``discriminator_penalty``, ``generator_penalty`` or both; the player
    whose method is overridden gets the penalty. Return the *unweighted* scalar: the trainer multiplies it by the
    regulariser's ``weight`` (and by ``every`` when it runs lazily), so weights stay settable for every one."""

    def discriminator_penalty(self, ctx: StepContext) -> torch.Tensor:
        """Added to D's loss, times ``weight``."""
        raise NotImplementedError

    def generator_penalty(self, ctx: StepContext) -> torch.Tensor:
        """Added to G's loss, times ``weight``."""
        raise NotImplementedError

    def players(self) -> tuple[str, ...]:
        """The players whose penalty method this regulariser overrides."""
        own = type(self)
        return tuple(player for player, method in (("discriminator", "discriminator_penalty"),
                                                   ("generator", "generator_penalty"))
                     if getattr(own, method) is not getattr(Regulariser, method))


class Constraint:
    """Base class for constraints: ``apply(module)`` changes the player's weights in place (under ``no_grad``)
    after each of its optimizer steps, e.g. clipping every weight into [-c, c]."""

    def apply(self, module: nn.Module) -> None:
        raise NotImplementedError
