"""Own-data speed: decoding a folder of JPEGs once, loading it from the cache, and training DCGAN-64 from it.

    python benchmarks/bench_data.py --data-root ../shared/data               # 20,000 JPEGs, 64x64 RGB
    python benchmarks/bench_data.py --data-root ../shared/data --images 2000 --width 16   # a quick look

The benchmark builds its own folder: ``--images`` MNIST digits (``--data-root``), each coloured with a random hue
on a random dark background, upscaled to 64x64 and saved as JPEG (quality 90) under one folder per digit (built once
into ``--work``). It measures, on the same machine in the same run:

- **first load**: ganzoo's ``folder`` dataset decoding into an empty cache (its worker processes), against
  torchvision's ``ImageFolder`` with a ``DataLoader`` (2 workers, batch 64) over one epoch, the textbook's way;
- **cached load**: the folder dataset again, from its cache (in a fresh process, as a new run sees it);
- **training**: DCGAN-64 (``-g dcgan -d dcgan``, batch 64) steps/s, in three loops with the same models:
  the textbook loop (``ImageFolder`` + ``DataLoader`` with 2 workers decoding every epoch, sigmoid + BCE), the bare
  compute floor (the pixels preloaded as float32 on the device, indexed) and ``ganzoo.train`` on the folder dataset
  with its default cadence. They take turns in interleaved windows (``bench_train.measure_interleaved``), so every
  loop sees the same stretches of a drifting machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
import bench_train  # noqa: E402
from bench_train import _Clock, _row, _TimedReporter, measure_interleaved, ratio  # noqa: E402

SIDE = 64


def build_folder(data_root: str, out: Path, n: int, seed: int = 0) -> Path:
    """``n`` coloured MNIST digits as 64x64 JPEGs in one folder per digit (kept: built once per size)."""
    from PIL import Image
    from torchvision.datasets import MNIST

    done = out / f".complete-{n}"
    if done.is_file():
        return out
    mnist = MNIST(data_root, train=True, download=False)
    gen = np.random.default_rng(seed)
    for d in range(10):
        (out / str(d)).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        digit = mnist.data[i % len(mnist.data)].numpy().astype(np.float32) / 255
        ink = np.array(Image.new("HSV", (1, 1), (int(gen.integers(256)), 220, 255)).convert("RGB")).reshape(3)
        ground = gen.integers(0, 60, 3)
        rgb = digit[..., None] * ink + (1 - digit[..., None]) * ground
        img = Image.fromarray(rgb.astype(np.uint8)).resize((SIDE, SIDE), Image.BICUBIC)
        img.save(out / str(int(mnist.targets[i % len(mnist.data)])) / f"{i:06d}.jpg", quality=90)
    done.write_text("ok")
    return out


def _folder_load(folder: Path, cache: Path) -> float:
    """Seconds for ganzoo's folder dataset to load in a fresh process (decoding when the cache is empty), after
    the imports and plugin discovery every command pays anyway."""
    code = ("import time; from ganzoo.registry.registry import default_registry; "
            "spec = default_registry().get('dataset', 'folder'); import PIL.Image, torchvision; "
            "t = time.perf_counter(); "
            f"d = spec.load(spec.resolve({{'path': {str(folder)!r}, 'size': {SIDE}}})); "
            "assert len(d) > 0; print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "GANZOO_CACHE": str(cache)})
    return float(out.stdout.strip().splitlines()[-1])


def _imagefolder_epoch(folder: Path, workers: int) -> tuple[float, int]:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.Resize(SIDE), transforms.CenterCrop(SIDE), transforms.ToTensor(),
                                    transforms.Normalize([0.5] * 3, [0.5] * 3)])
    loader = DataLoader(datasets.ImageFolder(str(folder), transform=transform), batch_size=64, shuffle=True,
                        num_workers=workers)
    start, seen = time.perf_counter(), 0
    for x, _ in loader:
        seen += len(x)
    return time.perf_counter() - start, seen


def _models(width: int, dev: torch.device):
    from ganzoo import DataSpec
    from ganzoo.registry.registry import default_registry

    reg, data = default_registry(), DataSpec("image", (3, SIDE, SIDE))
    g, d = reg.get("generator", "dcgan"), reg.get("discriminator", "dcgan")
    G = g.factory(100, data, **g.resolve({"width": width}, data)).to(dev)
    D = d.factory(data, **d.resolve({"width": width}, data)).to(dev)
    return G, D


def _logits(out) -> torch.Tensor:
    return (out["logits"] if isinstance(out, dict) else out).view(-1, 1)


def _updates(G, D, dev, batch: int, next_real, clock: _Clock) -> None:
    fused = dev.type in {"cuda", "cpu"}
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    loss = nn.BCELoss()
    valid, fake = torch.ones(batch, 1, device=dev), torch.zeros(batch, 1, device=dev)
    for step in range(1, clock.last + 1):
        real = next_real()
        gen = G(torch.randn(batch, 100, device=dev))
        g_loss = loss(torch.sigmoid(_logits(D(gen))), valid)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d_loss = (loss(torch.sigmoid(_logits(D(real))), valid)
                  + loss(torch.sigmoid(_logits(D(gen.detach()))), fake)) / 2
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        clock(step)


def _textbook(args, batch: int, clock: _Clock) -> None:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(0)
    dev = clock.device
    transform = transforms.Compose([transforms.Resize(SIDE), transforms.CenterCrop(SIDE), transforms.ToTensor(),
                                    transforms.Normalize([0.5] * 3, [0.5] * 3)])
    loader = DataLoader(datasets.ImageFolder(args.folder, transform=transform), batch_size=batch, shuffle=True,
                        drop_last=True, num_workers=2, persistent_workers=True)
    batches = iter(loader)

    def next_real():
        nonlocal batches
        try:
            x, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, _ = next(batches)
        return x.to(dev)

    G, D = _models(args.width, dev)
    _updates(G, D, dev, batch, next_real, clock)


def _bare(args, batch: int, clock: _Clock) -> None:
    from ganzoo.registry.registry import default_registry

    torch.manual_seed(0)
    dev = clock.device
    spec = default_registry().get("dataset", "folder")
    data = spec.load(spec.resolve({"path": args.folder, "size": SIDE}))
    images = data.take().to(dev)  # float32 [-1, 1], preloaded: no pipeline at all
    G, D = _models(args.width, dev)
    _updates(G, D, dev, batch, lambda: images[torch.randint(len(images), (batch,), device=dev)], clock)


def _ganzoo(args, batch: int, clock: _Clock) -> None:
    import ganzoo

    with tempfile.TemporaryDirectory() as tmp:
        ganzoo.train("dcgan", "dcgan", "nonsaturating", "folder", steps=clock.last, batch_size=batch, latent_dim=100,
                     lr_g=2e-4, lr_d=2e-4, betas=[0.5, 0.999], ema=0, seed=0, device=str(clock.device),
                     out=Path(tmp) / "run", reporter=_TimedReporter(clock),
                     set=[f"dataset.path={args.folder}", f"dataset.size={SIDE}", f"generator.width={args.width}",
                          f"discriminator.width={args.width}"])


LOOPS = {"textbook": _textbook, "bare": _bare, "ganzoo": _ganzoo}


def _child(args, name: str, batch: int, conn) -> None:
    bench_train.LOOPS.update(LOOPS)
    bench_train._child(args, name, batch, conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("GANZOO_DATA", "../shared/data"))
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "ganzoo-bench-data"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="DCGAN's base width (64: the paper's)")
    parser.add_argument("--steps", type=int, default=0, help="steps per timed window (default: by device)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="timed windows per loop")
    parser.add_argument("--loops", default="textbook,bare,ganzoo")
    args = parser.parse_args()
    args.steps = args.steps or (100 if args.device.startswith("cuda") else 5)
    args.span, args.amp, args.threads = 0, False, 0
    work = Path(args.work)
    folder = build_folder(args.data_root, work / f"digits-{args.images}", args.images)
    args.folder = str(folder)
    dev = torch.device(args.device)
    threads = torch.get_num_threads()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {threads} thread{'s' * (threads != 1)}"
    print(f"# bench_data: {name}; torch {torch.__version__}; {args.images} JPEGs {SIDE}x{SIDE} RGB in {folder}\n")

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        first = _folder_load(folder, cache)
        cached = _folder_load(folder, cache)
        tv_seconds, seen = _imagefolder_epoch(folder, 2)
        print(_row(["load", "seconds", "images/s", "/ImageFolder"], [34, 8, 9, 12]))
        print(_row(["ganzoo folder, first load (decode)", f"{first:.1f}", f"{args.images / first:.0f}",
                    f"{tv_seconds / first:.2f}x"], [34, 8, 9, 12]))
        print(_row(["ganzoo folder, cached", f"{cached:.2f}", f"{args.images / cached:.0f}",
                    f"{tv_seconds / cached:.1f}x"], [34, 8, 9, 12]))
        print(_row(["ImageFolder + DataLoader(2), 1 epoch", f"{tv_seconds:.1f}", f"{seen / tv_seconds:.0f}", ""],
                   [34, 8, 9, 12]), flush=True)
        os.environ["GANZOO_CACHE"] = str(cache)  # the training loops read the cache built above
        loops = args.loops.split(",")
        results = measure_interleaved(args, loops, args.batch, target=_child)
    refs = [r for r in ("textbook", "bare") if r in loops]
    widths = [9, 6, 9, 9, 9] + [9] * len(refs)
    print()
    print(_row(["DCGAN-64", "batch", "steps/s", "img/s", "peak MB", *[f"/{r[:7]}" for r in refs]], widths))
    for loop in loops:
        r = results[loop]
        if "error" in r:
            print(_row([loop, args.batch, "error", "", "", *[""] * len(refs)], widths), r["error"])
            continue
        cells = [f"{x:.2f}x" if (x := ratio(results, loop, ref)) else "" for ref in refs]
        print(_row([loop, args.batch, f"{r['steps_per_sec']:.2f}", f"{r['steps_per_sec'] * args.batch:.0f}",
                    f"{r['peak_mb']:.0f}", *cells], widths))


if __name__ == "__main__":
    main()
