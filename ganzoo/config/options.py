"""The training options and the resolved configuration of a run.

Each option is declared once, on its field below: type, default, help, choices, bounds, the value that switches it
off, and whether a resumed run may change it. The command line, config files, recipes, ``--resume`` and the error
messages all read that one declaration (as a :class:`ganzoo.Param`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..registry.kinds import SLOTS
from ..registry.params import Param
from .toml import dumps_toml


def _opt(default: Any, tp: Any, help: str, *, resumable: bool = False, **declared: Any) -> Any:
    """An option field: its :class:`Param` declaration (``min``, ``above``, ``off``...) and whether ``--resume`` may
    change it (what a run does next, not what it is: its steps, device, cadences)."""
    return field(default=default, metadata={"type": tp, "help": help, "resumable": resumable, "declared": declared})


@dataclass(frozen=True)
class Choice:
    """A chosen component and its fully resolved parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


def default_components() -> dict[str, Choice | tuple[Choice, ...]]:
    """Every slot's default: one component, or an empty list."""
    return {slot.name: (() if slot.many else Choice(slot.default)) for slot in SLOTS.values()}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run: the chosen components (``config.generator``,
    ``config.regularisers``... one attribute per slot of ``ganzoo/registry/kinds.py``) and the training options."""

    components: Mapping[str, Choice | tuple[Choice, ...]] = field(default_factory=default_components)
    #: The recipe the run started from. Every value is resolved, so the rest of the config stands on its own.
    recipe: str | None = None
    steps: int = _opt(3000, int, "training steps in total (a resumed run continues up to this number)", min=1,
                      resumable=True)
    batch_size: int = _opt(64, int, "samples per batch", min=2)
    latent_dim: int = _opt(64, int, "size of the noise vector z", min=1)
    lr_g: float = _opt(2e-4, float, "generator learning rate", above=0)
    lr_d: float = _opt(2e-4, float, "discriminator learning rate", above=0)
    lr_schedule: str = _opt("constant", str, "learning-rate schedule: constant, or linear (decays to 0 at the last "
                                             "step)", choices=("constant", "linear"))
    d_steps: int = _opt(1, int, "discriminator updates per step", min=1)
    g_steps: int = _opt(1, int, "generator updates per step", min=1)
    label_dist: str = _opt("data", str, "labels drawn for generated batches of a conditional mix: data (the data's "
                                        "class frequencies) or uniform", choices=("data", "uniform"))
    ema: float | None = _opt(None, float, "decay of a moving average of G used for samples, e.g. 0.999 (warmed up "
                             "as min(decay, (1+step)/(10+step)), so short runs' samples are not stale)", min=0,
                             below=1, off=0)
    seed: int = _opt(0, int, "random seed (same seed, same weights on CPU)", min=0, below=2**63 - 1)
    device: str = _opt("auto", str, "auto | cpu | cuda | cuda:N | mps", resumable=True)
    amp: bool = _opt(False, bool, "mixed precision on CUDA (bf16 autocast; fp16 with loss scaling on older GPUs)",
                     resumable=True)
    compile: bool = _opt(False, bool, "torch.compile G and D (first steps are slow while it compiles; on CUDA it "
                                      "also captures CUDA graphs, see --compile-mode)", resumable=True)
    compile_mode: str = _opt("auto", str, "torch.compile mode: auto (reduce-overhead on CUDA, i.e. CUDA graphs; "
                                          "default elsewhere) | default | reduce-overhead | max-autotune",
                             resumable=True)
    log_every: int = _opt(50, int, "steps between metric lines in metrics.jsonl", min=1, resumable=True)
    sample_every: int = _opt(500, int, "steps between sample images (0: only at the end)", min=1, off=0,
                             resumable=True)
    checkpoint_every: int = _opt(1000, int, "steps between kept checkpoints (latest.pt is written at the end too)",
                                 min=1, off=0, resumable=True)
    eval_every: int = _opt(0, int, "steps between quality evaluations logged to metrics.jsonl (0: none)", min=1,
                           off=0, resumable=True)
    eval_samples: int = _opt(5000, int, "generated samples per quality evaluation", min=2, resumable=True)
    metrics: list[str] | None = _opt(None, list[str], "the metrics evaluations compute, by name or by one of their "
                                                      "keys, e.g. classifier,inception_fid (default: the dataset's "
                                                      "metrics, the expensive ones only on a GPU; see `ganzoo "
                                                      "plugins`)", resumable=True)
    data_memory: float | None = _opt(None, float, "GiB the dataset may take on the training device; a larger one "
                                                  "streams batches from the host (default: half the free device "
                                                  "memory, on a CPU half the available memory)", above=0, off=0)
    time_limit: float | None = _opt(None, float, "stop (and save) after this many seconds of training in this "
                                                 "invocation", above=0, off=0, resumable=True)

    def __getattr__(self, name: str) -> Any:  # config.generator, config.regularisers...
        components = self.__dict__.get("components")
        if components is not None and name in components:
            return components[name]
        raise AttributeError(f"TrainConfig has no attribute {name!r}")

    def component(self, slot: str) -> Choice | tuple[Choice, ...]:
        return self.components[slot]

    def data_key(self) -> str:
        """The dataset and its parameters, as text: configs with equal keys load the same data (shared once)."""
        return json.dumps([self.dataset.name, self.dataset.params], sort_keys=True, default=str)

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout: options at the top, then one table per slot with ``name`` and its parameters (a list
        of tables for the slots that hold several)."""
        out: dict[str, Any] = {"recipe": self.recipe} if self.recipe else {}
        for name, param in option_params().items():
            value = getattr(self, name)
            # "Off" is written out (TOML has no null), not left out: a missing key would let a dataset's suggestion
            # or a recipe switch it back on when the file is used again. Empty lists are written for the same reason.
            out[name] = param.off if value is None and param.off is not None else value
        for slot in SLOTS.values():
            chosen = self.components[slot.name]
            tables = [{"name": c.name, **c.params} for c in (chosen if slot.many else [chosen])]
            out[slot.name] = tables if slot.many else tables[0]
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def label(self) -> str:
        """``g-d-loss-dataset`` (then ``+name`` per augmentation, regulariser and constraint), for run directory
        names; a qualified ``dist:name`` keeps only a safe form."""
        single = [s for s in SLOTS.values() if s.in_label and not s.many]
        extras = [c.name for s in SLOTS.values() if s.many for c in self.components[s.name]]
        return "-".join(self.components[s.name].name for s in single).replace(":", "_") + \
            "".join(f"+{name.replace(':', '_')}" for name in extras)


def option_fields() -> list[dataclasses.Field]:
    """The hyperparameter fields (everything but the components and the recipe's name)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in ("components", "recipe")]


def option_params() -> dict[str, Param]:
    """The options declared as :class:`Param` records, so the CLI and config files parse and check them alike."""
    return {f.name: Param(f.name, f.metadata["type"], f.default, f.metadata["help"], **f.metadata["declared"])
            for f in option_fields()}


def resumable_options() -> tuple[str, ...]:
    """The options a resumed run may change (``--resume --steps 5000``); the checkpoint fixes all the others."""
    return tuple(f.name for f in option_fields() if f.metadata["resumable"])
