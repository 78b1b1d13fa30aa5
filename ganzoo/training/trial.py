"""One whole step of the mix before training, on the run's own state, then everything put back as it was.

It runs every loss, regulariser, augmentation and constraint, and both players' updates, with the run's batch size:
an exception, a loss or penalty that is not a scalar, or one that is not a finite number is refused before the first
real step, with the component named, instead of surfacing at step 812 of a long run. The state (weights, optimizers,
schedules, EMA, plugin state and attributes, batches and every random generator) is copied first and restored
after, so the run that follows is the one that would have run without the trial.
"""

from __future__ import annotations

import copy
import math

from torch import nn

from ..errors import PluginError
from .owners import OWN_STATE
from .step import MAIN_STATS


def trial_step(trainer) -> None:
    saved = copy.deepcopy(trainer.state())
    # plugin objects' own attributes too (a counter, a cached value), which no state_dict declares
    attributes = {c.key: copy.deepcopy(_attributes(c.obj)) for c in trainer.components
                  if not c.key.startswith(OWN_STATE) and hasattr(c.obj, "__dict__")}
    try:
        trainer.train_step()
        values = trainer.stats.take()  # one sync
    finally:
        for c in trainer.components:
            if c.key in attributes:
                vars(c.obj).update(attributes[c.key])
        trainer.restore_state(saved)
    # a penalty first: D's and G's losses include their penalties, so theirs go non-finite with it
    bad = sorted((name for name, value in values.items() if not math.isfinite(value)), key=lambda n: n in MAIN_STATS)
    if bad:
        raise PluginError(f"{_owner(trainer, bad[0])} came out {values[bad[0]]} ({bad[0]}) in a trial step before "
                          f"training, from freshly built models; fix the component, or its parameters")


def _attributes(obj: object) -> dict:
    """An object's own attributes; a module's public ones only (its parameters and buffers are restored in place
    through ``load_state_dict``, so that everything holding them keeps holding the live tensors)."""
    if isinstance(obj, nn.Module):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "training"}
    return dict(vars(obj))


def _owner(trainer, stat: str) -> str:
    """Who produced a statistic: the loss for the losses and D's outputs, a regulariser for its penalty."""
    penalty = trainer.stats.penalty_of.get(stat)
    return f"regulariser '{penalty.name}'" if penalty is not None else trainer.loss_owner
