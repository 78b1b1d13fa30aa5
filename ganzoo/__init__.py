"""ganzoo: a plugin-based GAN zoo.

The public API — everything a plugin author (built-in or third-party) needs — is importable from here.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .blocks import mlp_stack, translate
from .data.contract import Data, DataSpec, memory_mapped, to_model_space
from .data.imagecache import ImageSet, decoded_images, files_digest
from .data.paths import cache_dir, data_root
from .errors import (
    CheckpointError,
    ConfigError,
    ConflictError,
    DatasetError,
    ExportError,
    GanzooError,
    IncompatibleError,
    OutputError,
    ParameterError,
    PluginError,
    TrainingDiverged,
    UnknownComponentError,
    did_you_mean,
    first_line,
)
from .messages import note, warn
from .registry.hookspecs import hookimpl
from .registry.params import Param
from .registry.records import DefaultsSpec, MetricSpec, RecipeSpec
from .registry.specs import (
    AugmentationSpec,
    ConstraintSpec,
    DatasetSpec,
    DiscriminatorSpec,
    EngineSpec,
    GeneratorSpec,
    LossSpec,
    Mix,
    OptimizerSpec,
    RegulariserSpec,
    ReporterSpec,
    SamplerSpec,
)
from .run.evaluation import EvalContext
from .run.reporting import RunInfo, RunReporter
from .run.sampling import SampleContext, Sampler
from .sweep.engine import Engine, SweepUnit
from .training.contracts import Constraint, DOutput, GANLoss, Regulariser, StepContext

try:
    __version__ = _metadata.version("ganzoo")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


#: What ``import ganzoo`` loads only when first used: the training, sampling and export entry points pull in the
#: trainer, which a plugin module importing ``ganzoo`` for its base classes does not need.
_LAZY = {"train": "api", "sample": "api", "evaluate": "api", "export": "api", "load_generator": "run.exported",
         "register": "registry.registry", "component": "registry.registry",
         "RunResult": "training.result"}


def __getattr__(name: str):
    """``ganzoo.train`` *is* :func:`ganzoo.api.train` (its real signature and docstring), imported on first use."""
    if name == "LossContext":  # the step context's name before regularisers shared it
        import warnings

        warnings.warn("ganzoo.LossContext is now ganzoo.StepContext", DeprecationWarning, stacklevel=2)
        return StepContext
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AugmentationSpec", "CheckpointError", "ConfigError", "ConflictError", "Constraint", "ConstraintSpec",
    "DOutput", "Data", "DataSpec", "DatasetError", "DatasetSpec", "DefaultsSpec", "DiscriminatorSpec", "Engine",
    "EngineSpec", "EvalContext", "GANLoss", "GanzooError", "GeneratorSpec", "ImageSet", "IncompatibleError",
    "LossSpec", "MetricSpec", "Mix", "OptimizerSpec", "OutputError", "Param", "ParameterError", "PluginError",
    "RecipeSpec", "Regulariser", "RegulariserSpec", "ReporterSpec", "RunInfo", "RunReporter", "RunResult",
    "SampleContext", "Sampler", "SamplerSpec", "StepContext", "SweepUnit", "TrainingDiverged",
    "UnknownComponentError", "cache_dir", "component", "data_root", "decoded_images", "did_you_mean", "evaluate",
    "files_digest", "first_line", "hookimpl", "memory_mapped", "mlp_stack", "note", "register", "sample",
    "to_model_space", "train", "translate", "warn", "__version__",
    "ExportError", "export", "load_generator",
]
