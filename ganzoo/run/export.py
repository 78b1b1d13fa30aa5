"""``ganzoo export``: a run's generator in files that others can use, with or without ganzoo.

- ``generator.pt2``: a ``torch.export`` program (torch only), with a dynamic batch dimension;
- ``generator.onnx``: the same program through torch's own ONNX exporter (needs onnxscript; ``ganzoo[export]``);
- ``generator.safetensors`` and ``config.json``: the weights, for ganzoo and the generator's plugin to rebuild it;
- ``README.md``: a model card in the Hugging Face Hub's conventions, and ``samples.png``, a grid on fixed noise.

Every format holds the same :class:`DataSpace` module (the generator, then the map to the data's space), so the
programs take ``z`` (and a conditional generator's ``labels``) and return samples in the data's space; the inputs
and outputs are described once (:func:`signature`), in ``config.json``, from which the card is written. Each file
is written atomically and checked against the generator on fixed noise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import json
import logging
import platform
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig
from ..data.contract import Data, DataSpec
from ..data.fingerprint import affine_map
from ..errors import ConfigError, ExportError, did_you_mean, first_line
from ..messages import note, warn
from ..registry.kinds import SLOTS
from ..registry.registry import Registry
from .card import model_card
from .checkpoint import atomic_write
from .exported import CONFIG, FORMAT, VERSION, WEIGHTS, DataSpace, build_generator, folder_from, is_export
from .rundir import RunDir
from .samples import generate, save_png

#: Each format and its file.
FORMATS = {"pt2": "generator.pt2", "onnx": "generator.onnx", "safetensors": WEIGHTS}
CARD, GRID = "README.md", "samples.png"
#: Every file an export writes (``--force`` replaces these, and removes the ones this export does not write).
FILES = (*FORMATS.values(), CONFIG, CARD, GRID)
#: The packages each format needs beyond torch, and what installs them.
NEEDS = {"onnx": ("onnx", "onnxscript"), "safetensors": ("safetensors",)}
INSTALL = {"onnx": "pip install 'ganzoo[export]'", "safetensors": "pip install safetensors"}
#: The largest difference from the generator a written format may show on the check's fixed noise, relative to the
#: samples' scale (1 for pixels in [0, 1]).
TOLERANCE = {"pt2": 1e-5, "onnx": 1e-4, "safetensors": 1e-5}
#: Samples of the check: not the traced batch of 2, so that the check also shows the batch dimension dynamic.
CHECK_BATCH = 5
WHY = ("a generator must not branch on tensor values or read them in Python (.item(), .tolist(), numpy); see "
       "docs/plugins.md, 'Exportable generators'")


@dataclass
class ExportSource:
    """What is exported: a run's generator (its EMA copy when there is one) and what describes it."""

    generator: nn.Module
    config: TrainConfig
    data: DataSpec
    classes: int | None
    own_labels: bool
    real: Data | None  # points: the data, for its map to data coordinates and the real points under the plot
    grid_count: int  # samples.png's samples, as many as the run's own sample pictures show
    grid_labels: torch.Tensor | None  # a conditional generator's: the labels of those samples, class-major
    run: RunDir
    step: int
    ema: bool


@dataclass
class ExportResult:
    """What ``ganzoo export`` wrote: the folder, its files, and each format's largest difference from the
    generator on fixed noise (``checks``)."""

    path: Path
    files: list[str]
    checks: dict[str, float] = field(default_factory=dict)


def available(fmt: str) -> list[str]:
    """The packages ``fmt`` needs that are not installed."""
    missing = [name for name in NEEDS.get(fmt, ()) if importlib.util.find_spec(name) is None]
    if fmt == "onnx" and "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        missing.append("torch>=2.5")  # the exporter that takes a torch.export program
    return missing


def plan_export(run: Path, out: Path, formats: str | Iterable[str] | None, force: bool) -> list[str]:
    """The formats to write, checked before any work: by default every format the installed packages allow (one
    note for each that they do not); a folder that is not empty is refused unless ``force``."""
    if is_export(run):
        raise ConfigError(f"{run} is an export folder; export the run it was made from ({CONFIG} names it)")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} is a file; give a folder")
    if out.exists() and (out.resolve() == run.resolve() or (out / "config.toml").exists()):
        raise ConfigError(f"-o {out} holds a run; export to a folder of its own")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"-o {out} is not empty; pass --force to replace the export's files in it (other files "
                          f"are kept), or give a new folder")
    clash = [name for name in FILES if (out / name).exists()] if out.is_dir() and not is_export(out) else []
    if clash:  # --force replaces an earlier export's files, never someone else's README.md
        raise ConfigError(f"-o {out} holds no earlier export, but its {', '.join(clash)} would be overwritten; "
                          f"give a new folder")
    if formats is None:
        chosen = []
        for fmt in FORMATS:
            if available(fmt):
                note(f"{FORMATS[fmt]} not written: it needs {' and '.join(available(fmt))} ({INSTALL[fmt]})")
            else:
                chosen.append(fmt)
        return chosen
    names = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    for fmt in names:
        if fmt not in FORMATS:
            raise ConfigError(f"--format {fmt}: no such format{did_you_mean(fmt, FORMATS)} (formats: "
                              f"{', '.join(FORMATS)})")
        if available(fmt):
            raise ConfigError(f"--format {fmt} needs the {' and '.join(available(fmt))} package(s): {INSTALL[fmt]}")
    if not names:
        raise ConfigError(f"--format names no format (formats: {', '.join(FORMATS)})")
    return [fmt for fmt in FORMATS if fmt in names]


def signature(data: DataSpec, latent_dim: int, classes: int | None, own_labels: bool) -> dict[str, Any]:
    """The inputs and the output of every exported format, stated once (``config.json`` and the card show it)."""
    inputs = [{"name": "z", "shape": ["batch", latent_dim], "dtype": "float32",
               "description": "noise: independent standard normal numbers"}]
    if classes is not None:
        what = ("the generator's own categorical code of each sample (not the data's classes)" if own_labels
                else "the class of each sample")
        inputs.append({"name": "labels", "shape": ["batch"], "dtype": "int64", "range": [0, classes - 1],
                       "description": what})
    if data.kind == "image":
        output = {"name": "samples", "shape": ["batch", *data.shape], "dtype": "float32", "range": [0, 1],
                  "description": "images as pixels in [0, 1], channels first"}
    else:
        output = {"name": "samples", "shape": ["batch", *data.shape], "dtype": "float32",
                  "description": "points in the data's coordinates (the dataset's standardisation undone)"}
    return {"inputs": inputs, "outputs": [output]}


@contextlib.contextmanager
def _quiet():
    """The exporters print graphs, progress and warnings; ganzoo says what happened in one line instead."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _trace(module: nn.Module, example: tuple[torch.Tensor, ...], owner: str):
    """A torch.export program with a dynamic batch. Strict tracing (TorchDynamo) first: it keeps ``len(z)``
    symbolic, which the non-strict tracer fixes to the example's batch; the non-strict tracer then takes what
    TorchDynamo cannot. The error named is the first tracer's."""
    batch = torch.export.Dim("batch", min=1)
    shapes = tuple({0: batch} for _ in example)
    errors = []
    for strict in (True, False):
        try:
            with _quiet():
                return torch.export.export(module, example, dynamic_shapes=shapes, strict=strict)
        except Exception as err:  # noqa: BLE001 - any tracer failure is the generator's, named in one line
            errors.append(err)
    raise ExportError(f"{owner} cannot be exported with torch.export: {first_line(errors[0], 120)} ({WHY})")


def _onnx(program, example: tuple[torch.Tensor, ...], names: list[str], owner: str) -> bytes:
    try:
        with _quiet():
            exported = torch.onnx.export(program, example, dynamo=True, verbose=False, input_names=names,
                                         output_names=["samples"], dynamic_shapes=tuple({0: "batch"} for _ in names))
        return exported.model_proto.SerializeToString()
    except Exception as err:  # noqa: BLE001
        raise ExportError(f"{owner} cannot be exported to ONNX: {first_line(err, 120)}") from None


def _difference(got: torch.Tensor, want: torch.Tensor) -> float:
    """The largest difference, relative to the samples' scale (at least 1)."""
    got = torch.as_tensor(got)
    if got.shape != want.shape:
        return float("inf")
    return (got.double() - want.double()).abs().max().item() / max(1.0, want.abs().max().item())


def _check_onnx(blob: bytes, inputs: dict[str, torch.Tensor], want: torch.Tensor) -> float | None:
    """The ONNX file run by onnxruntime, when it is installed (None: not checked)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return _difference(torch.from_numpy(session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]), want)


def _provenance(registry: Registry, config: TrainConfig) -> list[dict[str, Any]]:
    """Every chosen component with its parameters, plugin, distribution, version and citation."""
    out = []
    for slot in SLOTS.values():
        value = config.component(slot.name)
        for choice in (value if slot.many else [value]):
            spec = registry.get(slot.kind, choice.name)
            plugin = next(p.plugin for p in registry.components(slot.kind) if p.spec is spec)
            out.append({"slot": slot.name, "kind": slot.kind, "name": choice.name, "params": choice.params,
                        "description": spec.description, "citation": spec.citation, "plugin": plugin.name,
                        "distribution": plugin.dist, "version": plugin.version})
    return out


def _last_evaluation(registry: Registry, source: ExportSource) -> dict[str, Any]:
    """The metrics of the run's last evaluation (``metrics.jsonl``), with their step; {} when it had none."""
    dataset = registry.get("dataset", source.config.dataset.name)
    keys = {key for m in [*(p.spec for p in registry.metrics()), *dataset.metrics] for key in m.keys}
    for record in reversed(source.run.read_metrics()):
        values = {k: v for k, v in record.items() if k in keys and v is not None}
        if values:
            return {"step": record.get("step"), "values": values}
    return {}


def _describe(registry: Registry, source: ExportSource, to_data) -> dict[str, Any]:
    """``config.json``: everything a user or a program needs to know about the folder, stated once."""
    spec, config = source.data, source.config
    return {"format": FORMAT, "version": VERSION, "name": config.label(),
            **signature(spec, config.latent_dim, source.classes, source.own_labels),
            "latent_dim": config.latent_dim, "classes": source.classes, "own_labels": source.own_labels,
            "data": {"kind": spec.kind, "shape": list(spec.shape), "classes": spec.classes},
            "to_data": {"weight": to_data.weight.tolist(), "bias": to_data.bias.tolist()} if to_data else None,
            "source": {"run": source.run.path.resolve().name, "step": source.step, "ema": source.ema},
            "components": _provenance(registry, config),
            "software": {"ganzoo": _version("ganzoo"), "torch": torch.__version__,
                         "python": platform.python_version()},
            "evaluation": _last_evaluation(registry, source), "training_config": _without_none(config.to_dict())}


def _examples(latent_dim: int, classes: int | None, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Seeded inputs of every format: noise, and labels cycling through the classes."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    return (z, torch.arange(n) % classes) if classes is not None else (z,)


def write_export(registry: Registry, source: ExportSource, out: Path, formats: list[str]) -> ExportResult:
    """Write the export folder (see the module's docstring). A format whose exporter fails is one
    :class:`ExportError` line, raised after every other file was written."""
    spec, classes, latent_dim = source.data, source.classes, source.config.latent_dim
    to_data = affine_map(source.real) if spec.kind == "points" else None
    if spec.kind == "points" and to_data is None:
        raise ConfigError(f"dataset '{source.config.dataset.name}' maps the model's space to data coordinates "
                          f"with a function that is not affine; an export folds only an affine one (a "
                          f"standardisation) into the generator")
    generator = source.generator.cpu().eval()
    module = DataSpace(generator, spec, latent_dim, classes, to_data).eval().requires_grad_(False)
    info = _describe(registry, source, to_data)
    owner, names = f"generator '{source.config.generator.name}'", ["z", "labels"][:1 + (classes is not None)]
    traced, check = _examples(latent_dim, classes, 2, 0), _examples(latent_dim, classes, CHECK_BATCH, 1)
    with torch.no_grad():
        want = module(*check)
    result, failures = ExportResult(out, []), []

    def write(name: str, payload: bytes) -> None:
        atomic_write(out / name, lambda f: f.write(payload))
        result.files.append(name)

    out.mkdir(parents=True, exist_ok=True)
    if "safetensors" in formats:
        from safetensors.torch import save

        # clones: tied weights would share memory, which safetensors refuses
        state = {k: v.detach().cpu().clone().contiguous() for k, v in generator.state_dict().items()}
        write(WEIGHTS, save(state, metadata={"format": "pt", "library": "ganzoo", "name": info["name"]}))
        def rebuilt() -> float:  # rebuilt by its plugin, as ganzoo.load_generator does
            with torch.no_grad():
                again = build_generator(registry, folder_from(out, info), out / WEIGHTS)
                return _difference(DataSpace(again, spec, latent_dim, classes, to_data)(*check), want)

        _checked(result, "safetensors", rebuilt, failures)
    program = None
    if {"pt2", "onnx"} & set(formats):
        try:
            program = _trace(module, traced, owner)
        except ExportError as err:
            failures.append(str(err))
    if program is not None and "pt2" in formats:
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        write(FORMATS["pt2"], buffer.getvalue())
        def loaded() -> float:
            with torch.no_grad(), _quiet():
                return _difference(torch.export.load(out / FORMATS["pt2"]).module()(*check), want)

        _checked(result, "pt2", loaded, failures)
    if program is not None and "onnx" in formats:
        try:
            blob = _onnx(program, traced, names, owner)
        except ExportError as err:
            failures.append(str(err))
        else:
            write(FORMATS["onnx"], blob)
            _checked(result, "onnx", lambda: _check_onnx(blob, dict(zip(names, check)), want), failures)
    save_png(out / GRID, *_grid(generator, source))
    result.files.append(GRID)
    info["files"] = [*result.files, CONFIG, CARD]
    info["checks"] = {"noise": {"batch": CHECK_BATCH, "seed": 1}, "max_difference": dict(result.checks),
                      "tolerance": {k: TOLERANCE[k] for k in result.checks}}
    write(CONFIG, (json.dumps(info, indent=2) + "\n").encode())
    write(CARD, model_card(info, source.config.to_toml()).encode())
    for fmt, difference in result.checks.items():
        if difference > TOLERANCE[fmt]:
            warn(f"{FORMATS[fmt]} differs from the generator by up to {difference:.2g} on fixed noise (tolerance "
                 f"{TOLERANCE[fmt]:g}): does the generator draw random numbers in forward()?")
    for stale in set(FILES) - set(result.files):  # left by an earlier export (--force): the folder says one thing
        with contextlib.suppress(FileNotFoundError):
            (out / stale).unlink()
    if failures:
        raise ExportError(f"{failures[0]}; wrote {', '.join(result.files)} to {out}")
    return result


def _checked(result: ExportResult, fmt: str, check, failures: list[str]) -> None:
    """A written file loaded back and run on fixed noise; a failure to do so is one line, and the export goes on."""
    try:
        difference = check()
    except Exception as err:  # a plugin's generator that cannot be rebuilt, a runtime that rejects the file...
        failures.append(f"{FORMATS[fmt]} was written, but loading it back to check it failed: "
                        f"{type(err).__name__}: {first_line(err)}")
        return
    if difference is not None:
        result.checks[fmt] = difference


def _grid(generator: nn.Module, source: ExportSource) -> tuple:
    """``samples.png``'s arguments to :func:`save_png`: the run's own sample picture, drawn on the noise of
    ``ganzoo sample --seed 0``."""
    labels = source.grid_labels
    z = torch.randn(len(labels) if labels is not None else source.grid_count, source.config.latent_dim,
                    generator=torch.Generator().manual_seed(0))
    return (generate(generator, z, labels), source.data, source.real,
            f"{source.config.label()}  step {source.step}", labels, "code" if source.own_labels else "class")


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _without_none(value):
    """The config as its config.toml says it (TOML has no null: an unset option is left out), at every level."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
