"""Typed records: what a plugin's hooks yield, one record class per kind.

A record names a component, describes it in one line, declares its parameters once and holds the factory that builds
it. It may also say which data it accepts, what it needs from the rest of the mix and which training settings suit
it, so an incompatible mix is rejected before any training and a component's needs never live in README prose.
Each record's docstring is the contract of its hook: ``hookspecs.py`` derives the hooks from them, and its field
bullets are the field tables of docs/plugins.md (``fielddocs.py`` renders them).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..data.contract import Data, DataSpec
from ..errors import PluginError
from .params import Param, find_param, resolve_params
from .records import MetricSpec, Record


@dataclass(frozen=True)
class ComponentSpec(Record):
    """Fields shared by every kind of component.

    - ``name``: the component's name, unique within its kind and lower case (``mlp``, ``wgan-gp``), as runs choose
      it (``-g NAME``, ``--set generator.PARAM=...``).
    - ``factory``: builds the component; its arguments depend on the kind (see each kind's record).
    - ``description``: one line for ``ganzoo list``.
    - ``params``: a tuple of ``Param`` records, the declared parameters: the factory receives them as keyword
      arguments.
    - ``aliases``: other names that resolve to this component.
    - ``data_kinds``: which kinds of data the component accepts: ``("image", "points")`` by default.
    - ``check``: optional ``check(data_spec) -> reason or None``, a further requirement ("it needs images of at
      least 16x16", "H and W divisible by 4").
    - ``data_defaults``: optional ``data_defaults(data_spec) -> {param: value}``, defaults that suit a kind of data
      better than the declared ones (e.g. smaller layers for 2-D points); the user's settings still win.
    - ``suggested``: training settings the component needs or works best with, laid out like a config file: options
      (``d_steps``, ``lr_d``...), the optimizers (``{"opt": "rmsprop"}``, ``{"opt": {"betas": [0.0, 0.9]}}``),
      regularisers and augmentations (R3GAN's loss brings ``{"regularisers": ["r1", "r2"]}``); a list the user
      gives in the same layer replaces the suggested one.
      They count as written in the layer that chose the component, beneath that layer's own values (a dataset's
      count just above the defaults for its kind of data instead): see "Settings and suggestions" in
      docs/plugins.md. A dataset may also tune the models, with parameters but no name
      (``{"generator": {"slope": 0.2}}``): they reach the generator or discriminator chosen beneath its layer.
    - ``citation``: one line: the paper or tutorial the component implements, shown by ``ganzoo list``.
    - ``alias_of``: for a component that is only another name for shared code (one loader on other files, one class
      with other defaults): one line naming that component and what differs, e.g. ``"mnist, reading torchvision's
      KMNIST files"``; ``ganzoo list`` shows it as "alias of ..." so nobody compares the two as different models.
    - ``check_mix``: an optional ``check_mix(mix: ganzoo.Mix) -> reason or None`` that sees the whole mix (the data
      and every chosen record), to refuse an incompatible partner before training ("it needs an unconditional D").
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
    suggested: Mapping[str, Any] = field(default_factory=dict)
    citation: str = ""
    alias_of: str = ""
    check_mix: Callable[[Mix], str | None] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.suggested, Mapping):
            raise TypeError(f"{self.kind} '{self.name}': suggested must be a mapping laid out like a config file")
        object.__setattr__(self, "suggested", copy.deepcopy(dict(self.suggested)))
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "aliases", tuple(self.aliases))
        object.__setattr__(self, "data_kinds", tuple(self.data_kinds))
        self._check_record("description", optional=("citation", "alias_of"))
        if not callable(self.factory):
            raise TypeError(f"{self.kind} '{self.name}': factory {self.factory!r} is not callable")
        names = [p.name for p in self.params]
        if any(not isinstance(p, Param) for p in self.params) or len(set(names)) != len(names):
            raise TypeError(f"{self.kind} '{self.name}': params must be Param records with unique names")
        if not set(self.data_kinds) <= {"image", "points"}:
            raise ValueError(f"{self.kind} '{self.name}': data_kinds must be among 'image', 'points'")

    @property
    def declared(self) -> tuple[Param, ...]:
        """Every parameter a run may set: the plugin's ``params`` and any the kind adds (a regulariser's ``weight``
        and ``every``)."""
        return self.params

    def declares(self, name: str) -> bool:
        return any(p.name == name for p in self.declared)

    def find_param(self, name: str) -> Param:
        """The declaration of ``name``, or a "did you mean" error listing this component's parameters."""
        return find_param(self.declared, name, self.owner)

    def resolve(self, given: Mapping[str, Any], data: DataSpec | None = None) -> dict[str, Any]:
        """Validate typed parameter values and fill in the defaults (those for ``data`` first, if declared)."""
        defaults = {}
        if self.data_defaults is not None and data is not None:
            defaults = dict(self.call("data_defaults", self.data_defaults, data))
        return resolve_params(self.declared, {**defaults, **given}, self.owner)

    def incompatibility(self, data: DataSpec) -> str | None:
        """Why this component cannot take ``data``, or None when it can."""
        if data.kind not in self.data_kinds:
            return f"it needs {' or '.join(self.data_kinds)} data"
        return self.call("check", self.check, data) if self.check else None


@dataclass(frozen=True)
class _ModelSpec(ComponentSpec):
    """What a generator's or a discriminator's record says of its module beyond its data.

    - ``stacks``: whether a population (a sweep's members in one process) may run this module as one batched forward
      (``torch.func.vmap`` over their stacked weights). ``None`` (default): ganzoo probes the built module and
      refuses one that changes its buffers in ``forward`` (BatchNorm, spectral norm), draws random numbers there
      (dropout), or fails or computes otherwise under ``vmap``. ``False`` never stacks it, ``True`` skips the probe.
    """

    stacks: bool | None = None


@dataclass(frozen=True)
class GeneratorSpec(_ModelSpec):
    """Generators: ``factory(latent_dim, data: DataSpec, **params) -> nn.Module`` mapping noise (B, latent_dim) to
    samples (B, *data.shape) in the dataset's normalised space (images in [-1, 1], points standardised).

    - ``conditional``: ``True``: the module is called as ``G(z, labels)``, with ``labels`` int64 class indices
      ``(B,)`` in ``[0, data.classes)``. The trainer draws them for every generated batch (the data's class
      frequencies, or uniformly with ``--label-dist uniform``); a dataset without labels is refused before
      training. Sample grids group samples by class, each class named, and ``ganzoo sample --label K`` draws
      class K.
    - ``label_classes``: with ``conditional=True``: ``label_classes(**params) -> K`` makes the labels codes of G's
      own, drawn uniformly from K values whatever the data (InfoGAN's categorical code); the data then need no
      labels, and ``--label K`` fixes the code.
    """

    kind: ClassVar[str] = "generator"
    conditional: bool = False
    label_classes: Callable[..., int] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.label_classes is not None and not self.conditional:
            raise ValueError(f"{self.owner}: label_classes needs conditional=True (the labels are G's input)")

    def incompatibility(self, data: DataSpec) -> str | None:
        if self.conditional and self.label_classes is None and not data.classes:
            return "it is conditional: it needs a labelled dataset"
        return super().incompatibility(data)


@dataclass(frozen=True)
class DiscriminatorSpec(_ModelSpec):
    """Discriminators: ``factory(data: DataSpec, **params) -> nn.Module`` mapping a batch (B, *data.shape) to
    **logits** of shape (B,): no sigmoid, the loss applies it stably.

    - ``per_sample``: ``True`` promises that each output depends on its own sample only: no BatchNorm, no minibatch
      statistics or minibatch discrimination. The trainer then scores the real and the generated batch in one
      forward pass (one matrix product of 2B rows instead of two of B: 3-5% faster per step on a CPU). Default
      ``False``, and leave it so when unsure: it is only speed; a ``BatchNorm`` layer found in D overrides it.
      Dropout then draws its masks in one call, and a spectral norm runs one power iteration per D update instead
      of two.
    - ``conditional``: ``True``: called as ``D(x, labels)``; the real batch comes with its own labels and the
      generated batch with the labels it was generated for (a projection discriminator). The generator must be
      conditional on the data's labels too.
    - ``outputs``: names of further per-sample outputs (an auxiliary class head ``classes``, InfoGAN's
      ``code_logits``, hidden ``features``): the module then returns a dict with ``"logits"`` ``(B,)`` and one
      tensor ``(B, ...)`` per name, e.g. ``{"logits": s, "classes": c, "features": h}``. Losses and regularisers
      read them and say which they need (``needs_outputs``): a mix whose loss or regulariser needs an output this D
      lacks is refused before training.
    """

    kind: ClassVar[str] = "discriminator"
    per_sample: bool = False
    conditional: bool = False
    outputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if any(not isinstance(o, str) or not o.isidentifier() or o == "logits" for o in self.outputs):
            raise ValueError(f"{self.owner}: outputs must be identifiers other than 'logits'")

    def incompatibility(self, data: DataSpec) -> str | None:
        if self.conditional and not data.classes:
            return "it is conditional: it needs a labelled dataset"
        return super().incompatibility(data)


@dataclass(frozen=True)
class _StepTerm(ComponentSpec):
    """What a loss or a regulariser may need from the rest of the mix, checked before training.

    - ``needs_outputs``: discriminator outputs it reads beside the logits, e.g. ``("features",)`` or
      ``("classes",)``.
    - ``needs_labels``: the labels it reads: ``"real"`` (the real batch's labels: a labelled dataset) and/or
      ``"fake"`` (the generated batch's labels: a conditional generator).
    """

    needs_outputs: tuple[str, ...] = ()
    needs_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "needs_outputs", tuple(self.needs_outputs))
        object.__setattr__(self, "needs_labels", tuple(self.needs_labels))
        if not set(self.needs_labels) <= {"real", "fake"}:
            raise ValueError(f"{self.owner}: needs_labels must be among 'real', 'fake'")


@dataclass(frozen=True)
class LossSpec(_StepTerm):
    """Losses: ``factory(**params) -> GANLoss``, whose ``discriminator_loss(real_logits, fake_logits, ctx)`` and
    ``generator_loss(fake_logits, ctx)`` return scalars; ``ctx`` (:class:`ganzoo.StepContext`) holds both batches,
    their labels, everything D returned for them and the discriminator."""

    kind: ClassVar[str] = "loss"


@dataclass(frozen=True)
class DatasetSpec(ComponentSpec):
    """Datasets: ``factory(**params) -> Data`` (build it with ``Data.images(pixels, labels=...)`` or
    ``Data.points(xy, ...)``).

    - ``shape``: ``shape(**params) -> DataSpec``: the sample shape (and ``classes`` for labelled data) without
      loading anything, so an incompatible mix is refused before a download.
    - ``test_split``: parameter overrides that load the held-out split (``{"train": False}``), for metrics that need
      one.
    - ``full_data``: parameter overrides that load the whole training set when parameters select part of it
      (``{"limit": None}``): metrics train their judges (a feature classifier) on it, so a data-limited run is
      judged like any other.
    - ``metrics``: :class:`MetricSpec` records only this dataset knows how to compute.

    A dataset's ``suggested`` options (e.g. ``steps``) sit just above the defaults for its kind of data, whoever
    chooses the dataset: they are tuning, not requirements.
    """

    kind: ClassVar[str] = "dataset"
    shape: Callable[..., DataSpec] | None = None
    test_split: Mapping[str, Any] | None = None
    full_data: Mapping[str, Any] | None = None
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
class OptimizerSpec(ComponentSpec):
    """Optimizers: ``factory(parameters: list[Tensor], lr: float, **params) -> torch.optim.Optimizer``.

    Each player has its own (``--opt-g``, ``--opt-d``, or ``--opt`` for both) with its own parameters
    (``--set opt_d.momentum=0.9``); the learning rates are the training options ``lr_g`` and ``lr_d``, because
    the schedule and lazy regularisation rescale them for every optimizer alike. A parameter named ``betas``
    is also what ``--betas`` sets.
    """

    kind: ClassVar[str] = "optimizer"


@dataclass(frozen=True)
class AugmentationSpec(ComponentSpec):
    """Augmentations: ``factory(data: DataSpec, **params) -> nn.Module`` (or any callable) mapping a batch
    (B, *data.shape) to an augmented batch of the same shape, **differentiably**.

    The trainer applies it to every discriminator input, real and generated, in D's step and in G's (DiffAugment's
    rule), and regularisers see D through it too; G learns through the augmentation, so it must not detach.
    Several augmentations apply in the order given (``--augment a --augment b``).
    """

    kind: ClassVar[str] = "augmentation"


@dataclass(frozen=True)
class RegulariserSpec(_StepTerm):
    """Regularisers: ``factory(**params) -> Regulariser``, whose ``discriminator_penalty(ctx)`` and/or
    ``generator_penalty(ctx)`` return a scalar added to that player's loss, for any loss.

    Every regulariser gets two parameters of its own, ``weight`` (the penalty's factor, default ``weight``) and
    ``every`` (apply it every N updates of its player, default ``every``): the factory never sees them. With
    ``every`` > 1 it is lazy (stylegan2): every N updates it runs as an optimizer step of its own, scaled by N, and
    that player's Adam learning rate and betas are rescaled by N / (N + 1) so the extra steps do not speed it up.

    - ``weight``: the penalty's default factor.
    - ``every``: its default interval, in updates of its player.
    """

    kind: ClassVar[str] = "regulariser"
    weight: float = 1.0
    every: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(p.name in ("weight", "every") for p in self.params):
            raise ValueError(f"{self.owner}: 'weight' and 'every' are every regulariser's own parameters; set their "
                             f"defaults with RegulariserSpec(weight=..., every=...)")
        common = (Param("weight", float, self.weight, "factor of the penalty in its player's loss", min=0),
                  Param("every", int, self.every, "apply every N updates of its player (N > 1: lazy, scaled by N, "
                                                  "as its own optimizer step)", min=1))
        object.__setattr__(self, "_common", common)

    @property
    def declared(self) -> tuple[Param, ...]:
        return (*self.params, *self._common)

    def split(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], float, int]:
        """Resolved parameters as (the factory's own, ``weight``, ``every``)."""
        own = {k: v for k, v in params.items() if k not in ("weight", "every")}
        return own, params["weight"], params["every"]


@dataclass(frozen=True)
class ConstraintSpec(ComponentSpec):
    """Constraints: ``factory(**params) -> Constraint``, whose ``apply(module)`` changes a player's weights in
    place after each of its optimizer steps (WGAN's weight clipping).

    - ``player``: whose weights it constrains: ``"discriminator"`` (the default) or ``"generator"``.
    """

    kind: ClassVar[str] = "constraint"
    player: str = "discriminator"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.player not in ("discriminator", "generator"):
            raise ValueError(f"{self.owner}: player must be 'discriminator' or 'generator'")


@dataclass(frozen=True)
class ReporterSpec(ComponentSpec):
    """Reporters: ``factory(**params) -> RunReporter``, which receives a run's events (its start with the config,
    metrics lines, evaluations, sample images, its end or interruption) to mirror them elsewhere. Chosen per run
    with ``--report NAME``; they read their own settings from the environment (e.g. ``MLFLOW_TRACKING_URI``). A
    factory that cannot work here (a missing optional package) raises a ``ganzoo.ConfigError`` with the install
    command: it is called before training."""

    kind: ClassVar[str] = "reporter"


@dataclass(frozen=True)
class EngineSpec(ComponentSpec):
    """Sweep engines: ``factory(**params) -> ganzoo.Engine``, whose ``run(units, jobs, tick)`` runs the units of
    ``ganzoo sweep --engine NAME`` (each a ``ganzoo.SweepUnit``: one member, or a population, with its share of
    threads) somewhere: child processes, a Ray cluster, a batch system. A unit runs by its ``argv`` in a fresh
    process or by ``unit.run()`` in one, and writes everything into the sweep directory itself. A factory that
    cannot work here (a missing optional package) raises a ``ganzoo.ConfigError`` with the install command."""

    kind: ClassVar[str] = "engine"


@dataclass(frozen=True)
class SamplerSpec(ComponentSpec):
    """Samplers: ``factory(**params) -> ganzoo.Sampler``, whose ``sample(ctx)`` draws ``ctx.n`` samples from a
    trained run for ``ganzoo sample RUN --sampler NAME [--set sampler.P=V]`` and ``ganzoo.sample(run, n,
    sampler=NAME)``. ``ctx`` is a ``ganzoo.SampleContext``: the generator (EMA when present), ``noise(n)``
    (seeded, or ``--z FILE``), the labels, and ``score(x, labels)``, the run's discriminator loaded on request."""

    kind: ClassVar[str] = "sampler"


@dataclass(frozen=True)
class Mix:
    """What a component's ``check_mix`` sees: the data and every chosen component's record, before anything is
    built.

    - ``data``: the dataset's sample shape (``DataSpec``).
    - ``generator``, ``discriminator``, ``loss``: the chosen records (``GeneratorSpec``...).
    - ``regularisers``, ``augmentations``, ``constraints``: the chosen records of each, in order.
    """

    data: DataSpec
    generator: GeneratorSpec
    discriminator: DiscriminatorSpec
    loss: LossSpec
    regularisers: tuple[RegulariserSpec, ...] = ()
    augmentations: tuple[AugmentationSpec, ...] = ()
    constraints: tuple[ConstraintSpec, ...] = ()
