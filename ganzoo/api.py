"""The Python API behind ``ganzoo train``, ``sample``, ``evaluate`` and ``export``, for notebooks and scripts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig, config_from_dict, option_params, resolve_config, resumable_options
from .config.toml import read_toml
from .data.contract import Data
from .data.fingerprint import recorded_spec, standalone_data
from .errors import CheckpointError, ConfigError, DatasetError, GanzooError, did_you_mean, first_line
from .messages import warn
from .registry.kinds import SHORTHANDS, SLOT_GROUPS, SLOTS, slot_named
from .registry.registry import Registry, default_registry
from .run.checkpoint import CHECKPOINT_FIX, load_checkpoint, output_error
from .run.evaluation import DEFAULT_SAMPLES, EVAL_SEED, Evaluator, evaluator_for
from .run.export import ExportResult, ExportSource, plan_export, write_export
from .run.exported import build_generator, check_plugins, is_export, read_export
from .run.progress import Reporter
from .run.reporting import Reporters, build_reporters
from .run.rundir import RunDir
from .run.limits import EVAL_LIMIT, PNG_LIMIT, check_sample_count
from .run.samples import generate, read_samples, to_data_coords, write_samples
from .run.sampling import NoiseSource, SampleContext, build_sampler, draw, gif_frames, given_noise
from .training import distributed
from .training.assemble import build_models, check_compatible, data_spec, load_data
from .training.conditioning import Conditioning
from .training.device import resolve_device
from .training.result import RunResult
from .training.trainer import SAMPLE_COUNT, Trainer


def train(
    generator: str | None = None,
    discriminator: str | None = None,
    loss: str | None = None,
    dataset: str | None = None,
    *,
    config: str | Path | None = None,
    set: Iterable[str] = (),
    out: str | Path | None = None,
    resume: str | Path | None = None,
    reporter: Reporter | None = None,
    registry: Registry | None = None,
    recipe: str | None = None,
    tensorboard: bool = False,
    report: Iterable[str] = (),
    data_changed_ok: bool = False,
    **options: Any,
) -> RunResult:
    """Train a mix of components. ``options`` are the ``ganzoo train`` options by their Python names
    (``steps=500, batch_size=64, lr_g=2e-4, ema=0.999``...) and the other components (``augment="diffaugment"``,
    ``reg=["r1"]``, ``constraint="clip"``, ``opt="rmsprop"``, ``opt_d="sgd"``, ``betas=[0.0, 0.9]``); ``set``
    holds ``"kind.param=value"`` strings; ``recipe`` names a starting configuration (see ``ganzoo recipes``);
    ``report`` names reporters that mirror the run (``["mlflow"]``; see ``ganzoo list reporters``), and
    ``tensorboard=True`` is ``report=["tensorboard"]``. ``resume`` continues a run from its checkpoint; it refuses
    data that changed since then unless ``data_changed_ok``."""
    registry = registry or default_registry()
    names = [*([report] if isinstance(report, str) else report), *(["tensorboard"] if tensorboard else [])]
    # built now, so that a missing optional package fails before any work
    reporters = build_reporters(registry, names, warn)
    flags = _flags({"generator": generator, "discriminator": discriminator, "loss": loss, "dataset": dataset,
                    **options})
    if resume is not None:
        if out is not None:
            raise ConfigError("--out and --resume exclude each other: a resumed run stays in its own directory")
        if recipe is not None:
            raise ConfigError(f"cannot use --recipe when resuming {resume}: the checkpoint fixes the settings; "
                              f"start a new run with the recipe")
        return _resume(registry, Path(resume), flags, config, list(set), reporter, reporters, data_changed_ok)
    if data_changed_ok:
        raise ConfigError("--data-changed-ok applies to --resume only: a new run has no earlier data to compare")
    cfg = resolve_config(registry, flags, config, set, recipe=recipe)
    world = distributed.world_from_env()
    with distributed.session(world, cfg.device):
        # rank 0 names the run (the default name holds a timestamp); every rank checks it before rank 0 creates it
        run = RunDir(distributed.share(out if out is not None else RunDir.default_path(cfg), world))
        _check_new_run(run)
        distributed.barrier(world)
        return Trainer(cfg, registry, run, reporter, world=world, reporters=reporters).fit()


def check_plan(registry: Registry, *, config: str | Path | None = None, set: Iterable[str] = (),
               recipe: str | None = None, **options: Any) -> TrainConfig:
    """The config :func:`train` would resolve from the same arguments, and the mix checked against the data's shape
    where the dataset's record knows it, without loading or training anything (a sweep checks every member first)."""
    cfg = resolve_config(registry, _flags(options), config, set, recipe=recipe)
    spec = data_spec(registry, cfg)
    if spec is not None:
        check_compatible(registry, cfg, spec)
    return cfg


def _flags(given: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`train` in the config file's layout (slot aliases resolved, None dropped)."""
    declared = option_params()
    flags: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        slot = slot_named(key)
        if slot is not None:
            flags[slot.name] = ([value] if isinstance(value, str) else list(value)) if slot.many else value
        elif key in declared:
            flags[key] = value
        elif key in SLOT_GROUPS or key in SHORTHANDS:  # opt="rmsprop"; betas=[0.0, 0.9] is the opt group's too
            group, param = SHORTHANDS[key].target.split(".") if key in SHORTHANDS else (key, None)
            part = {param: value} if param else ({"name": value} if isinstance(value, str) else dict(value))
            flags[group] = {**flags.get(group, {}), **part}
        else:
            known = [*declared, *SLOTS, *SLOT_GROUPS, *SHORTHANDS]
            raise ConfigError(f"unknown training option '{key}'{did_you_mean(key, known)} (options: "
                              f"{', '.join(known)})")
    return flags


def _check_new_run(run: RunDir) -> None:
    """A new run never lands on top of another run's files."""
    if run.latest.is_file():
        raise ConfigError(f"{run.path} already holds a run; continue it with --resume {run.path} or pick another --out")
    if run.path.is_dir() and any(run.path.iterdir()):
        raise ConfigError(f"--out {run.path} is not empty; pick a new or empty directory so no files get mixed up")
    if run.path.exists() and not run.path.is_dir():
        raise ConfigError(f"--out {run.path} is a file; pick a directory")


def _resume(registry: Registry, path: Path, flags: dict, config_file, sets: list[str],
            reporter: Reporter | None, reporters: Reporters, data_changed_ok: bool = False) -> RunResult:
    run = RunDir(path)
    ckpt = load_checkpoint(run.require_checkpoint())
    fixed = [k for k in flags if k not in resumable_options()]
    if config_file is not None or sets or fixed:
        what = ", ".join([*(f"--{k.replace('_', '-')}" for k in fixed), *(["--config"] if config_file else []),
                          *(["--set"] if sets else [])])
        raise ConfigError(
            f"cannot change {what} when resuming {path}: the checkpoint fixes the components and hyperparameters "
            f"(only {', '.join(resumable_options())} may change); start a new run to train another mix"
        )
    cfg = resumed_config(registry, run, ckpt, flags)
    world = distributed.world_from_env()
    with distributed.session(world, cfg.device):
        return Trainer(cfg, registry, run, reporter, resume_from=ckpt, world=world, reporters=reporters,
                       data_changed_ok=data_changed_ok).fit()


def resumed_config(registry: Registry, run: RunDir, ckpt: dict, flags: dict | None = None) -> TrainConfig:
    """The config a run resumes with: its checkpoint's, with the resumable ``flags`` (more ``steps``) on top."""
    _check_own_run(run, ckpt)
    cfg = resolve_config(registry, flags or {}, base=_saved_config(registry, run, ckpt))
    if cfg.steps <= int(ckpt.get("step", 0)):
        raise ConfigError(f"{run.path} has already trained {ckpt.get('step')} of {cfg.steps} steps; pass a larger "
                          f"--steps to continue")
    return cfg


def _fixed_settings(data: Any) -> dict:
    """The settings a checkpoint fixes, in a form that compares equal across TOML and checkpoint (no None, lists)."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not None}
        return list(value) if isinstance(value, tuple) else value

    return plain({k: v for k, v in data.items() if k not in resumable_options()}) if isinstance(data, dict) else {}


def _check_own_run(run: RunDir, ckpt: dict) -> None:
    """Refuse a ``latest.pt`` that another run wrote (e.g. copied in by hand): resuming it would mix two runs'
    metrics and overwrite this run's config, and sampling it would show another model under this run's name."""
    if not run.config_path.is_file() or not isinstance(ckpt.get("config"), dict):
        return  # a bare checkpoint in a directory of its own carries its config; nothing to contradict it
    try:
        here = _fixed_settings(read_toml(run.config_path))
    except ConfigError:
        return  # an unreadable config.toml says nothing about the checkpoint; the checkpoint's config is used
    there = _fixed_settings(ckpt.get("config"))
    differ: list[str] = []
    for key in sorted(set(here) | set(there)):
        mine, theirs = here.get(key), there.get(key)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            differ += [f"{key}.{p}" for p in sorted(set(mine) | set(theirs)) if mine.get(p) != theirs.get(p)]
        elif mine != theirs:
            differ.append(key)
    if differ:
        label = "-".join(str(there[s.name].get("name", "?")) if isinstance(there.get(s.name), dict) else "?"
                         for s in SLOTS.values() if s.in_label and not s.many)
        raise CheckpointError(
            f"{run.latest} was written by another run ({label}): it differs from {run.config_path} in "
            f"{', '.join(differ[:4])}{' ...' if len(differ) > 4 else ''}; copy this run's own newest "
            f"checkpoints/step_*.pt over it, or move the foreign checkpoint into an empty directory and use that"
        )


def _saved_config(registry: Registry, run: RunDir, ckpt: dict) -> TrainConfig:
    """The config stored in a checkpoint, re-checked against the plugins installed now."""
    try:
        return config_from_dict(registry, ckpt["config"], recorded_spec(ckpt.get("data")))
    except (KeyError, TypeError, AttributeError, ValueError):
        raise CheckpointError(f"{run.latest} has no readable training config") from None
    except DatasetError as err:
        raise DatasetError(f"{run.path} was trained on data that cannot be read now: {err}") from None
    except GanzooError as err:
        raise CheckpointError(f"{run.latest} cannot be used here: {err}; install the plugins the run was trained "
                              f"with (see `ganzoo plugins`)") from None


def _load_sampler(run_dir: Path, device: torch.device, registry: Registry, use_ema: bool,
                  needs: tuple[str, ...] = ("generator",)):
    if is_export(run_dir):  # an export folder: the generator's plugin (and for evaluate the dataset's) suffices
        folder = read_export(run_dir)
        if not use_ema and folder.info["source"]["ema"]:
            raise ConfigError(f"{run_dir} holds the run's EMA generator only; export the run with --no-ema")
        check_plugins(registry, folder, needs)
        cond = Conditioning(folder.classes, folder.own_labels)
        return folder.config, folder.data, build_generator(registry, folder).to(device), folder.to_data, cond, {}
    run = RunDir(run_dir)
    ckpt = load_checkpoint(run.require_checkpoint(), map_location="cpu")
    _check_own_run(run, ckpt)
    cfg = _saved_config(registry, run, ckpt)
    data = None
    spec = recorded_spec(ckpt.get("data")) or data_spec(registry, cfg)
    if spec is None:  # the dataset cannot tell its shape without loading, and the checkpoint does not say
        data = load_data(registry, cfg)
        spec = data.spec
    models = build_models(registry, cfg, spec)
    generator = models.generator
    try:
        state = ckpt["ema"] if use_ema and ckpt.get("ema") is not None else ckpt["generator"]
        generator.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"{run.latest} does not fit its generator ({first_line(err)}); {CHECKPOINT_FIX}") \
            from None
    return cfg, spec, generator.to(device), data, models.conditioning, ckpt


def _check_label(label: int | None, cond: Conditioning, cfg: TrainConfig, run_dir) -> None:
    if label is None:
        return
    if not cond.generator:
        raise ConfigError(f"--label {label}: the generator of {run_dir} ('{cfg.generator.name}') is not conditional; "
                          f"sample it without --label")
    if not 0 <= label < cond.classes:
        what = "codes" if cond.own_labels else "classes"
        raise ConfigError(f"--label {label}: {run_dir} has {cond.classes} {what}, numbered 0 to {cond.classes - 1}")


def sample(run_dir: str | Path, n: int = 64, *, seed: int = 0, device: str = "auto", use_ema: bool = True,
           registry: Registry | None = None, out: str | Path | None = None, label: int | None = None,
           sampler: str | None = None, set: Iterable[str] = (), z: torch.Tensor | str | Path | None = None,
           ) -> torch.Tensor:
    """``n`` samples from a run's generator (EMA when present) in data coordinates: images as pixels in [0, 1],
    points as (x, y). With ``out`` ending in ``.png``, ``.pt`` or (a walking sampler's) ``.gif`` they are also
    written there.

    A conditional generator draws them for class ``label``, or without one for every class in turn (sample ``i``
    has label ``i // ceil(n / classes)``; a PNG names each class beside its rows, or in each picture's corner
    when there are few per class). InfoGAN's ``label`` is its categorical code. ``sampler`` names a sampler plugin
    (``truncation``, ``rejection``, ``interpolate``; ``set`` holds its ``"sampler.P=V"`` parameters) and ``z`` gives
    the noise (a tensor, or a file saved with ``torch.save``) instead of the seed's."""
    if n < 1:
        raise ConfigError(f"-n must be at least 1, got {n}")
    _check_seed(seed)
    out = Path(out) if out is not None else None
    if out is not None and out.suffix.lower() not in {".png", ".gif", ".pt"}:
        raise ConfigError(f"-o {out}: the file must end in .png (picture), .gif (a sampler's walks) or .pt (tensor)")
    registry = registry or default_registry()
    dev = resolve_device(device)
    cfg, spec, generator, data, cond, ckpt = _load_sampler(Path(run_dir), dev, registry, use_ema)
    _check_label(label, cond, cfg, run_dir)
    if out is not None and out.suffix.lower() != ".pt" and n > PNG_LIMIT[spec.kind]:
        raise ConfigError(f"-n {n:,}: a picture shows at most {PNG_LIMIT[spec.kind]:,} samples and stays readable; "
                          f"write a tensor (-o FILE.pt) for more")
    check_sample_count(n, spec, cfg.latent_dim, "-n")
    labels = cond.sample_labels(n, label)
    source = NoiseSource(cfg.latent_dim, seed, dev, given_noise(z, cfg.latent_dim) if z is not None else None)
    chosen = build_sampler(registry, sampler, set, spec) if sampler is not None else None
    frames = gif_frames(out, chosen, sampler, n)
    if chosen is None:
        raw = generate(generator, source(n), labels)
    else:
        ctx = SampleContext(n, generator.eval(), labels.to(dev) if labels is not None else None, spec, dev,
                            cond.generator, source,
                            _discriminator_scorer(ckpt, dev, registry, cfg, spec) if ckpt else None)
        raw = draw(chosen, ctx, f"sampler '{sampler}'").cpu()
    if spec.kind == "points" and data is None:  # the checkpoint's map to data coordinates stands in for the data
        data = standalone_data(ckpt.get("data"), spec) or load_data(registry, cfg)
    if out is not None:
        which = f", {cond.label_word} {label}" if label is not None else ""
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_samples(out, raw, spec, data, f"{cfg.label()}  {n} samples{which}", labels, cond.label_word, frames)
        except OSError as err:
            raise output_error(out, err) from None
    return to_data_coords(raw, spec, data)


def _discriminator_scorer(ckpt: dict, device: torch.device, registry: Registry, cfg: TrainConfig, spec):
    """D's logits as training computed them (labels for a conditional D), with D built on first use from the
    checkpoint already read."""
    loaded: list = []

    def score(x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if not loaded:
            models = build_models(registry, cfg, spec)
            models.discriminator.load_state_dict(ckpt["discriminator"])
            loaded.append((models.discriminator.to(device).eval(), models.conditioning.discriminator))
        D, conditional = loaded[0]
        out = D(x, labels) if conditional else D(x)
        return (out["logits"] if isinstance(out, dict) else out).float().reshape(len(x))

    return score


def _check_seed(seed: int) -> None:
    if not 0 <= seed < 2**63 - 1:
        raise ConfigError(f"--seed must be in [0, 2^63 - 1), got {seed}")


def evaluate(run_dir: str | Path, n: int | None = None, *, seed: int = EVAL_SEED, device: str = "auto",
             use_ema: bool = True, registry: Registry | None = None, progress=None,
             metrics: Iterable[str] | str | None = None) -> dict[str, float]:
    """Quality metrics of a run's generator (EMA when present) on ``n`` samples (default 5,000), e.g.
    ``{"curve_error": 0.03, ...}``; the same seed gives the same numbers. ``metrics`` names the metrics to compute
    (default: the run's ``metrics`` option, else its dataset's metrics, the expensive ones only on a GPU)."""
    return evaluate_run(run_dir, n, seed=seed, device=device, use_ema=use_ema, registry=registry,
                        progress=progress, metrics=metrics)[0]


def evaluate_run(run_dir: str | Path, n: int | None = None, *, seed: int = EVAL_SEED, device: str = "auto",
                 use_ema: bool = True, registry: Registry | None = None, progress=None,
                 metrics: Iterable[str] | str | None = None) -> tuple[dict, Evaluator]:
    """:func:`evaluate`, also returning the evaluator, whose ``descriptions()`` and ``better()`` explain each key."""
    n = DEFAULT_SAMPLES if n is None else n
    if n < 2:
        raise ConfigError(f"--samples must be at least 2, got {n}")
    if n > EVAL_LIMIT:
        raise ConfigError(f"--samples {n:,}: metrics hold every sample (and its features) in memory, so they take "
                          f"at most {EVAL_LIMIT:,} (FID's usual count is 50,000)")
    _check_seed(seed)
    registry = registry or default_registry()
    dev = resolve_device(device)
    cfg, generator, data, cond = evaluation_inputs(run_dir, n, dev, registry, use_ema)
    evaluator = evaluator_for(registry, cfg, data, dev, progress, cond, metrics)
    return evaluator(generator, n, seed), evaluator


def evaluation_inputs(run_dir: str | Path, n: int, device: torch.device, registry: Registry, use_ema: bool = True,
                      datasets: dict | None = None) -> tuple[TrainConfig, torch.nn.Module, Data, Conditioning]:
    """What evaluating a run (or an export folder) on ``n`` samples starts from: its config, its generator on
    ``device``, the data it trained on and its label flow. ``datasets``, a dict the caller keeps, holds the data
    loaded before (a sweep loads it once for all its members)."""
    cfg, spec, generator, data, cond, _ = _load_sampler(Path(run_dir), device, registry, use_ema,
                                                        needs=("generator", "dataset"))
    check_sample_count(n, spec, cfg.latent_dim, "--samples", copies=4)  # samples, coordinates and features
    cache, key = {} if datasets is None else datasets, (cfg.dataset.name, repr(sorted(cfg.dataset.params.items())))
    if isinstance(data, Data):
        cache.setdefault(key, data)
    elif key not in cache:  # an export folder's points hold only their map to data coordinates
        try:
            cache[key] = load_data(registry, cfg)
        except DatasetError as err:
            raise DatasetError(f"evaluating {run_dir} needs the data it was trained on: {err}") from None
    return cfg, generator, cache[key], cond


def export(run_dir: str | Path, out: str | Path, *, formats: str | Iterable[str] | None = None, force: bool = False,
           use_ema: bool = True, registry: Registry | None = None) -> ExportResult:
    """Export a run's generator (EMA when present) to the folder ``out``: ``generator.pt2`` (torch.export),
    ``generator.onnx`` and ``generator.safetensors`` with ``config.json``, a model card (``README.md``) and
    ``samples.png``. ``formats`` (``"pt2,onnx"``...) defaults to every format the installed packages allow;
    ``force`` replaces the export's files in a folder that is not empty. A format whose exporter fails is an
    :class:`ExportError`, raised once the other files are written."""
    run_dir, out = Path(run_dir), Path(out)
    chosen = plan_export(run_dir, out, formats, force)
    registry = registry or default_registry()
    cfg, spec, generator, data, cond, ckpt = _load_sampler(run_dir, torch.device("cpu"), registry, use_ema)
    if spec.kind == "points" and data is None:
        data = standalone_data(ckpt.get("data"), spec) or load_data(registry, cfg)
    count = SAMPLE_COUNT[spec.kind]
    source = ExportSource(generator, cfg, spec, cond.classes, cond.own_labels, data, count,
                          cond.grid_labels(None, count), RunDir(run_dir), int(ckpt.get("step", 0)),
                          use_ema and ckpt.get("ema") is not None)
    return write_export(registry, source, out, chosen)


def evaluate_file(path: str | Path, dataset: str, sets: Iterable[str] = (), *, device: str = "auto",
                  registry: Registry | None = None, progress=None,
                  metrics: Iterable[str] | str | None = None) -> tuple[dict, Evaluator]:
    """The metrics of ``ganzoo evaluate`` for samples made anywhere (see :func:`read_samples`), against
    ``dataset`` with its parameters (``sets``: ``"dataset.P=V"``), so ganzoo can judge other code's models."""
    registry = registry or default_registry()
    config = resolve_config(registry, {"dataset": dataset}, sets=sets)
    data = load_data(registry, config)
    samples = read_samples(Path(path), data)
    evaluator = evaluator_for(registry, config, data, resolve_device(device), progress, None, metrics)
    return evaluator.evaluate_samples(samples), evaluator

