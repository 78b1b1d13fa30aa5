"""What metrics compute from real data (Inception features of the test images, a trained feature classifier), computed
once per dataset and kept on disk under ``$GANZOO_CACHE/references/``.

A reference is known by its metric, the metric's name for it, a digest of the real data it is computed from and
whatever else the metric says it depends on (its network's weights, a sample count): data that changed never meets a
stale reference. Processes that want the same missing reference at once (a sweep's members) take turns on a lock, so
it is computed once. A cached file that cannot be read is computed again with a warning, and one that cannot be
written is a warning too: the evaluation goes on either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..data.contract import Data
from ..data.fingerprint import tensors_digest
from ..data.paths import cache_dir
from ..errors import OutputError, PluginError, first_line
from ..messages import warn
from .checkpoint import atomic_write

FORMAT = "ganzoo-reference"
VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

Progress = Callable[[str, int], Callable[[int], None]]


def source_digest(sources: Data | torch.Tensor | Sequence[Data | torch.Tensor]) -> str:
    """The digest of the real data a reference is computed from: tensors, or datasets' samples and labels."""
    items = [sources] if isinstance(sources, (Data, torch.Tensor)) else list(sources)
    tensors = [t for item in items for t in ((item.samples, item.labels) if isinstance(item, Data) else (item,))]
    return tensors_digest(*tensors)


def reference_file(metric: str, what: str, dataset: str, identity: str) -> Path:
    """Where a reference lives: ``$GANZOO_CACHE/references/DATASET/METRIC-WHAT-HASH.pt``."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return cache_dir() / "references" / _UNSAFE.sub("_", dataset) / \
        f"{_UNSAFE.sub('_', metric)}-{_UNSAFE.sub('_', what)}-{digest}.pt"


def _storable(value: Any) -> bool:
    """What ``torch.load(weights_only=True)`` reads back: tensors, numbers, strings, and lists and dicts of them."""
    if value is None or isinstance(value, (torch.Tensor, bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_storable(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, (str, int)) and _storable(v) for k, v in value.items())


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return {k: _to_cpu(v) for k, v in value.items()} if isinstance(value, dict) else value


@contextlib.contextmanager
def _turn(file: Path) -> Iterator[None]:
    """Hold ``FILE.lock`` while computing, so a second process waits and then reads the file (no lock where the
    system or the folder allows none: both compute, and the last rename wins with the same content)."""
    try:
        import fcntl

        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _stamp(file: Path) -> tuple[int, int] | None:
    try:
        stat = file.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(file: Path, identity: str, owner: str) -> tuple[bool, Any]:
    """``(True, value)`` from a good cached file; ``(False, None)`` when there is none or it is unusable (warned)."""
    if not file.is_file():
        return False, None
    try:
        saved = torch.load(file, map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} file of version {VERSION}")
        if saved.get("identity") != identity:
            raise ValueError("it was computed from other data or settings")
        return True, saved["value"]
    except Exception as err:  # noqa: BLE001 - a damaged cache is computed again, never a crash
        warn(f"{owner}: the cached reference {file} cannot be used ({first_line(err, 100)}); computing it again")
        return False, None


def cached_reference(metric: str, what: str, dataset: str, sources: Data | torch.Tensor | Sequence[Data | torch.Tensor],
                     compute: Callable[[Callable[[int], None]], Any], *, progress: Progress, description: str,
                     total: int, key: Mapping[str, Any] | None = None) -> Any:
    """The reference ``what`` of ``metric`` for ``dataset``: read from the cache, else ``compute(advance)`` under a
    progress bar of ``total`` steps and stored. It comes back on the CPU either way."""
    identity = json.dumps({"format": VERSION, "metric": metric, "what": what, "dataset": dataset,
                           "data": source_digest(sources), "key": dict(key or {})}, sort_keys=True, default=str)
    file = reference_file(metric, what, dataset, identity)
    owner = f"metric '{metric}'"
    found, value = _read(file, identity, owner)
    if found:
        return value
    seen = _stamp(file)
    with _turn(file):
        if _stamp(file) not in (None, seen):  # another process wrote it while this one waited for the lock
            found, value = _read(file, identity, owner)
            if found:
                return value
        value = _to_cpu(compute(progress(description, total)))
        if not _storable(value):
            raise PluginError(f"{owner}: reference '{what}' must be tensors, numbers, strings, or lists and dicts "
                              f"of them, not {type(value).__name__}")
        payload = {"format": FORMAT, "version": VERSION, "identity": identity, "value": value}
        try:
            atomic_write(file, lambda f: torch.save(payload, f))
        except OutputError as err:
            warn(f"{owner}: {err}; the reference will be computed again next time")
    return value
