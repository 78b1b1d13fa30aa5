"""Choosing the training device: ``auto`` prefers CUDA, then MPS, then the CPU."""

from __future__ import annotations

import torch

from ..errors import ConfigError


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str) -> torch.device:
    """Turn ``auto | cpu | cuda | cuda:N | mps`` into a usable device, or a one-line error saying why not."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
            raise ConfigError(
                f"--device {name}: CUDA is not available on this machine (torch {torch.__version__}, built with "
                f"{build}); use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(f"--device {name}: this machine has {count} CUDA device(s), numbered 0 to {count - 1}")
    elif device.type == "mps" and not _mps_available():
        raise ConfigError(f"--device {name}: MPS (Apple GPU) is not available here; use --device cpu or auto")
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise ConfigError(f"unsupported device '{name}'; use auto, cpu, cuda, cuda:N or mps")
    return device


def describe(device: torch.device) -> str:
    """``cuda:0 (NVIDIA H200)`` or ``cpu (2 threads)``, for the run's first line."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' if threads != 1 else ''})"
    return str(device)
