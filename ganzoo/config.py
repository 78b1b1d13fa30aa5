"""One place for every training default, and how a run's settings are resolved.

Precedence, lowest first: the defaults below < the dataset's ``suggested`` options < a recipe (``--recipe NAME``,
or ``recipe = "NAME"`` in the config file) < ``--config FILE.toml`` < command-line flags and ``--set``. The result is
a fully resolved :class:`TrainConfig`, written to ``config.toml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, GanzooError, ParameterError, did_you_mean
from .params import Param, find_param
from .registry import Registry
from .tomlio import dumps_toml, read_toml

COMPONENT_KINDS = ("generator", "discriminator", "loss", "dataset")


def _opt(default: Any, tp: Any, help: str) -> Any:
    return field(default=default, metadata={"type": tp, "help": help})


@dataclass(frozen=True)
class Choice:
    """A chosen component and its fully resolved parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run."""

    generator: Choice = Choice("mlp")
    discriminator: Choice = Choice("mlp")
    loss: Choice = Choice("nonsaturating")
    dataset: Choice = Choice("parabola")
    #: The recipe the run started from. Every value is resolved, so the rest of the config stands on its own.
    recipe: str | None = None
    steps: int = _opt(3000, int, "training steps in total, or the dataset's suggestion (a resumed run continues "
                             "up to this number)")
    batch_size: int = _opt(64, int, "samples per batch")
    latent_dim: int = _opt(64, int, "size of the noise vector z")
    lr_g: float = _opt(2e-4, float, "generator learning rate (Adam)")
    lr_d: float = _opt(2e-4, float, "discriminator learning rate (Adam)")
    betas: tuple[float, float] = _opt((0.5, 0.999), list[float], "Adam betas, e.g. 0.5,0.999")
    d_steps: int = _opt(1, int, "discriminator updates per step")
    g_steps: int = _opt(1, int, "generator updates per step")
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
    time_limit: float | None = _opt(None, float, "stop (and save) after this many seconds of training in this "
                                                 "invocation; 0 lifts a limit")

    def component(self, kind: str) -> Choice:
        return getattr(self, kind)

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout: options at the top, then one table per component with ``name`` and its parameters."""
        out: dict[str, Any] = {"recipe": self.recipe} if self.recipe else {}
        out.update({f.name: getattr(self, f.name) for f in option_fields()})
        out["betas"] = list(self.betas)
        # "Off" is written as 0: TOML has no null, and a missing key would let a dataset's suggestion or a recipe
        # switch it back on when the file is used again.
        out["ema"], out["time_limit"] = self.ema or 0.0, self.time_limit or 0.0
        for kind in COMPONENT_KINDS:
            choice = self.component(kind)
            out[kind] = {"name": choice.name, **choice.params}
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def label(self) -> str:
        """``g-d-loss-dataset``, for run directory names (a qualified ``dist:name`` keeps only a safe form)."""
        return "-".join(self.component(k).name.replace(":", "_") for k in COMPONENT_KINDS)


def option_fields() -> list[dataclasses.Field]:
    """The hyperparameter fields (everything but the four components and the recipe's name)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in (*COMPONENT_KINDS, "recipe")]


def option_params() -> dict[str, Param]:
    """The options declared as :class:`Param` records, so the CLI and config files parse them alike."""
    return {
        f.name: Param(f.name, f.metadata["type"], list(f.default) if isinstance(f.default, tuple) else f.default,
                      f.metadata["help"])
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
        need(options[name] > 0, name, "a positive learning rate")
    need(len(options["betas"]) == 2 and all(0 <= b < 1 for b in options["betas"]), "betas",
         "two numbers in [0, 1), e.g. 0.5,0.999")
    need(options["ema"] is None or 0 <= options["ema"] < 1, "ema", "a decay in [0, 1), e.g. 0.999 (0: off)")
    need(options["eval_samples"] >= 2, "eval_samples", "at least 2")
    need(options["time_limit"] is None or options["time_limit"] >= 0, "time_limit", ">= 0 seconds (0: no limit)")
    # 0 switches these off; None is how the config stores "off" (TOML has no null, so it is simply left out)
    options["ema"] = options["ema"] or None
    options["time_limit"] = options["time_limit"] or None


def load_config_file(path: Path | str) -> dict[str, Any]:
    """Read a config file and reject unknown top-level keys and malformed component tables."""
    data = check_layout(read_toml(path), f"config file {path}")
    if not isinstance(data.get("recipe", ""), str):
        raise ConfigError(f"config file {path}: recipe must be a recipe's name (see `ganzoo recipes`)")
    return data


def check_layout(data: Mapping[str, Any], where: str, recipe_key: bool = True) -> dict[str, Any]:
    """Check the layout shared by config files and recipes: known options, component tables with a ``name``.

    ``where`` starts each error (``config file x.toml``, ``recipe 'y' (ganzoo 0.1.0)``). A component may be given as
    ``generator = "NAME"``; the result always holds tables. ``recipe_key``: whether ``recipe = NAME`` is allowed.
    """
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    known = [*(["recipe"] if recipe_key else []), *option_params(), *COMPONENT_KINDS]
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(key, known)}")
        if key in COMPONENT_KINDS:
            if isinstance(value, str):
                data[key] = {"name": value}
            elif not isinstance(value, Mapping) or not isinstance(value.get("name", ""), str):
                raise ConfigError(f"{where}: [{key}] must be a table with a 'name' (or {key} = \"NAME\")")
    return data


@contextmanager
def _blame(where: str | None) -> Iterator[None]:
    """Prefix a user error with the layer it came from (e.g. a recipe), keeping its type."""
    try:
        yield
    except GanzooError as err:
        if where is None:
            raise
        raise type(err)(f"{where}: {err}") from None


def _recipe_layer(registry: Registry, name: str) -> tuple[str, dict[str, Any]]:
    """The recipe's settings, checked like a config file; and how errors name it (recipe and plugin)."""
    provided = registry.recipe(name)
    where = f"recipe '{provided.spec.name}' ({provided.plugin.label})"
    return where, check_layout(provided.spec.settings, where, recipe_key=False)


def parse_set(items: Iterable[str]) -> dict[str, dict[str, str]]:
    """``--set kind.param=value`` strings, grouped by component kind (values still text)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        kind, dot, param = key.strip().partition(".")
        kind = {"gen": "generator", "disc": "discriminator", "g": "generator", "d": "discriminator"}.get(kind, kind)
        if not eq or not dot or not param:
            raise ConfigError(f"--set {item!r} must look like KIND.PARAM=VALUE, e.g. generator.hidden=256,512")
        if kind not in COMPONENT_KINDS:
            raise ConfigError(
                f"--set {item!r}: unknown component kind '{kind}'{did_you_mean(kind, COMPONENT_KINDS)} "
                f"(one of {', '.join(COMPONENT_KINDS)})"
            )
        out.setdefault(kind, {})[param.strip()] = value
    return out


def resolve_config(
    registry: Registry,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | str | None = None,
    sets: Iterable[str] = (),
    base: TrainConfig | None = None,
    recipe: str | None = None,
) -> TrainConfig:
    """Merge defaults, the dataset's suggestions, a recipe, a config file, flags and ``--set`` into a checked config.

    ``flags`` holds typed option values and component names (``generator``...) that the user gave explicitly.
    ``recipe`` names a recipe (else the config file's ``recipe`` key, if any). ``base`` replaces the defaults, the
    dataset's suggestions and any recipe (e.g. a saved run's config, which is already resolved).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    file = load_config_file(config_file) if config_file else {}
    suggest = base is None
    recipe = recipe or file.pop("recipe", None)
    if not suggest and recipe is not None:
        raise ConfigError("a recipe cannot be applied on top of a saved run's settings; start a new run with it")
    base = base or TrainConfig()
    recipe_where, recipe_layer = _recipe_layer(registry, recipe) if recipe else (None, {})
    set_values = parse_set(sets)
    layers = ((recipe_where, recipe_layer), (None, file))  # lowest first; ``None``: errors need no prefix

    choices: dict[str, Choice] = {}
    specs = {}
    data = None
    for kind in ("dataset", "generator", "discriminator", "loss"):  # the data first: defaults may depend on it
        tables = [(where, dict(layer.get(kind, {}))) for where, layer in layers]
        named = [(where, table.pop("name", None)) for where, table in tables]
        name, name_from = flags.get(kind), None
        if not name:
            for where, layer_name in named:  # the highest layer that names a component chooses it
                if layer_name is not None:
                    name, name_from = layer_name, where
        with _blame(name_from):
            spec = registry.get(kind, name or base.component(kind).name)
        # Parameters from a lower layer belong to the component that layer chose; keep them only for that one.
        given: dict[str, Any] = {}
        if _names(registry, kind, base.component(kind).name, spec):
            given.update(base.component(kind).params)
        for (where, table), (_, layer_name) in zip(tables, named):
            if layer_name is None or _names(registry, kind, layer_name, spec):
                if where is not None:
                    with _blame(where):
                        spec.resolve(table, data)  # only so that a bad value names the layer it came from
                given.update(table)
        for key, text in set_values.get(kind, {}).items():
            param = find_param(spec.params, key, spec.owner)
            try:
                given[key] = param.parse(text)
            except ParameterError as err:
                raise ParameterError(f"--set {kind}.{key}: {err}") from None
        choices[kind] = Choice(registry.unambiguous_name(kind, spec), spec.resolve(given, data))
        specs[kind] = spec
        if kind == "dataset" and spec.shape is not None:
            data = spec.data_spec(choices[kind].params)

    declared = option_params()
    options: dict[str, Any] = {f.name: getattr(base, f.name) for f in option_fields()}
    if suggest:
        options.update({k: v for k, v in specs["dataset"].suggested.items() if k in declared})
    sources = (
        (recipe_where, {k: v for k, v in recipe_layer.items() if k in declared}),
        ("config file", {k: v for k, v in file.items() if k in declared}),
        ("flag", flags),
    )
    for source, values in sources:
        for key, value in values.items():
            if key in COMPONENT_KINDS:
                continue
            if key not in declared:
                raise ConfigError(f"unknown option '{key}'{did_you_mean(key, declared)}")
            try:
                options[key] = declared[key].coerce(value, where=source)
            except ParameterError as err:
                raise ConfigError(f"option {err}") from None
        if source == recipe_where and recipe_where is not None:
            with _blame(recipe_where):  # a recipe's bad value is the recipe's fault, whatever overrides it later
                _check_options({**options, "betas": tuple(options["betas"])})
    options["betas"] = tuple(options["betas"])
    _check_options(options)
    return TrainConfig(**{k: choices[k] for k in COMPONENT_KINDS}, recipe=recipe or base.recipe, **options)


def _names(registry: Registry, kind: str, name: str, spec) -> bool:
    """Whether ``name`` (alias, qualified or plain) resolves to ``spec``."""
    try:
        return registry.get(kind, name) is spec
    except GanzooError:
        return False


def config_from_dict(registry: Registry, data: Mapping[str, Any]) -> TrainConfig:
    """Rebuild a config saved by :meth:`TrainConfig.to_dict` (e.g. from a checkpoint), checking it again."""
    base = TrainConfig(**{
        kind: Choice(str(data[kind]["name"]), {k: v for k, v in data[kind].items() if k != "name"})
        for kind in COMPONENT_KINDS
    }, recipe=data.get("recipe"))
    flags = {k: v for k, v in data.items() if k not in (*COMPONENT_KINDS, "recipe")}
    return resolve_config(registry, flags, base=base)

