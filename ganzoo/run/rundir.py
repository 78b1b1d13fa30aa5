"""The run directory: what a training run leaves behind, and how it is found again.

    RUN_DIR/config.toml          the fully resolved configuration (reproduces the run)
    RUN_DIR/metrics.jsonl        one JSON object per logged step
    RUN_DIR/checkpoints/         latest.pt (always the newest) and step_NNNNNNN.pt (kept periodically)
    RUN_DIR/samples/             step_NNNNNNN.png
    RUN_DIR/loss_curve.png       written at the end
    RUN_DIR/.lock                held (flock) by the one process that trains the run: its PID and host
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import CheckpointError, ConfigError, OutputError
from .checkpoint import atomic_write, output_error


def finite_or_none(record: dict[str, Any]) -> dict[str, Any]:
    """The record with NaN and infinities replaced by None, so it is valid JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}


_TMP_PID = re.compile(r"\.tmp-(\d+)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process (it exists), or no PID at all: leave the file alone
        return True
    return True


@contextmanager
def held(lock_path: Path, busy, what: str = "the run directory") -> Iterator[None]:
    """Hold ``lock_path`` for this process (a ``flock``, with the holder's PID and host written in it); another
    holder is one line, ``busy(who)``. The kernel releases a ``flock`` when its holder dies, so a lock left by a
    killed process is simply taken over."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no advisory locks to take
        yield
        return
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ConfigError(f"cannot write {what} {lock_path.parent}: {err.strerror}; choose another --out") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").split()
            raise ConfigError(busy(f"PID {holder[0]} on {holder[1]}" if len(holder) >= 2 else "another process")) \
                from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class RunDir:
    """Paths and files of one run."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.toml")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    latest = property(lambda self: self.checkpoints / "latest.pt")
    loss_curve = property(lambda self: self.path / "loss_curve.png")
    lock_path = property(lambda self: self.path / ".lock")

    @staticmethod
    def default_path(config: TrainConfig, parent: Path | str = "runs") -> Path:
        """``runs/<timestamp>-<g>-<d>-<loss>-<dataset>``, made unique if that second is taken."""
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{config.label()}"
        path, n = Path(parent) / stem, 1
        while path.exists():
            n += 1
            path = Path(parent) / f"{stem}-{n}"
        return path

    def create(self) -> None:
        """Make the directories, or fail with one line when the place is not writable."""
        try:
            for folder in (self.path, self.checkpoints, self.samples):
                folder.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise ConfigError(f"cannot write the run directory {self.path}: {err.strerror}; choose another --out") \
                from None
        self.remove_stale_temporaries()

    @contextmanager
    def training_lock(self) -> Iterator[None]:
        """Hold the run directory for one trainer: a second ``ganzoo train`` (or ``--resume``) of the same directory
        gets one line naming the holder's PID and host. Readers (``runs``, ``compare``, ``sample``, ``evaluate``)
        never take it."""
        with held(self.lock_path, lambda who: f"{self.path} is being trained by {who}; wait for it to finish (or "
                                              f"stop it) and resume with `ganzoo train --resume {self.path}`"):
            yield

    def discard_unstarted(self, existed: bool) -> None:
        """Remove what a session wrote into a new run that failed before its first checkpoint (e.g. out of memory
        at step 1), so the same ``--out`` can be used again; a directory that existed before is left (emptied)."""
        if self.latest.is_file():
            return
        for path in (self.config_path, self.metrics_path, self.lock_path, self.loss_curve,
                     *(self.samples.glob("*.png") if self.samples.is_dir() else ())):
            path.unlink(missing_ok=True)
        for folder in (self.checkpoints, self.samples, *([] if existed else [self.path])):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: anything else is not ours to remove

    def remove_stale_temporaries(self) -> None:
        """Delete the hidden ``.NAME.tmp-PID`` files of atomic writes whose process died mid-write (``kill -9``);
        a live process's own temporaries are left alone. (PIDs are this machine's: a run directory shared with other
        machines should not be trained in from two of them at once anyway.)"""
        for folder in (self.path, self.checkpoints, self.samples):
            for tmp in folder.glob(".*.tmp-*"):
                match = _TMP_PID.search(tmp.name)
                if match and not _alive(int(match.group(1))):
                    tmp.unlink(missing_ok=True)

    def write_config(self, config: TrainConfig) -> None:
        text = config.to_toml().encode()
        atomic_write(self.config_path, lambda f: f.write(text))

    def periodic_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:07d}.pt"

    def sample_path(self, step: int) -> Path:
        return self.samples / f"step_{step:07d}.png"

    def trainer_pid(self) -> int | None:
        """The PID of the live process on this machine that holds the run's lock, read without taking the lock
        (a reader must never block a trainer), or None."""
        try:
            holder = self.lock_path.read_text(errors="replace").split()
            pid = int(holder[0])
        except (OSError, ValueError, IndexError):
            return None
        if len(holder) < 2 or holder[1] != socket.gethostname() or pid == os.getpid() or not _alive(pid):
            return None
        return pid

    def require_checkpoint(self) -> Path:
        """The latest checkpoint, or a one-line error saying what is there instead."""
        if not self.path.is_dir():
            raise CheckpointError(f"run directory {self.path} does not exist; give the directory a run printed "
                                  f"(by default under runs/)")
        if not self.latest.is_file():
            trainer = self.trainer_pid()
            if trainer is not None:
                raise CheckpointError(f"{self.path} is still training (PID {trainer}) and has not written its first "
                                      f"checkpoint yet (every --checkpoint-every steps); try again once it has")
            again = (f"start it again with `ganzoo train --config {self.config_path}` and a new --out"
                     if self.config_path.is_file() else "give the directory of a run that saved one")
            raise CheckpointError(
                f"{self.path} has no checkpoint (expected {self.latest}): it is not a ganzoo run or it stopped "
                f"before its first checkpoint; {again}"
            )
        return self.latest

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one line with a single write, so a crash leaves at most one partial last line.

        Non-finite numbers are written as null: ``NaN`` and ``Infinity`` are not JSON."""
        line = (json.dumps(finite_or_none(record)) + "\n").encode()
        try:
            fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as err:
            if not self.path.is_dir():
                raise OutputError(f"the run directory {self.path} was deleted or moved while training; "
                                  f"training stopped") from None
            raise output_error(self.metrics_path, err, "training stopped") from None

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every complete metrics line (a partial last line from a crash is skipped)."""
        if not self.metrics_path.is_file():
            return []
        records = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):  # anything else was not written by ganzoo
                records.append(record)
        return records

    def truncate_metrics(self, step: int) -> None:
        """Drop lines logged after ``step`` (written after the checkpoint a resumed run restarts from)."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        text = "".join(json.dumps(r) + "\n" for r in kept).encode()
        atomic_write(self.metrics_path, lambda f: f.write(text))
