"""One place for every training default, and how a run's settings are resolved.

Precedence, lowest first: the defaults below < the dataset's ``suggested`` options < ``--config FILE.toml`` <
command-line flags and ``--set``. The result is a fully resolved :class:`TrainConfig`, written to ``config.toml``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
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
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in option_fields()}
        out["betas"] = list(self.betas)
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
    """The hyperparameter fields (everything but the four components)."""
    return [f for f in dataclasses.fields(TrainConfig) if f.name not in COMPONENT_KINDS]


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
    data = read_toml(path)
    known = [*option_params(), *COMPONENT_KINDS]
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"config file {path}: unknown key '{key}'{did_you_mean(key, known)}")
        if key in COMPONENT_KINDS:
            if isinstance(value, str):
                data[key] = {"name": value}
            elif not isinstance(value, Mapping) or not isinstance(value.get("name", ""), str):
                raise ConfigError(f"config file {path}: [{key}] must be a table with a 'name' (or {key} = \"NAME\")")
    return data


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
) -> TrainConfig:
    """Merge defaults, the dataset's suggestions, a config file, flags and ``--set`` into a checked config.

    ``flags`` holds typed option values and component names (``generator``...) that the user gave explicitly.
    ``base`` replaces the defaults and the dataset's suggestions (e.g. a saved run's config).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    file = load_config_file(config_file) if config_file else {}
    suggest = base is None
    base = base or TrainConfig()
    set_values = parse_set(sets)

    choices: dict[str, Choice] = {}
    specs = {}
    data = None
    for kind in ("dataset", "generator", "discriminator", "loss"):  # the data first: defaults may depend on it
        table = dict(file.get(kind, {}))
        file_name = table.pop("name", None)
        name = flags.get(kind) or file_name or base.component(kind).name
        spec = registry.get(kind, name)
        # Parameters from a lower layer belong to the component that layer chose; keep them only for that one.
        given: dict[str, Any] = {}
        if _names(registry, kind, base.component(kind).name, spec):
            given.update(base.component(kind).params)
        if file_name is None or _names(registry, kind, file_name, spec):
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
    for source, values in (("config file", {k: v for k, v in file.items() if k in declared}), ("flag", flags)):
        for key, value in values.items():
            if key in COMPONENT_KINDS:
                continue
            if key not in declared:
                raise ConfigError(f"unknown option '{key}'{did_you_mean(key, declared)}")
            try:
                options[key] = declared[key].coerce(value, where=source)
            except ParameterError as err:
                raise ConfigError(f"option {err}") from None
    options["betas"] = tuple(options["betas"])
    _check_options(options)
    return TrainConfig(**{k: choices[k] for k in COMPONENT_KINDS}, **options)


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
    })
    flags = {k: v for k, v in data.items() if k not in COMPONENT_KINDS}
    return resolve_config(registry, flags, base=base)

