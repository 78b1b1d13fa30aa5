"""What a run records of its data, so that it stands on its own.

A digest of the samples and labels tells the data a run was trained on from data that changed since (a points file
edited in place, images added to a folder); ``--resume`` refuses changed data unless told otherwise. For points it
also records the mapping from the model's space back to data coordinates (fitted as an affine map, which the
standardisation every built-in point dataset uses is) and a small preview of the real points, so that sampling a run
needs neither its data nor the dataset plugin's loading code.
"""

from __future__ import annotations

import hashlib

import torch

from .contract import Data, DataSpec

#: Real points kept in a checkpoint to draw beneath generated ones (a few KB).
PREVIEW = 1000
_CHUNK = 1 << 24  # bytes hashed at a time: memory stays bounded for data that is memory-mapped


def digest(data: Data) -> str:
    """A short hash of the samples as stored, and of the labels."""
    return tensors_digest(data.samples, data.labels)


def tensors_digest(*tensors: torch.Tensor | None) -> str:
    """A short hash of tensors' values, shapes and dtypes (None is skipped), read in bounded chunks."""
    h = hashlib.blake2b(digest_size=16)
    for tensor in tensors:
        if tensor is None:
            continue
        flat = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        for start in range(0, flat.numel(), _CHUNK):
            h.update(flat[start:start + _CHUNK].numpy().tobytes())
        h.update(str((tuple(tensor.shape), tensor.dtype)).encode())
    return h.hexdigest()


class Affine:
    """``x @ weight + bias``: a point dataset's map from the model's space to data coordinates, and back."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.weight, self.bias = weight.double(), bias.double()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.double() @ self.weight.to(x.device) + self.bias.to(x.device)).to(x.dtype)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        solved = torch.linalg.solve(self.weight.T.to(y.device), (y.double() - self.bias.to(y.device)).T).T
        return solved.to(y.dtype)


def affine_map(data: Data) -> Affine | None:
    """The dataset's ``to_data`` as an affine map, when it is one (checked on random points), else None."""
    dim = data.spec.shape[0]
    with torch.no_grad():
        bias = data.to_data(torch.zeros(1, dim)).double()[0]
        weight = data.to_data(torch.eye(dim)).double() - bias
        probe = torch.randn(64, dim, generator=torch.Generator().manual_seed(0))
        fitted = Affine(weight, bias)(probe.double())
        actual = data.to_data(probe).double()
    scale = actual.abs().max().item() + 1.0
    if not torch.isfinite(actual).all() or (fitted - actual).abs().max().item() > 1e-4 * scale:
        return None
    return Affine(weight, bias)


def data_record(data: Data) -> dict:
    """What a checkpoint keeps of its data: the digest and size, and for points the map and a preview."""
    spec = data.spec
    record: dict = {"digest": digest(data), "n": len(data),
                    "spec": {"kind": spec.kind, "shape": list(spec.shape), "classes": spec.classes}}
    if data.spec.kind == "points":
        mapping = affine_map(data)
        if mapping is not None:
            record["map"] = {"weight": mapping.weight, "bias": mapping.bias}
            record["preview"] = data.take(slice(0, PREVIEW)).cpu()
    return record


def recorded_spec(record: dict | None) -> DataSpec | None:
    """The data's spec as a checkpoint recorded it, or None (a checkpoint from before runs recorded their data)."""
    if not isinstance(record, dict) or not isinstance(record.get("spec"), dict):
        return None
    spec = record["spec"]
    return DataSpec(spec["kind"], tuple(spec["shape"]), spec.get("classes"))


def standalone_data(record: dict | None, spec: DataSpec) -> Data | None:
    """A stand-in for a run's point data built from its checkpoint (its preview and map), or None when the
    checkpoint holds none: then sampling loads the data."""
    if not isinstance(record, dict) or spec.kind != "points" or "map" not in record:
        return None
    mapping = Affine(record["map"]["weight"], record["map"]["bias"])
    return Data(samples=record["preview"].float(), spec=spec, to_data=mapping)
