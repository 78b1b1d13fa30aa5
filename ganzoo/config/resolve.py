"""One place for every training default, and how a run's settings are resolved.

Settings come in layers; later wins:

1. ganzoo's defaults (:class:`TrainConfig` below);
2. defaults for the kind of data (``DefaultsSpec`` records: every 2-D point dataset, images by size), which may
   choose the models too;
3. the dataset's suggested options (tuning for that data: steps, batch size, learning rates);
4. a recipe (``--recipe NAME``, or ``recipe = "NAME"`` in the config file);
5. ``--config FILE.toml``;
6. command-line flags and ``--set``.

A component's own suggestions (``LossSpec(suggested=...)`` and the like) count as written in the layer that chose
the component, beneath that layer's own values: what a component needs to train well belongs to whoever chose it.
So ``-l wgan-gp`` on the command line brings 5 D steps and betas 0,0.9 even over a recipe or config file written for
another loss, ``-l wgan-gp --d-steps 3`` keeps 3, and a recipe that names wgan-gp and sets its own betas keeps them.
A dataset's suggestions are the exception: they are tuning, not requirements, so they stay in layer 2 whoever
chooses the dataset. Parameters a layer gives for a component belong to the component chosen at that layer; they are
dropped when a higher layer chooses another one. The result is a fully resolved :class:`TrainConfig`, written to
``config.toml``, which repeats the run on its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.contract import DataSpec
from ..errors import ConfigError, GanzooError, ParameterError, PluginError, did_you_mean
from ..registry.kinds import OPTIMIZER_SLOTS, SLOT_GROUPS, SLOTS, Slot, slot_named
from ..registry.params import Param, find_param
from ..registry.registry import Registry
from ..registry.specs import ComponentSpec
from .toml import dumps_toml, read_toml

#: ``--betas B1,B2`` (and ``betas = [...]`` in a config file or recipe): the betas of both optimizers that take any.
BETAS = "betas"
#: Where suggestions may reach: training options and the optimizers (resolved after every other component).
_SUGGESTIBLE_SLOTS = ("opt", *OPTIMIZER_SLOTS.values(), BETAS)


def _opt(default: Any, tp: Any, help: str, choices: tuple | None = None) -> Any:
    return field(default=default, metadata={"type": tp, "help": help, "choices": choices})


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
    ``config.regularisers``... one attribute per slot of ``ganzoo/kinds.py``) and the training options."""

    components: Mapping[str, Choice | tuple[Choice, ...]] = field(default_factory=default_components)
    #: The recipe the run started from. Every value is resolved, so the rest of the config stands on its own.
    recipe: str | None = None
    steps: int = _opt(3000, int, "training steps in total, or the dataset's suggestion (a resumed run continues "
                             "up to this number)")
    batch_size: int = _opt(64, int, "samples per batch")
    latent_dim: int = _opt(64, int, "size of the noise vector z")
    lr_g: float = _opt(2e-4, float, "generator learning rate")
    lr_d: float = _opt(2e-4, float, "discriminator learning rate")
    lr_schedule: str = _opt("constant", str, "learning-rate schedule: constant, or linear (decays to 0 at the last "
                                             "step)", ("constant", "linear"))
    d_steps: int = _opt(1, int, "discriminator updates per step")
    g_steps: int = _opt(1, int, "generator updates per step")
    label_dist: str = _opt("data", str, "labels drawn for generated batches of a conditional mix: data (the data's "
                                        "class frequencies) or uniform", ("data", "uniform"))
    ema: float | None = _opt(None, float, "decay of a moving average of G used for samples, e.g. 0.999, or the "
                                          "dataset's suggestion; 0 turns it off")
    seed: int = _opt(0, int, "random seed (same seed, same weights on CPU)")
    device: str = _opt("auto", str, "auto | cpu | cuda | cuda:N | mps")
    amp: bool = _opt(False, bool, "mixed precision on CUDA (bf16 autocast; fp16 with loss scaling on older GPUs)")
    compile: bool = _opt(False, bool, "torch.compile G and D (first steps are slow while it compiles; on CUDA it "
                                      "also captures CUDA graphs, see --compile-mode)")
    compile_mode: str = _opt("auto", str, "torch.compile mode: auto (reduce-overhead on CUDA, i.e. CUDA graphs; "
                                          "default elsewhere) | default | reduce-overhead | max-autotune")
    log_every: int = _opt(50, int, "steps between metric lines in metrics.jsonl")
    sample_every: int = _opt(500, int, "steps between sample images (0: only at the end)")
    checkpoint_every: int = _opt(1000, int, "steps between kept checkpoints (latest.pt is written at the end too)")
    eval_every: int = _opt(0, int, "steps between quality evaluations logged to metrics.jsonl (0: none)")
    eval_samples: int = _opt(5000, int, "generated samples per quality evaluation")
    data_memory: float | None = _opt(None, float, "GiB the dataset may take on the training device; a larger one "
                                                  "streams batches from the host (default: half the free device "
                                                  "memory, on a CPU half the available memory)")
    time_limit: float | None = _opt(None, float, "stop (and save) after this many seconds of training in this "
                                                 "invocation; 0 lifts a limit")

    def __getattr__(self, name: str) -> Any:  # config.generator, config.regularisers...
        components = self.__dict__.get("components")
        if components is not None and name in components:
            return components[name]
        raise AttributeError(f"TrainConfig has no attribute {name!r}")

    def component(self, slot: str) -> Choice | tuple[Choice, ...]:
        return self.components[slot]

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout: options at the top, then one table per slot with ``name`` and its parameters (a list
        of tables for the slots that hold several)."""
        out: dict[str, Any] = {"recipe": self.recipe} if self.recipe else {}
        out.update({f.name: getattr(self, f.name) for f in option_fields()})
        # "Off" is written as 0: TOML has no null, and a missing key would let a dataset's suggestion or a recipe
        # switch it back on when the file is used again. Empty lists are written for the same reason.
        out["ema"], out["time_limit"] = self.ema or 0.0, self.time_limit or 0.0
        out["data_memory"] = self.data_memory or 0.0
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
    """The options declared as :class:`Param` records, so the CLI and config files parse them alike."""
    return {
        f.name: Param(f.name, f.metadata["type"], f.default, f.metadata["help"], f.metadata["choices"])
        for f in option_fields()
    }


def _check_options(options: Mapping[str, Any]) -> None:
    def need(ok: bool, name: str, what: str) -> None:
        if not ok:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} must be {what}, got {options[name]!r}")

    for name in ("steps", "latent_dim", "d_steps", "g_steps", "log_every"):
        need(options[name] >= 1, name, "at least 1")
    need(options["batch_size"] >= 2, "batch_size", "at least 2 (BatchNorm needs two samples)")
    need(0 <= options["seed"] < 2**63 - 1, "seed", "in [0, 2^63 - 1)")
    for name in ("sample_every", "checkpoint_every", "eval_every"):
        need(options[name] >= 0, name, ">= 0 (0 turns it off)")
    for name in ("lr_g", "lr_d"):
        need(0 < options[name] < math.inf, name, "a positive learning rate")
    need(options["ema"] is None or 0 <= options["ema"] < 1, "ema", "a decay in [0, 1), e.g. 0.999 (0: off)")
    need(options["eval_samples"] >= 2, "eval_samples", "at least 2")
    need(options["time_limit"] is None or 0 <= options["time_limit"] < math.inf, "time_limit",
         ">= 0 seconds (0: no limit)")
    need(options["data_memory"] is None or 0 <= options["data_memory"] < math.inf, "data_memory",
         ">= 0 GiB (0: chosen from the free memory)")
    # 0 switches these off; None is how the config stores "off" (TOML has no null, so it is simply left out)
    options["ema"] = options["ema"] or None
    options["time_limit"] = options["time_limit"] or None
    options["data_memory"] = options["data_memory"] or None


# -- layers -----------------------------------------------------------------------------------------------------


def load_config_file(path: Path | str) -> dict[str, Any]:
    """Read a config file and reject unknown top-level keys and malformed component tables."""
    data = check_layout(read_toml(path), f"config file {path}")
    if not isinstance(data.get("recipe", ""), str):
        raise ConfigError(f"config file {path}: recipe must be a recipe's name (see `ganzoo recipes`)")
    return data


def _table(value: Any, where: str, key: str, in_list: bool = False) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, Mapping) or not isinstance(value.get("name", ""), str) or (in_list
                                                                                         and "name" not in value):
        if in_list:
            raise ConfigError(f"{where}: {key} entries must be tables with a 'name' (or {key} = [\"NAME\"])")
        raise ConfigError(f"{where}: [{key}] must be a table with a 'name' (or {key} = \"NAME\")")
    return dict(value)


def _betas(value: Any, where: str) -> list[float]:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in value)
    if not ok:
        flag = "--betas" if where == "flags" else f"{where}: betas"
        raise ConfigError(f"{flag} must be two numbers in [0, 1), e.g. 0.5,0.999, got {value!r}")
    return [float(b) for b in value]


def check_layout(data: Mapping[str, Any], where: str, recipe_key: bool = True) -> dict[str, Any]:
    """Check the layout shared by config files, recipes and suggestions, and normalise it.

    Known options; one table per slot, with an optional ``name`` (``generator = "NAME"`` is short for a table);
    a list of tables for the slots that hold several (a bare name is a list of one). ``opt`` is written into both
    optimizers' tables and ``betas`` is kept aside for them (see :data:`BETAS`). ``where`` starts each error
    (``config file x.toml``, ``recipe 'y' (ganzoo 0.1.0)``); ``recipe_key``: whether ``recipe = NAME`` is allowed.
    """
    options = option_params()
    known = [*(["recipe"] if recipe_key else []), *options, *SLOTS, *SLOT_GROUPS, BETAS]
    out: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        slot = SLOTS.get(key)
        if key in SLOT_GROUPS:
            groups[key] = _table(value, where, key)
        elif slot is not None and slot.many:
            items = [value] if isinstance(value, (str, Mapping)) else value
            if not isinstance(items, (list, tuple)):
                raise ConfigError(f"{where}: {key} must be a list of tables with a 'name' (or {key} = [\"NAME\"])")
            out[key] = [_table(item, where, key, in_list=True) for item in items]
        elif slot is not None:
            out[key] = _table(value, where, key)
        elif key == BETAS:
            out[key] = _betas(value, where)
        elif key in options or (key == "recipe" and recipe_key):
            out[key] = value
        else:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(key, known)}")
    for group, table in groups.items():  # the slots' own tables win over the group's
        for name in SLOT_GROUPS[group]:
            out[name] = {**table, **out.get(name, {})}
    return out


@dataclass
class _Layer:
    """One layer of settings (normalised by :func:`check_layout`) and the suggestions of what it chose."""

    where: str | None  # how errors name it; None: the user's own command line (errors need no prefix)
    values: dict[str, Any]
    soft: dict[str, Any] = field(default_factory=dict)
    #: The defaults' layer: suggestions of the components nobody named sit *above* its values.
    bottom: bool = False

    def parts(self) -> list[tuple[dict[str, Any], bool]]:
        """``(settings, soft)`` pairs, lowest first."""
        return [(self.values, False), (self.soft, True)] if self.bottom else [(self.soft, True), (self.values, False)]


@contextmanager
def _blame(where: str | None) -> Iterator[None]:
    """Prefix a user error with the layer it came from (e.g. a recipe), keeping its type."""
    try:
        yield
    except GanzooError as err:
        if where is None:
            raise
        raise type(err)(f"{where}: {err}") from None


def _recipe_layer(registry: Registry, name: str) -> _Layer:
    """The recipe's settings, checked like a config file, named in errors by recipe and plugin."""
    provided = registry.recipe(name)
    where = f"recipe '{provided.spec.name}' ({provided.plugin.label})"
    return _Layer(where, check_layout(provided.spec.settings, where, recipe_key=False))


def parse_set(items: Iterable[str]) -> dict[str, dict[str | None, dict[str, str]]]:
    """``--set SLOT.PARAM=VALUE`` (or ``SLOT.NAME.PARAM=VALUE`` for a slot holding several), values still text:
    ``{slot: {item name or None: {param: text}}}``. ``opt.PARAM`` sets both optimizers."""
    out: dict[str, dict[str | None, dict[str, str]]] = {}
    prefixes = [*(n for s in SLOTS.values() for n in (s.name, *s.aliases)), *SLOT_GROUPS]
    for item in items:
        key, eq, value = item.partition("=")
        prefix, dot, param = key.strip().rpartition(".")
        head, _, item_name = prefix.partition(".")
        if not eq or not dot or not param or not head:
            raise ConfigError(f"--set {item!r} must look like KIND.PARAM=VALUE, e.g. generator.hidden=256,512")
        slots = [SLOTS[n] for n in SLOT_GROUPS[head]] if head in SLOT_GROUPS else [slot_named(head)]
        if slots[0] is None:
            raise ConfigError(f"--set {item!r}: unknown component kind '{head}'{did_you_mean(head, prefixes)} "
                              f"(one of {', '.join(SLOTS)})")
        for slot in slots:
            if item_name and not slot.many:
                raise ConfigError(f"--set {item!r}: {slot.name} holds one component; write {slot.name}.{param}=...")
            out.setdefault(slot.name, {}).setdefault(item_name or None, {})[param] = value
    return out


# -- resolution -------------------------------------------------------------------------------------------------


def _names(registry: Registry, kind: str, name: str | None, spec: ComponentSpec) -> bool:
    """Whether ``name`` (alias, qualified or plain) resolves to ``spec``."""
    if name is None:
        return False
    try:
        return registry.get(kind, name) is spec
    except GanzooError:
        return False


def _suggestions(spec: ComponentSpec) -> dict[str, Any]:
    """A component's suggested settings, checked: options and optimizers only (they are resolved after it)."""
    where = f"{spec.owner} suggests"
    try:
        layout = check_layout(spec.suggested, where, recipe_key=False)
    except ConfigError as err:
        raise PluginError(str(err)) from None
    bad = [k for k in layout if k in SLOTS and k not in _SUGGESTIBLE_SLOTS]
    if bad:
        raise PluginError(f"{where} '{bad[0]}': a component may suggest training options and optimizers only")
    return layout


class _Resolver:
    """Merges the layers slot by slot, then the options; see the module docstring for the rules."""

    def __init__(self, registry: Registry, layers: list[_Layer], sets: Iterable[str], suggest: bool) -> None:
        self.registry, self.layers, self.suggest = registry, layers, suggest
        self.sets = parse_set(sets)
        self.data: DataSpec | None = None
        self.components: dict[str, Any] = {}

    def run(self) -> tuple[dict[str, Any], dict[str, Any]]:
        order = sorted(SLOTS.values(), key=lambda s: s.kind != "datasets")  # the data first: defaults depend on it
        for slot in order:
            self.components[slot.name] = self._many(slot) if slot.many else self._single(slot)
        self._check_betas()
        return self.components, self._options()

    def _suggest(self, spec: ComponentSpec, chooser: int) -> None:
        if not self.suggest or not spec.suggested:
            return
        layer = self.layers[chooser]
        for key, value in _suggestions(spec).items():
            if isinstance(value, dict) and isinstance(layer.soft.get(key), dict):
                layer.soft[key] = {**layer.soft[key], **value}
            else:
                layer.soft[key] = value

    def _single(self, slot: Slot) -> Choice:
        effective: list[str | None] = []  # the component chosen at or below each layer
        name, chooser, where = None, 0, None
        for i, layer in enumerate(self.layers):
            for settings, _ in layer.parts():
                named = settings.get(slot.name, {}).get("name")
                if named is not None:
                    name, chooser, where = named, i, layer.where
            effective.append(name)
        with _blame(where):
            spec = self.registry.get(slot.kind, name)
        given: dict[str, Any] = {}
        for layer, at in zip(self.layers, effective):
            if not _names(self.registry, slot.kind, at, spec):
                continue  # these parameters were given for another component, which a higher layer replaced
            for settings, soft in layer.parts():
                params = {k: v for k, v in settings.get(slot.name, {}).items() if k != "name"}
                if slot.name in OPTIMIZER_SLOTS.values() and BETAS in settings and "betas" not in params:
                    params = {"betas": settings[BETAS], **params} if _declares(spec, "betas") else params
                if soft:  # a suggestion for a parameter this component lacks does not apply to it
                    params = {k: v for k, v in params.items() if _declares(spec, k)}
                with _blame(layer.where):
                    spec.resolve(params, self.data)  # only so that a bad value names the layer it came from
                given.update(params)
        given.update(self._set_values(slot, spec, self.sets.get(slot.name, {}).pop(None, {})))
        choice = Choice(self.registry.unambiguous_name(slot.kind, spec), spec.resolve(given, self.data))
        if slot.kind == "datasets":
            self.data = spec.data_spec(choice.params) if spec.shape is not None else None
            if self.suggest and spec.suggested:
                where = f"dataset '{choice.name}' suggests"
                self.layers.insert(1, _Layer(where, _suggestions(spec)))
            if self.suggest and self.data is not None:
                kind_defaults = self._kind_defaults(self.data)
                if kind_defaults is not None:
                    self.layers.insert(1, kind_defaults)
        else:
            self._suggest(spec, chooser)
        return choice

    def _kind_defaults(self, data: DataSpec) -> _Layer | None:
        """The layer of every defaults record that applies to ``data`` (built-in ones first)."""
        merged: dict[str, Any] = {}
        names = []
        for provided in self.registry.defaults():
            spec = provided.spec
            settings = spec.for_data(data)
            if settings is None:
                continue
            where = f"{spec.owner} ({provided.plugin.label})"
            try:
                layout = check_layout(settings, where, recipe_key=False)
            except ConfigError as err:
                raise PluginError(str(err)) from None
            if "dataset" in layout:
                raise PluginError(f"{where}: defaults for a kind of data cannot choose the dataset")
            for key, value in layout.items():
                both = isinstance(value, dict) and isinstance(merged.get(key), dict)
                same = both and value.get("name", merged[key].get("name")) == merged[key].get("name")
                merged[key] = {**merged[key], **value} if same else value
            names.append(spec.name)
        if not names:
            return None
        return _Layer(f"defaults for {data.describe()} ({', '.join(names)})", merged)

    def _many(self, slot: Slot) -> tuple[Choice, ...]:
        items: list[dict[str, Any]] = []
        chooser, where = 0, None
        for i, layer in enumerate(self.layers):
            if slot.name in layer.values:
                items, chooser, where = layer.values[slot.name], i, layer.where
        chosen: list[tuple[ComponentSpec, str]] = []
        with _blame(where):
            for item in items:
                spec = self.registry.get(slot.kind, item["name"])
                if any(other is spec for other, _ in chosen):
                    raise ConfigError(f"{slot.name} lists {spec.owner} twice; give it once")
                chosen.append((spec, item["name"]))
        sets = self.sets.get(slot.name, {})
        if None in sets:  # `--set reg.weight=...` addresses the only one
            if len(chosen) != 1:
                listed = ", ".join(name for _, name in chosen) or "none"
                raise ConfigError(f"--set {slot.name}.PARAM needs the name when there is not exactly one "
                                  f"({slot.name}: {listed}); write {slot.name}.NAME.PARAM=VALUE")
            sets.setdefault(chosen[0][1], {}).update(sets.pop(None))
        choices = []
        for spec, name in chosen:
            given: dict[str, Any] = {}
            for layer in self.layers:
                for table in layer.values.get(slot.name, []):
                    if _names(self.registry, slot.kind, table["name"], spec):
                        params = {k: v for k, v in table.items() if k != "name"}
                        with _blame(layer.where):
                            spec.resolve(params, self.data)
                        given.update(params)
            matching = [key for key in sets if _names(self.registry, slot.kind, key, spec)]
            for key in matching:
                given.update(self._set_values(slot, spec, sets.pop(key)))
            choices.append(Choice(self.registry.unambiguous_name(slot.kind, spec), spec.resolve(given, self.data)))
            self._suggest(spec, chooser)
        for key in sets:  # --set for a component the run does not use
            listed = ", ".join(name for _, name in chosen) or "none"
            raise ConfigError(f"--set {slot.name}.{key}...: '{key}' is not among this run's {slot.name} ({listed}); "
                              f"add it with {slot.flags[0]} {key}")
        return tuple(choices)

    @staticmethod
    def _set_values(slot: Slot, spec: ComponentSpec, texts: Mapping[str, str]) -> dict[str, Any]:
        values = {}
        for key, text in texts.items():
            param = find_param(spec.params, key, spec.owner)
            try:
                values[key] = param.parse(text)
            except ParameterError as err:
                raise ParameterError(f"--set {slot.name}.{key}: {err}") from None
        return values

    def _check_betas(self) -> None:
        """``--betas`` from the user's own file or flags must reach an optimizer; elsewhere it is a suggestion."""
        for layer in self.layers:
            if BETAS in layer.values and (layer.where is None or layer.where.startswith("config file")):
                takers = [self.components[s].name for s in OPTIMIZER_SLOTS.values()
                          if _declares(self.registry.get("optimizers", self.components[s].name), "betas")]
                if not takers:
                    names = ", ".join(self.components[s].name for s in OPTIMIZER_SLOTS.values())
                    raise ConfigError(f"{layer.where or '--betas'}: betas given, but neither optimizer ({names}) "
                                      f"takes betas; leave them out or choose --opt adam")

    def _options(self) -> dict[str, Any]:
        declared = option_params()
        options: dict[str, Any] = {}
        for layer in self.layers:
            for settings, _ in layer.parts():
                for key, value in settings.items():
                    if key not in declared:
                        continue
                    try:
                        options[key] = declared[key].coerce(value, where=layer.where or "flag")
                    except ParameterError as err:
                        with _blame(layer.where):
                            raise ConfigError(f"option {err}") from None
            if layer.where is not None and layer.where.startswith("recipe"):
                with _blame(layer.where):  # a recipe's bad value is the recipe's fault, whatever overrides it later
                    _check_options(dict(options))
        _check_options(options)
        return options


def _declares(spec: ComponentSpec, name: str) -> bool:
    return any(p.name == name for p in spec.params)


def resolve_config(
    registry: Registry,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | str | None = None,
    sets: Iterable[str] = (),
    base: TrainConfig | None = None,
    recipe: str | None = None,
) -> TrainConfig:
    """Merge defaults, the dataset's suggestions, a recipe, a config file, flags and ``--set`` into a checked config.

    ``flags`` holds typed option values and component choices the user gave explicitly, in the config file's layout
    (``{"generator": "mlp", "regularisers": ["r1"], "opt": "rmsprop", "betas": [0.0, 0.9], "steps": 500}``).
    ``recipe`` names a recipe (else the config file's ``recipe`` key, if any). ``base`` replaces the defaults, the
    suggestions and any recipe (e.g. a saved run's config, which is already resolved).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    file = load_config_file(config_file) if config_file else {}
    recipe = recipe or file.pop("recipe", None)
    if base is not None and recipe is not None:
        raise ConfigError("a recipe cannot be applied on top of a saved run's settings; start a new run with it")
    bottom = _Layer("ganzoo's defaults", check_layout((base or TrainConfig()).to_dict(), "defaults"), bottom=True)
    layers = [bottom]
    if recipe:
        layers.append(_recipe_layer(registry, recipe))
    layers.append(_Layer("config file" if not config_file else f"config file {config_file}", file))
    layers.append(_Layer(None, check_layout(flags, "flags", recipe_key=False)))
    components, options = _Resolver(registry, layers, sets, suggest=base is None).run()
    return TrainConfig(components=components, recipe=recipe or (base.recipe if base else None), **options)


def config_from_dict(registry: Registry, data: Mapping[str, Any]) -> TrainConfig:
    """Rebuild a config saved by :meth:`TrainConfig.to_dict` (e.g. from a checkpoint), checking it again; the
    settings are taken as they are (no suggestions), and older layouts (``betas`` at the top) still read."""
    saved = check_layout(data, "saved config")
    layers = [_Layer("ganzoo's defaults", check_layout(TrainConfig().to_dict(), "defaults"), bottom=True),
              _Layer(None, saved)]
    components, options = _Resolver(registry, layers, (), suggest=False).run()
    return TrainConfig(components=components, recipe=data.get("recipe"), **options)
