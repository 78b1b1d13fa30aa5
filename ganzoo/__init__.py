"""ganzoo: a plugin-based GAN zoo.

The public API — everything a plugin author (built-in or third-party) needs — is importable from here.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .data.contract import Data, DataSpec, memory_mapped, to_model_space
from .data.imagecache import ImageSet, decoded_images, files_digest
from .data.paths import cache_dir, data_root
from .errors import (
    CheckpointError,
    ConfigError,
    ConflictError,
    DatasetError,
    GanzooError,
    IncompatibleError,
    ParameterError,
    PluginError,
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
    GeneratorSpec,
    LossSpec,
    OptimizerSpec,
    RegulariserSpec,
    ReporterSpec,
)
from .run.evaluation import EvalContext
from .run.reporting import RunInfo, RunReporter
from .training.contracts import Constraint, DOutput, GANLoss, LossContext, Regulariser, StepContext

try:
    __version__ = _metadata.version("ganzoo")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def train(*components, **options):
    """Train a GAN from Python with the same options as ``ganzoo train`` (see :func:`ganzoo.api.train`)."""
    from .api import train as _train

    return _train(*components, **options)


def evaluate(run_dir, n: int | None = None, **options) -> dict[str, float]:
    """Quality metrics of a trained run's generator, e.g. ``{"curve_error": 0.03, ...}``
    (see :func:`ganzoo.api.evaluate`)."""
    from .api import evaluate as _evaluate

    return _evaluate(run_dir, n, **options)[0]


def sample(run_dir, n: int = 64, **options):
    """Draw samples from a trained run, e.g. ``ganzoo.sample(run_dir, 16, label=3)`` for 16 samples of class 3 from
    a conditional run (see :func:`ganzoo.api.sample`)."""
    from .api import sample as _sample

    return _sample(run_dir, n, **options)


__all__ = [
    "AugmentationSpec", "CheckpointError", "ConfigError", "ConflictError", "Constraint", "ConstraintSpec", "DOutput",
    "Data", "DataSpec", "DatasetError", "DatasetSpec", "DefaultsSpec", "DiscriminatorSpec", "EvalContext", "GANLoss", "GanzooError",
    "GeneratorSpec", "IncompatibleError", "LossContext", "LossSpec", "MetricSpec", "OptimizerSpec", "Param",
    "ParameterError", "PluginError", "RecipeSpec", "Regulariser", "RegulariserSpec", "ReporterSpec", "RunInfo",
    "RunReporter", "StepContext",
    "UnknownComponentError",
    "ImageSet", "__version__", "cache_dir", "data_root", "decoded_images", "did_you_mean", "evaluate",
    "files_digest", "first_line", "hookimpl", "memory_mapped", "note", "sample", "to_model_space", "train", "warn",
]
