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
    """Where metrics keep what they train once (e.g. a feature classifier): ``$GANZOO_CACHE`` or
    ``~/.cache/ganzoo``."""
    env = os.environ.get("GANZOO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo"
