"""The one table of kinds: every kind of plugin record, and every place in a run's config that holds components.

Everything that lists kinds derives from these two tables: the hooks (``ganzoo_{plural}``, in ``hookspecs.py``),
the registry, ``ganzoo list``, config files and ``--set``, the ``ganzoo train`` flags that choose components, the
run directory's name and ``ganzoo new-plugin --kind``. A new kind is one record class in ``specs.py``, one
:class:`Kind` below and, when runs choose it, one :class:`Slot`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .records import DefaultsSpec, MetricSpec, RecipeSpec
from .specs import (
    AugmentationSpec,
    ConstraintSpec,
    DatasetSpec,
    DiscriminatorSpec,
    EngineSpec,
    GeneratorSpec,
    LossSpec,
    OptimizerSpec,
    RegulariserSpec,
    ReporterSpec,
    SamplerSpec,
)


@dataclass(frozen=True)
class Kind:
    """One kind of record: what its hook yields and how the command line names it."""

    plural: str  # `ganzoo list PLURAL`, and the hook `ganzoo_PLURAL`
    record: type
    #: Components a run chooses (listed by `ganzoo list`); metrics and recipes are records of another sort.
    component: bool = True
    #: `ganzoo new-plugin --kind SINGULAR` writes a working example of it.
    template: bool = True

    @property
    def singular(self) -> str:
        return self.record.kind

    @property
    def hook(self) -> str:
        return f"ganzoo_{self.plural}"


KINDS: dict[str, Kind] = {kind.plural: kind for kind in (
    Kind("generators", GeneratorSpec),
    Kind("discriminators", DiscriminatorSpec),
    Kind("losses", LossSpec),
    Kind("datasets", DatasetSpec),
    Kind("optimizers", OptimizerSpec),
    Kind("augmentations", AugmentationSpec),
    Kind("regularisers", RegulariserSpec),
    Kind("constraints", ConstraintSpec),
    Kind("reporters", ReporterSpec, template=False),
    Kind("samplers", SamplerSpec),
    Kind("engines", EngineSpec, template=False),
    Kind("metrics", MetricSpec, component=False, template=False),
    Kind("recipes", RecipeSpec, component=False, template=False),
    Kind("defaults", DefaultsSpec, component=False, template=False),
)}
COMPONENT_KINDS = {plural: kind for plural, kind in KINDS.items() if kind.component}
BY_SINGULAR = {kind.singular: kind for kind in KINDS.values()}


@dataclass(frozen=True)
class Slot:
    """A place in a run's config that holds the chosen component of a kind, or a list of them (``many``)."""

    name: str  # the config file's key and the --set prefix: `[opt_d]`, `--set opt_d.momentum=0.9`
    kind: str  # plural
    default: str | None  # the component a run gets when nothing names one (None: an empty list)
    flags: tuple[str, ...]  # `ganzoo train` flags that choose it (repeatable when `many`)
    help: str
    many: bool = False
    aliases: tuple[str, ...] = ()  # other --set prefixes
    in_label: bool = True  # part of the run's label (and default directory name)
    #: Components' suggestions may set it: it is resolved after every component that can suggest.
    suggestible: bool = False


#: In the order ``config.toml`` and the run's label list them. They are resolved in this order too, except that the
#: dataset comes first (components' defaults depend on the data); the optimizers come last because a loss,
#: regulariser or constraint may suggest one.
SLOTS: dict[str, Slot] = {slot.name: slot for slot in (
    Slot("generator", "generators", "mlp", ("-g", "--generator"), "generator", aliases=("g", "gen")),
    Slot("discriminator", "discriminators", "mlp", ("-d", "--discriminator"), "discriminator",
         aliases=("d", "disc")),
    Slot("loss", "losses", "nonsaturating", ("-l", "--loss"), "loss"),
    Slot("dataset", "datasets", "parabola", ("--dataset",), "dataset", aliases=("data",)),
    Slot("augment", "augmentations", None, ("--augment",), "augmentation of every D input", many=True,
         aliases=("aug", "augmentation", "augmentations"), suggestible=True),
    Slot("regularisers", "regularisers", None, ("--reg",), "regulariser", many=True,
         aliases=("reg", "regulariser", "regularizer", "regularizers"), suggestible=True),
    Slot("constraints", "constraints", None, ("--constraint",), "constraint", many=True, aliases=("constraint",)),
    Slot("opt_g", "optimizers", "adam", ("--opt-g",), "generator's optimizer", in_label=False, suggestible=True),
    Slot("opt_d", "optimizers", "adam", ("--opt-d",), "discriminator's optimizer", in_label=False,
         suggestible=True),
)}
#: Names that address several slots at once: ``--opt NAME`` and ``--set opt.betas=0,0.9`` act on both optimizers.
SLOT_GROUPS: dict[str, tuple[str, ...]] = {"opt": ("opt_g", "opt_d")}
GROUP_HELP = {"opt": "both players' optimizer (--opt-g and --opt-d), e.g. adam, adamw, rmsprop, sgd"}
#: The slots of one player's optimizer, by player.
OPTIMIZER_SLOTS = {"generator": "opt_g", "discriminator": "opt_d"}


@dataclass(frozen=True)
class Shorthand:
    """A ``ganzoo train`` flag (and ``ganzoo.train`` keyword) that sets one parameter of a group's components:
    ``--betas 0,0.9`` is ``--set opt.betas=0,0.9``. Like every parameter given to a group, it reaches the group's
    components that declare it, and it is an error when none does."""

    name: str  # the keyword; the flag is --NAME
    target: str  # GROUP.PARAM
    metavar: str
    help: str


SHORTHANDS: dict[str, Shorthand] = {s.name: s for s in (
    Shorthand("betas", "opt.betas", "B1,B2", "betas of both optimizers that take them (Adam, AdamW), e.g. 0.0,0.9"),
)}
#: Keys that older config files (and checkpoints) hold at the top, and the GROUP.PARAM where they live now.
MOVED_KEYS = {"betas": "opt.betas"}


def slot_named(name: str) -> Slot | None:
    """The slot a config key or --set prefix names (its name or an alias), or None."""
    for slot in SLOTS.values():
        if name == slot.name or name in slot.aliases:
            return slot
    return None
