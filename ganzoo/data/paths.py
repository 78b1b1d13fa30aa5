"""Where ganzoo keeps files outside a run directory: datasets' files and what is computed once and cached."""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """Where datasets' files live unless a dataset is told otherwise: ``$GANZOO_DATA``, else
    ``~/.cache/ganzoo/data`` (torchvision's layout below it, e.g. ``MNIST/raw/``)."""
    env = os.environ.get("GANZOO_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo" / "data"


def cache_dir() -> Path:
    """Where ganzoo keeps what it computes once: ``$GANZOO_CACHE`` or ``~/.cache/ganzoo``; metrics' references
    (real features, a feature classifier) under ``references/``, decoded images under ``images/``."""
    env = os.environ.get("GANZOO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo"
