"""Reading finished (or running) run directories back: ``ganzoo runs`` and ``ganzoo compare``.

Everything comes from the files a run leaves behind — ``config.toml``, ``metrics.jsonl`` and ``samples/`` — so runs
from other machines, older versions or other plugins compare alike, and nothing is loaded onto a device.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import check_layout
from ..config.toml import read_toml
from ..errors import ConfigError, GanzooError
from ..registry.kinds import SLOTS
from .checkpoint import atomic_write
from .plot import comparison_png
from .rundir import RunDir

#: Record keys that describe the log line, not the model.
_BOOKKEEPING = ("step", "time", "world_size", "global_batch")
#: The trainer's own statistics, shown before any quality metric.
TRAINING_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "steps_per_sec")


@dataclass
class RunSummary:
    """What a run directory says about itself."""

    path: Path
    config: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def combination(self) -> str:
        """``g / d / loss / dataset`` as the config names them, then ``+ name`` for each augmentation, regulariser
        and constraint."""
        single = [s.name for s in SLOTS.values() if s.in_label and not s.many]
        text = " / ".join(str(self.config.get(name, {}).get("name", "?")) for name in single)
        extras = [item.get("name", "?") for s in SLOTS.values() if s.many for item in self.config.get(s.name, [])
                  if isinstance(item, dict)]
        return text + "".join(f" + {name}" for name in extras)

    @property
    def recipe(self) -> str | None:
        return self.config.get("recipe")

    @property
    def step(self) -> int:
        """The last logged step (0 before the first metrics line)."""
        return max((int(r.get("step", 0)) for r in self.records), default=0)

    @property
    def seconds(self) -> float | None:
        """Training time at the last logged step (summed over resumed sessions)."""
        times = [r["time"] for r in self.records if isinstance(r.get("time"), (int, float))]
        return times[-1] if times else None

    @property
    def final(self) -> dict[str, Any]:
        """The latest value of every logged key: the last losses, and the last evaluation's metrics."""
        latest: dict[str, Any] = {}
        for record in self.records:
            latest.update({k: v for k, v in record.items() if k not in _BOOKKEEPING and v is not None})
        return latest

    @property
    def latest_sample(self) -> Path | None:
        samples = sorted(RunDir(self.path).samples.glob("step_*.png")) if self.path.is_dir() else []
        return samples[-1] if samples else None

    def flat_config(self) -> dict[str, Any]:
        """``steps``, ``generator.name``, ``generator.hidden``...: one key per setting."""
        flat: dict[str, Any] = {}
        for key, value in self.config.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
                flat[key] = [item.get("name", "?") for item in value]  # regularisers = r1,feature-matching
                for item in value:
                    flat.update({f"{key}.{item.get('name', '?')}.{k}": v for k, v in item.items() if k != "name"})
            else:
                flat[key] = value
        return flat


def read_run(path: Path | str) -> RunSummary:
    """A run directory's summary, or one line saying why ``path`` is not a run directory."""
    run = RunDir(path)
    if not run.path.is_dir():
        raise ConfigError(f"{run.path} is not a directory; give a run directory made by `ganzoo train` "
                          f"(see `ganzoo runs`)")
    if not run.config_path.is_file():
        raise ConfigError(f"{run.path} is not a ganzoo run directory (it has no config.toml); give a directory "
                          f"made by `ganzoo train` (see `ganzoo runs`)")
    try:
        config = check_layout(read_toml(run.config_path), f"{run.config_path}")
    except GanzooError as err:
        raise ConfigError(f"{run.path} is not a readable run directory: {err}") from None
    return RunSummary(run.path, config, run.read_metrics())


def find_runs(root: Path | str = "runs") -> list[RunSummary]:
    """Every run directory under ``root`` (at any depth; ``root`` itself may be one), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory; give the folder that holds your runs (default: runs/)")
    found = []
    for config_path in sorted(root.rglob("config.toml")):
        try:
            found.append(read_run(config_path.parent))
        except GanzooError:
            continue  # a stray config.toml (e.g. a user's own config file) is not a run: leave it out
    return found


def config_differences(runs: list[RunSummary]) -> list[tuple[str, list[Any]]]:
    """The settings whose values are not the same in every run, as (key, value per run); a missing key is None."""
    flats = [run.flat_config() for run in runs]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    return [(key, [flat.get(key) for flat in flats]) for key in keys if len({repr(f.get(key)) for f in flats}) > 1]


def metric_keys(runs: Iterable[RunSummary]) -> list[str]:
    """Every final key of the runs: the trainer's statistics first, then quality metrics in the order seen."""
    seen = list(dict.fromkeys(key for run in runs for key in run.final))
    return [k for k in TRAINING_KEYS if k in seen] + [k for k in seen if k not in TRAINING_KEYS]


def display_names(runs: list[RunSummary]) -> list[str]:
    """Directory names, or full paths where two runs share a name (e.g. in different folders)."""
    names = [run.name for run in runs]
    return [str(run.path) if names.count(run.name) > 1 else run.name for run in runs]


def write_comparison_png(runs: list[RunSummary], out: Path | str, names: list[str] | None = None) -> Path:
    """One PNG: each run's latest sample picture side by side (captioned with ``names``, default the directory
    names), and below them their loss curves."""
    import numpy as np
    from PIL import Image

    out = Path(out)
    names = names or display_names(runs)
    panels = []
    for run, name in zip(runs, names):
        sample, image = run.latest_sample, None
        if sample is None:
            caption = f"{name}\n(no samples yet)"
        else:
            caption = f"{name}\n(step {sample.stem.removeprefix('step_').lstrip('0') or '0'})"
            try:  # a run still writing (or a damaged file) must not break the comparison of the others
                with Image.open(sample) as picture:
                    image = np.asarray(picture.convert("RGB"))
            except OSError:
                caption += " - sample unreadable"
        panels.append((caption, image))
    series = []
    for run, name in zip(runs, names):
        logged = [r for r in run.records if r.get("d_loss") is not None and r.get("g_loss") is not None]
        series.append((name, [r["step"] for r in logged], [r["d_loss"] for r in logged],
                       [r["g_loss"] for r in logged]))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda f: comparison_png(f, panels, series))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot write {out}: {getattr(err, 'strerror', None) or err}; choose another -o") \
            from None
    return out
