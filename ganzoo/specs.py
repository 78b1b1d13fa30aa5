"""Typed component records: what a plugin's hooks yield.

A record names a component, describes it in one line, declares its parameters once and holds the factory that builds
it. It may also say which data it accepts, so an incompatible mix is rejected before any training.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .data import Data, DataSpec
from .errors import GanzooError, PluginError, first_line
from .params import Param, resolve_params

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class ComponentSpec:
    """Fields shared by every kind of component.

    - ``name``: unique within its kind, lower case (``mlp``, ``wgan-gp``).
    - ``factory``: builds the component; its arguments depend on the kind (see the subclasses).
    - ``description``: one line for ``ganzoo list``.
    - ``params``: the declared parameters; the factory receives them as keyword arguments.
    - ``aliases``: other names that resolve to this component.
    - ``data_kinds``: which data kinds (``image``, ``points``) the component accepts.
    - ``check``: an optional further requirement, ``check(spec) -> reason or None`` (e.g. "H and W divisible by 4").
    - ``data_defaults``: optional ``data_defaults(spec) -> {param: value}``, defaults that suit a kind of data
      better than the declared ones (e.g. smaller layers for 2-D points); the user's settings still win.
    """

    kind: ClassVar[str] = "component"

    name: str
    factory: Callable[..., Any]
    description: str
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    data_kinds: tuple[str, ...] = ("image", "points")
    check: Callable[[DataSpec], str | None] | None = None
    data_defaults: Callable[[DataSpec], Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "data_kinds", tuple(self.data_kinds))
        for name in (self.name, *self.aliases):
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(f"{self.kind} name {name!r} must be lower case letters, digits, '-', '_' or '.'")
        if not callable(self.factory):
            raise TypeError(f"{self.kind} '{self.name}': factory {self.factory!r} is not callable")
        if not isinstance(self.description, str) or not self.description.strip() or "\n" in self.description:
            raise ValueError(f"{self.kind} '{self.name}': description must be one non-empty line")
        names = [p.name for p in self.params]
        if any(not isinstance(p, Param) for p in self.params) or len(set(names)) != len(names):
            raise TypeError(f"{self.kind} '{self.name}': params must be Param records with unique names")
        if not set(self.data_kinds) <= {"image", "points"}:
            raise ValueError(f"{self.kind} '{self.name}': data_kinds must be among 'image', 'points'")

    @property
    def owner(self) -> str:
        """How error messages name this component, e.g. ``generator 'mlp'``."""
        return f"{self.kind} '{self.name}'"

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one of the plugin's functions; a bug in it becomes a one-line :class:`PluginError`."""
        try:
            return fn(*args, **kwargs)
        except GanzooError:
            raise
        except Exception as err:  # noqa: BLE001
            raise PluginError(f"{self.owner}: {what} failed: {type(err).__name__}: {first_line(err)}") from None

    def resolve(self, given: Mapping[str, Any], data: DataSpec | None = None) -> dict[str, Any]:
        """Validate typed parameter values and fill in the defaults (those for ``data`` first, if declared)."""
        defaults = {}
        if self.data_defaults is not None and data is not None:
            defaults = dict(self.call("data_defaults", self.data_defaults, data))
        return resolve_params(self.params, {**defaults, **given}, self.owner)

    def incompatibility(self, data: DataSpec) -> str | None:
        """Why this component cannot take ``data``, or None when it can."""
        if data.kind not in self.data_kinds:
            return f"it needs {' or '.join(self.data_kinds)} data"
        return self.call("check", self.check, data) if self.check else None


@dataclass(frozen=True)
class GeneratorSpec(ComponentSpec):
    """``factory(latent_dim, data: DataSpec, **params) -> nn.Module`` mapping (B, latent_dim) to (B, *data.shape)
    in the dataset's normalised space (images in [-1, 1])."""

    kind: ClassVar[str] = "generator"


@dataclass(frozen=True)
class DiscriminatorSpec(ComponentSpec):
    """``factory(data: DataSpec, **params) -> nn.Module`` mapping (B, *data.shape) to (B,) **logits**.

    ``per_sample=True`` promises that each logit depends on its own sample only (no BatchNorm, no minibatch
    statistics), so the trainer may score the real and the generated batch in one forward pass: one matrix product
    of 2B rows instead of two of B, about 3-5% faster per step on a CPU. Leave it False when unsure: it is only speed.
    """

    kind: ClassVar[str] = "discriminator"
    per_sample: bool = False


@dataclass(frozen=True)
class LossSpec(ComponentSpec):
    """``factory(**params) -> GANLoss``."""

    kind: ClassVar[str] = "loss"


@dataclass(frozen=True)
class DatasetSpec(ComponentSpec):
    """``factory(**params) -> Data``.

    ``shape`` tells the data spec without loading anything (``shape(**params) -> DataSpec``), so compatibility is
    checked before a download. ``suggested`` holds training options that suit this dataset (e.g. ``steps``); they
    sit between ganzoo's defaults and the user's config file.
    """

    kind: ClassVar[str] = "dataset"
    shape: Callable[..., DataSpec] | None = None
    suggested: Mapping[str, Any] = field(default_factory=dict)
    #: Parameter overrides that load the held-out split (e.g. ``{"train": False}``), for metrics that need one.
    test_split: Mapping[str, Any] | None = None
    #: Metrics that only this dataset knows how to compute (see :class:`MetricSpec`).
    metrics: tuple[MetricSpec, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if any(not isinstance(m, MetricSpec) for m in self.metrics):
            raise TypeError(f"{self.owner}: metrics must be ganzoo.MetricSpec records")

    def data_spec(self, params: Mapping[str, Any]) -> DataSpec:
        """The sample spec from ``shape`` without loading the data (the record must have ``shape``)."""
        spec = self.call("shape", self.shape, **params)
        if not isinstance(spec, DataSpec):
            raise PluginError(f"{self.owner}: shape() returned {type(spec).__name__}, not a ganzoo.DataSpec")
        return spec

    def load(self, params: Mapping[str, Any]) -> Data:
        """Build the dataset and check that it is a :class:`Data`."""
        data = self.call("loading", self.factory, **params)
        if not isinstance(data, Data):
            raise TypeError(f"{self.owner}: factory returned {type(data).__name__}, not ganzoo.Data")
        return data


@dataclass(frozen=True)
class MetricSpec:
    """A quality metric: ``compute(ctx) -> {key: number}`` for every dataset where ``applies(data)`` is true.

    ``ctx`` is a :class:`ganzoo.EvalContext` (generated samples, the real data, a held-out split, a cache that lives
    as long as the evaluator). ``keys`` describes each returned key in one line, for tables and docs; ``better``
    says which way each key improves ("lower" or "higher"; omit for plain information).
    """

    name: str
    description: str
    compute: Callable[[Any], Mapping[str, float]]
    applies: Callable[[Data], bool] = field(default=lambda data: True)
    keys: Mapping[str, str] = field(default_factory=dict)
    better: Mapping[str, str] = field(default_factory=dict)

    kind: ClassVar[str] = "metric"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r} must be lower case letters, digits, '-', '_' or '.'")
        if not callable(self.compute) or not callable(self.applies):
            raise TypeError(f"metric '{self.name}': compute and applies must be callable")
        if not isinstance(self.description, str) or not self.description.strip() or "\n" in self.description:
            raise ValueError(f"metric '{self.name}': description must be one non-empty line")
        if any(v not in ("lower", "higher") for v in self.better.values()):
            raise ValueError(f"metric '{self.name}': better values must be 'lower' or 'higher'")


@dataclass(frozen=True)
class RecipeSpec:
    """A named, complete training configuration: what ``ganzoo train --recipe NAME`` starts from.

    ``settings`` has the layout of a config file (and of ``TrainConfig.to_dict()``): top-level options (``steps``,
    ``batch_size``, ``lr_g``...) and one table per component, ``generator``/``discriminator``/``loss``/``dataset``,
    each with a ``name`` and its parameters. It is checked like a config file when used (``ganzoo recipes`` shows
    problems). ``description`` is one line; ``citation`` says what the recipe reproduces (a paper, a tutorial).
    """

    name: str
    description: str
    citation: str
    settings: Mapping[str, Any]

    kind: ClassVar[str] = "recipe"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"recipe name {self.name!r} must be lower case letters, digits, '-', '_' or '.'")
        for what in ("description", "citation"):
            text = getattr(self, what)
            if not isinstance(text, str) or not text.strip() or "\n" in text:
                raise ValueError(f"recipe '{self.name}': {what} must be one non-empty line")
        if not isinstance(self.settings, Mapping):
            raise TypeError(f"recipe '{self.name}': settings must be a mapping laid out like a config file")
        # A private deep copy: the plugin keeping (and mutating) its dict must not change a registered recipe.
        object.__setattr__(self, "settings", copy.deepcopy(dict(self.settings)))

    @property
    def owner(self) -> str:
        return f"recipe '{self.name}'"


#: The kinds in the order the CLI lists them, by their plural name.
KINDS: dict[str, type[ComponentSpec]] = {
    "generators": GeneratorSpec,
    "discriminators": DiscriminatorSpec,
    "losses": LossSpec,
    "datasets": DatasetSpec,
}
