"""Build one registered component directly, as the trainer would, without a run: for tests of its shapes and
mathematics."""

from __future__ import annotations

from typing import Any

from ganzoo.registry.registry import Registry


def build(registry: Registry, kind: str, name: str, *args: Any, **params: Any) -> Any:
    """The component ``name`` of ``kind`` made by its factory from ``args`` (the latent size, the data's spec...)
    and ``params`` completed with the declared defaults."""
    spec = registry.get(kind, name)
    resolved = spec.resolve(params)
    if hasattr(spec, "split"):  # a regulariser: its weight and interval are the step's, not the factory's
        resolved = spec.split(resolved)[0]
    return spec.factory(*args, **resolved)
