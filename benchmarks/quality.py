"""Quality the defaults and the variant recipes must reach, measured the way a user would get it.

    python benchmarks/quality.py --data-root ../shared/data            # points, MNIST and the recipes, 3 seeds
    python benchmarks/quality.py --only points --seeds 0               # the quick part
    python benchmarks/quality.py --only recipes --recipes cgan-mnist,r1-mnist --seeds 0

Points: the point suite (benchmarks/point_suite.py: parabola, sine, two moons, a ring of 8 and a grid of 25
Gaussians), each a ``ganzoo sweep`` of the defaults over the seeds, scored on what the dataset is about; and the
wall time of ``ganzoo train`` with no options.
MNIST: for the same wall time each, ganzoo's default mlp / mlp / nonsaturating, the textbook loop
(benchmarks/textbook.py) and upconv / maxpool, all scored by the same cached feature classifier.
Recipes: ``ganzoo train --recipe NAME`` as it stands (its own steps), timed, then evaluated on 10,000 samples by
the same classifier: conditional recipes by label accuracy and FID, InfoGAN by code purity, DiffAugment against
the same recipe without augmentation (``limited-mnist``), every other one by its classes and its FID next to the
default mix's (``mnist-best``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.config import resolve_config
from ganzoo.registry.registry import default_registry
from ganzoo.run.evaluation import Evaluator

sys.path.insert(0, str(Path(__file__).parent))
import point_suite  # noqa: E402
from textbook import train_textbook  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "helpers"))
from moons import two_moons, write_csv  # noqa: E402

#: The main job, ``ganzoo train`` with no options, must finish within this many seconds on 2 CPU cores.
DEFAULT_RUN_SECONDS = 30.0
EVAL_SAMPLES = 10_000


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths))


def points(seeds: list[int], out: Path) -> bool:
    """The point suite (benchmarks/point_suite.py): every point dataset as a ``ganzoo sweep`` of the defaults over
    the seeds, each member scored on what its dataset is about; then the default run's wall time, as a user sees it."""
    print("\n## Points: the point suite, `ganzoo sweep run` of the defaults per dataset (2 CPU cores)", flush=True)
    ok_all = True
    for point_set in point_suite.SUITE.values():
        results, seconds = point_suite.run_sweep(point_set, out / "points", ",".join(map(str, seeds)), [])
        ok_all &= all(point_suite.report(point_set, results, seconds).values())
    start = time.perf_counter()
    result = ganzoo.train(out=out / "parabola-timed")
    seconds = time.perf_counter() - start  # the user's wall time: setup, training, samples, checkpoints
    ok = seconds <= DEFAULT_RUN_SECONDS
    print(f"\n`ganzoo train` (parabola, defaults, {result.step} steps): {seconds:.1f} s (target <= "
          f"{DEFAULT_RUN_SECONDS:.0f} s) {'yes' if ok else 'NO'}", flush=True)
    return ok_all and ok


def calibration(root: str, out: Path, n: int, minutes: float) -> bool:
    """What the numbers mean: MNIST by classifier FID (and Inception FID when its weights are installed) for real
    train vs real test, the textbook loop, ganzoo's default mix (each trained ``minutes``) and uniform noise; two
    moons by MMD and coverage for real vs real, the default mix and a collapsed generator."""
    from ganzoo_builtins.metrics import inception

    inception.REFERENCE = n  # on a CPU (about 10 images/s through Inception) the reference matches the samples
    registry, dev = default_registry(), torch.device("cpu")
    evaluator = _mnist_evaluator(root, dev, with_inception=True)
    data = evaluator.data
    keys = ["classifier_fid", "inception_fid", "inception_kid"]
    print(f"\n## Calibration: MNIST, {n} samples each (reference: {n} test images; classifier on the train split)\n")
    widths = [34, 15, 14, 14, 9]
    print(_row(["samples", *keys, "seconds"], widths))

    def row(name: str, samples: torch.Tensor) -> None:
        start = time.perf_counter()
        m = evaluator.evaluate_samples(samples)
        seconds = time.perf_counter() - start
        print(_row([name, *[_maybe(m, k, "{:.3f}" if "kid" in k else "{:.2f}") for k in keys], f"{seconds:.0f}"],
                   widths), flush=True)

    gen = torch.Generator().manual_seed(0)
    row("real train images", data.take(torch.randperm(len(data), generator=gen)[:n]))
    row("uniform noise", torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1)
    G, steps, _ = train_textbook(root, seconds=minutes * 60)
    with torch.no_grad():
        row(f"textbook loop ({minutes:g} min, {steps} steps)", G.eval()(torch.randn(n, 100, generator=gen)))
    run = ganzoo.train(dataset="mnist", time_limit=minutes * 60, out=out / "calibration-mnist",
                       set=[f"dataset.root={root}", "dataset.download=false"])
    row(f"ganzoo default mix ({minutes:g} min, {run.step} steps)", ganzoo.sample(run.run_dir, n, seed=1) * 2 - 1)
    if evaluator.notes:
        print("\n".join(evaluator.notes))
    print("seconds: evaluating those samples on this CPU (10,000 take 10000/n times as long)")

    out.mkdir(parents=True, exist_ok=True)
    csv = write_csv(out / "calibration-moons.csv", two_moons(10_000))
    sets = [f"dataset.path={csv}"]
    moons = resolve_config(registry, {"dataset": "points-file"}, sets=sets)
    points = Evaluator(registry, moons, registry.get("dataset", "points-file").load(moons.dataset.params), dev)
    run = ganzoo.train(dataset="points-file", set=sets, out=out / "calibration-moons")
    print("\n## Calibration: two moons (10,000 points in a CSV), 2,000 samples each\n")
    print(_row(["samples", "mmd", "coverage", "precision", "recall"], [34, 9, 9, 9, 9]))
    for name, xy in (("real (another draw)", two_moons(2000, seed=7)), ("ganzoo default mix", ganzoo.sample(run.run_dir,
                     2000, seed=1)), ("collapsed G (one point)", torch.zeros(2000, 2))):
        m = points.evaluate_samples(points.data.from_data(xy))
        print(_row([name, *[f"{m[k]:.4f}" for k in ("mmd", "coverage", "precision", "recall")]], [34, 9, 9, 9, 9]))
    return True


def _mnist_evaluator(root: str, device: torch.device, with_inception: bool = False) -> Evaluator:
    from ganzoo_builtins.metrics import inception

    registry = default_registry()
    config = resolve_config(registry, {"dataset": "mnist"}, sets=[f"dataset.root={root}", "dataset.download=false"])
    data = registry.get("dataset", "mnist").load(config.dataset.params)
    # Inception is expensive, so on a CPU it runs only when named; named only where its weights are installed
    named = ["classifier", "inception"] if with_inception and inception.applies(data) else None
    evaluator = Evaluator(registry, config, data, device, metrics=named)
    evaluator.prepare()  # the classifier trains (or loads) outside every timed budget
    return evaluator


def mnist(seeds: list[int], minutes: float, root: str, out: Path, mixes: list[str]) -> bool:
    device = torch.device("cpu")
    evaluator = _mnist_evaluator(root, device)
    accuracy = evaluator.evaluate_samples(evaluator.data.take(slice(0, 10)))["classifier_accuracy"]
    print(f"\n## MNIST: {minutes:g} minutes of training each (2 CPU cores); classifier test accuracy "
          f"{accuracy:.4f}\n", flush=True)
    widths = [16, 5, 7, 8, 9, 8, 8, 11]
    print(_row(["run", "seed", "steps", "steps/s", "FID", "classes", "entropy", "confidence"], widths))
    ok_all = True
    for seed in seeds:
        fids = {}
        for mix in mixes:
            if mix == "textbook":
                G, steps, seconds = train_textbook(root, seconds=minutes * 60, seed=seed)
                m = evaluator(G, EVAL_SAMPLES)
            else:
                g, d = mix.split("/")
                result = ganzoo.train(g, d, "nonsaturating", "mnist", seed=seed, steps=10_000_000,
                                      time_limit=minutes * 60, set=[f"dataset.root={root}", "dataset.download=false"],
                                      sample_every=0, checkpoint_every=0, out=out / f"mnist-{g}-{d}-{seed}")
                steps, seconds = result.step, result.seconds
                m = ganzoo.evaluate(result.run_dir, EVAL_SAMPLES)
                ganzoo.sample(result.run_dir, 64, out=out / f"mnist-{g}-{d}-{seed}.png")
            fids[mix] = m["classifier_fid"]
            print(_row([mix, str(seed), str(steps), f"{steps / seconds:.0f}", f"{m['classifier_fid']:.2f}",
                        f"{m['classes_covered']:.0f}", f"{m['class_entropy']:.3f}", f"{m['confidence']:.3f}"],
                       widths), flush=True)
        if "textbook" in fids and "mlp/mlp" in fids:
            ratio = fids["textbook"] / max(fids["mlp/mlp"], 1e-9)
            ok_all &= ratio >= 5
            print(f"seed {seed}: textbook FID / ganzoo FID = {ratio:.1f}x (target >= 5x)", flush=True)
    return ok_all


#: Each variant recipe's target (issue "Open the training step"); every recipe must also finish within 5 minutes.
RECIPE_TARGETS = {
    "cgan-mnist": "label", "acgan-mnist": "label", "projection-mnist": "label", "infogan-mnist": "codes",
    "diffaugment-mnist": "beats limited-mnist", "wgan-clip-mnist": "coverage", "sngan-mnist": "coverage",
    "r1-mnist": "coverage", "ragan-mnist": "coverage", "feature-matching-mnist": "coverage",
    # the step's second opening
    "ada-mnist": "beats limited-mnist", "lecam-mnist": "beats limited-mnist", "r3gan-mnist": "same-time default",
    "bcr-mnist": "coverage", "msgan-mnist": "label", "orthogonal-mnist": "coverage", "topk-mnist": "coverage",
}
RECIPE_SECONDS = 300.0


def _recipe_ok(name: str, m: dict, seconds: float, fids: dict) -> bool:
    target = RECIPE_TARGETS.get(name)
    ok = seconds <= RECIPE_SECONDS
    if target == "label":
        ok &= m.get("label_accuracy", 0) >= 0.95 and m["classifier_fid"] <= 15
    elif target == "codes":
        ok &= m.get("code_purity", 0) >= 0.8 and m.get("code_classes", 0) >= 8
    elif target == "beats limited-mnist":
        ok &= m["classifier_fid"] < fids.get("limited-mnist", float("inf"))
    elif target == "coverage":
        ok &= m["classes_covered"] == 10
    elif target == "same-time default":  # R3GAN: all digits, FID no worse than the default mix given its wall time
        ok &= m["classes_covered"] == 10 and m["classifier_fid"] <= fids.get(SAME_TIME, float("inf"))
    return ok


#: The default mix (``mnist-best``) stopped after the training seconds of the recipe before it (``r3gan-mnist``).
SAME_TIME = "mnist-best@same-time"
#: Targets judged again on the means over seeds; DiffAugment is ADA's second reference (ADA must be no worse).
MEAN_TARGETS = {"ada-mnist": ("limited-mnist", "diffaugment-mnist"), "r3gan-mnist": (SAME_TIME,),
                "diffaugment-mnist": ("limited-mnist",), "lecam-mnist": ("limited-mnist",)}


def summary(rows: dict[str, list[dict]]) -> bool:
    """Each recipe's FID and classes as mean ± std over the seeds, and the comparative targets judged on the means
    (a recipe must beat, or tie with ≤, each reference's mean FID)."""
    print("\n### Over the seeds (mean ± std)\n", flush=True)
    widths = [23, 3, 16, 14, 13, 40, 3]
    print(_row(["recipe", "n", "FID", "classes", "seconds", "target (mean FID against)", "ok"], widths))
    means = {name: statistics.fmean(r["classifier_fid"] for r in rs) for name, rs in rows.items()}
    ok_all = True
    for name, rs in rows.items():
        def ms(key, fmt, rs=rs):
            values = [r[key] for r in rs]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{fmt.format(statistics.fmean(values))} ± {fmt.format(std)}"
        refs = [r for r in MEAN_TARGETS.get(name, ()) if r in means]
        ok = all(means[name] <= means[r] for r in refs)
        if name == "r3gan-mnist":
            ok &= all(r["classes_covered"] == 10 for r in rs)
        ok_all &= ok
        target = ", ".join(f"{r} {means[r]:.1f}" for r in refs) or "-"
        print(_row([name, str(len(rs)), ms("classifier_fid", "{:.1f}"), ms("classes_covered", "{:.1f}"),
                    ms("seconds", "{:.0f}"), target, ("yes" if ok else "NO") if refs else ""], widths), flush=True)
    return ok_all


def _recipe_sweep(names: list[str], seeds: list[int], root: str, out: Path, extra: list[str]) -> dict[str, list]:
    """``ganzoo sweep run --recipe A,B,... --seed ...`` one member at a time (so each is timed alone), then every
    member evaluated on 10,000 samples by the benchmark's classifier: {recipe: [(seed, steps, seconds, metrics)]}."""
    args = ["--recipe", ",".join(names), "--seed", ",".join(map(str, seeds)), "--jobs", "1", "--sample-every", "0",
            "--set", f"dataset.root={Path(root).resolve()}", "--set", "dataset.download=false", *extra]
    rows: dict[str, list] = {}
    for member, outcome, run_dir in point_suite.sweep_members(args, out / "recipes" / names[0]):
        recipe = member["kwargs"]["recipe"]
        if outcome["status"] != "done":
            print(f"{recipe} seed {member['seed']}: {outcome['status']}: {outcome.get('message', '')}", flush=True)
            continue
        m = ganzoo.evaluate(run_dir, EVAL_SAMPLES)
        ganzoo.sample(run_dir, 100, out=out / f"{recipe}-{member['seed']}.png")
        rows.setdefault(recipe, []).append((member["seed"], outcome["step"], outcome["seconds"], m))
    return rows


def recipes(seeds: list[int], root: str, out: Path, names: list[str], steps: int | None = None) -> bool:
    """Every variant recipe as a user runs it, as one sweep over the seeds, scored by the MNIST classifier; the
    references (the default mix, the recipe without augmentation, DiffAugment for ADA) train in the same sweep, and
    the default mix given R3GAN's mean training time in a second one."""
    _mnist_evaluator(root, torch.device("cpu"))  # the classifier trains (or loads) outside every timed run
    print(f"\n## Variant recipes on MNIST: one `ganzoo sweep run --recipe ... --jobs 1` (2 CPU cores; "
          f"{EVAL_SAMPLES:,} samples each; target: <= {RECIPE_SECONDS:.0f} s of training)\n", flush=True)
    targets = {RECIPE_TARGETS.get(n) for n in names}
    wanted = [*(["mnist-best"] if "coverage" in targets else []),  # the default mix, for reference
              *(["limited-mnist"] if "beats limited-mnist" in targets else []),
              *(["diffaugment-mnist"] if "ada-mnist" in names else [])]
    order = [n for n in wanted if n not in names] + [n for n in names if n in wanted] + \
        [n for n in names if n not in wanted]
    extra = ["--steps", str(steps)] if steps else []  # a quick look at the benchmark itself, not its targets
    rows = _recipe_sweep(order, seeds, root, out, extra)
    if "r3gan-mnist" in rows:  # the default mix given R3GAN's training time (its mean over the seeds)
        budget = statistics.fmean(seconds for _, _, seconds, _ in rows["r3gan-mnist"])
        same = _recipe_sweep(["mnist-best"], seeds, root, out / SAME_TIME,
                             [*extra, "--time-limit", f"{budget:.1f}", "--steps", "10000000"] if not steps else extra)
        rows[SAME_TIME] = same["mnist-best"]
    widths = [23, 5, 8, 7, 7, 8, 9, 7, 8, 22, 3]
    print(_row(["recipe", "seed", "seconds", "steps", "FID", "classes", "label_acc", "purity", "codes", "target",
                "ok"], widths))
    ok_all = True
    for seed in seeds:
        fids = {name: m["classifier_fid"] for name, rs in rows.items() for s, _, _, m in rs if s == seed}
        for name in [*order, SAME_TIME]:
            for s, steps, seconds, m in rows.get(name, []):
                if s != seed:
                    continue
                ok = _recipe_ok(name, m, seconds, fids)
                if name in RECIPE_TARGETS:
                    ok_all &= ok
                cells = [name, str(seed), f"{seconds:.0f}", str(steps),
                         f"{m['classifier_fid']:.2f}", f"{m['classes_covered']:.0f}", _maybe(m, "label_accuracy"),
                         _maybe(m, "code_purity"), _maybe(m, "code_classes", "{:.0f}"),
                         RECIPE_TARGETS.get(name, "(reference)"), ("yes" if ok else "NO") if name in RECIPE_TARGETS
                         else ""]
                print(_row(cells, widths), flush=True)
    if len(seeds) > 1:
        ok_all &= summary({name: [{**m, "seconds": seconds} for _, _, seconds, m in rs] for name, rs in rows.items()})
    return ok_all


def _maybe(m: dict, key: str, fmt: str = "{:.3f}") -> str:
    return fmt.format(m[key]) if key in m else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("GANZOO_DATA", "../shared/data"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--only", choices=["points", "mnist", "recipes", "calibration"])
    parser.add_argument("--calibration-samples", type=int, default=10_000)
    parser.add_argument("--recipes", default=",".join(RECIPE_TARGETS), help="variant recipes to measure")
    parser.add_argument("--mixes", default="mlp/mlp,textbook,upconv/maxpool")
    parser.add_argument("--recipe-steps", type=int, default=None,
                        help="train each recipe this many steps instead of its own (a quick look at the benchmark "
                             "itself; its targets then mean nothing)")
    parser.add_argument("--out", default="runs/bench-quality")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out) / time.strftime("%Y%m%d-%H%M%S")
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    ok = True
    if args.only in (None, "points"):
        ok &= points(seeds, out)
    if args.only in (None, "mnist"):
        ok &= mnist(seeds, args.minutes, args.data_root, out, args.mixes.split(","))
    if args.only in (None, "recipes"):
        ok &= recipes(seeds, args.data_root, out, args.recipes.split(","), args.recipe_steps)
    if args.only in (None, "calibration"):
        ok &= calibration(args.data_root, out, args.calibration_samples, args.minutes)
    print(f"\nall targets met: {'yes' if ok else 'NO'}; runs in {out}")


if __name__ == "__main__":
    main()
