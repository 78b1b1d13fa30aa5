"""Checkpoints: plain state dicts written atomically and read back with ``weights_only=True``.

Atomic (temporary file, fsync, rename) so that a crash or ``kill -9`` at any moment leaves the previous checkpoint
intact; ``weights_only`` so that loading a checkpoint someone sent you can never run code.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError, OutputError, first_line

FORMAT = "ganzoo-checkpoint"
VERSION = 1
#: The fix offered for an unusable checkpoint: runs keep periodic copies beside latest.pt.
CHECKPOINT_FIX = "copy a good checkpoints/step_*.pt of the run over it, or start a new run"


def os_error(err: BaseException) -> OSError | None:
    """The operating system's error behind ``err``, if any: writers such as ``torch.save`` turn a full disk into
    their own ``RuntimeError`` ("unexpected pos ...") whose context is the real ``OSError``."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def output_error(path: Path, err: OSError, kept: str = "") -> OutputError:
    """One line for a file that could not be written, with what was kept."""
    reason = err.strerror or first_line(err)
    return OutputError(f"cannot write {path}: {reason}" + (f"; {kept}" if kept else "")
                       + ("; free some space and run again" if err.errno in (errno.ENOSPC, errno.EDQUOT) else ""))


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``: the file is whole or
    absent, never truncated. A failure of the operating system (a full disk, no permission) is an
    :class:`OutputError` saying that the previous file, if any, is untouched."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(path, err) from None
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as err:
        cause = os_error(err)
        if cause is None:
            raise
        kept = "the previous file is kept whole" if path.exists() else "nothing was written"
        raise output_error(path, cause, kept) from None
    finally:
        with contextlib.suppress(OSError):  # its folder is gone: nothing to clean
            tmp.unlink(missing_ok=True)
    try:  # make the rename itself durable; not every platform lets a directory be opened
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically; ``state`` holds tensors, numbers, strings, lists and dicts only."""
    payload = {"format": FORMAT, "version": VERSION, **state}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely; anything else (truncated, foreign, crafted) is a one-line :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        reason = first_line(err)
        if "weights only" in reason.lower() or "weights_only" in reason.lower():
            reason = "unsafe: it holds objects other than tensors and plain data, and ganzoo never unpickles code"
        elif isinstance(err, (EOFError, zipfile.BadZipFile)) or "PytorchStreamReader" in reason:
            reason = "the file is cut short or damaged"  # torch's own text here is a paragraph about miniz
        raise CheckpointError(f"{path} is not a readable ganzoo checkpoint ({reason}); {CHECKPOINT_FIX}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganzoo checkpoint (it has no '{FORMAT}' marker); "
                              f"{CHECKPOINT_FIX}")
    if payload.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path} was written by a newer ganzoo (checkpoint format {payload['version']}); upgrade ganzoo"
        )
    return payload
