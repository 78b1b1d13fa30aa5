"""Spy on every way a tensor becomes a Python value: each one would make a GPU wait for the host."""

from __future__ import annotations

import torch

HOST_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy")


def record_host_reads(monkeypatch) -> list[str]:
    """Patch ``torch.Tensor`` so that every host read appends its name to the returned list (until
    ``monkeypatch.undo()``)."""
    reads: list[str] = []
    for name in HOST_READS:
        real = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda self, *a, _real=real, _n=name, **k: (reads.append(_n),
                                                                                          _real(self, *a, **k))[1])
    return reads
