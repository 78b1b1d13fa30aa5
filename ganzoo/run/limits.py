"""Limits on how many samples a command makes at once, checked before any work: a count that cannot fit in memory,
or a picture too crowded to read, is one line with the reason instead of an out-of-memory crash."""

from __future__ import annotations

import os

from ..data.contract import DataSpec
from ..errors import ConfigError

#: Samples an evaluation takes at most.
EVAL_LIMIT = 200_000
#: Samples a picture can show and stay readable: an image grid of 100x100, a scatter of 100,000 points.
PNG_LIMIT = {"image": 10_000, "points": 100_000}


def free_memory() -> int | None:
    """Bytes of memory free now (Linux and most Unixes), or None where the system does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_sample_count(n: int, spec: DataSpec, latent_dim: int, what: str, copies: int = 2) -> None:
    """Refuse, before any work, a count whose samples cannot fit in memory: ``copies`` float32 copies of every
    sample (the generated batch and its data coordinates) and the noise, against half the memory free now."""
    need = n * 4 * (copies * spec.numel + latent_dim)
    free = free_memory()
    if free is not None and need > free // 2:
        raise ConfigError(f"{what} {n:,}: {n:,} samples of {spec.describe()} need about {need / 2**30:.1f} GB of "
                          f"memory, over half the {free / 2**30:.1f} GB free; ask for fewer (runs with other "
                          f"--seed values give more)")
