"""Reliability and security (issue 9): every bad input is one clear line and nothing a user or a checkpoint supplies
is ever run as code. Crashes and interruptions are in test_crashes.py.

The matrix below runs each mistake through the real CLI and checks the same four things every time: a non-zero
exit, exactly one ``error:`` line naming the thing and the fix, no traceback, and not a single file written or
changed (so nothing is left behind that could pass for a good run). ``GANZOO_RELIABILITY_REPORT=FILE`` appends
"case -> line" for each case, which is how the closing note's list is made.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ganzoo.cli import cli
from ganzoo.registry import registry as registry_module
from ganzoo.run.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--steps", "2", "--set", "dataset.n=64", "--sample-every", "0", "-q"]


# -- two finished runs to break in many ways, trained once for the whole module -----------------------------------


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory) -> dict[str, Path]:
    """A default-mix parabola run and a run of another mix (bce, sine, narrower G), two steps each."""
    root = tmp_path_factory.mktemp("base")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_LOAD_PLUGINS", "")
        mp.setenv("GANZOO_DATA", str(root / "no-data"))
        mp.setenv("GANZOO_CACHE", str(root / "cache"))
        registry_module.reset_default_registry()
        runner = CliRunner()
        for name, extra in (("mine", []), ("other", ["-l", "bce", "--dataset", "sine",
                                                    "--set", "generator.hidden=32,32"])):
            result = runner.invoke(cli, ["train", *TINY, *extra, "--out", str(root / name)], catch_exceptions=False)
            assert result.exit_code == 0, result.stderr
        registry_module.reset_default_registry()
    return {"mine": root / "mine", "other": root / "other"}


class Evil:
    """Unpickling this would run a shell command; a safe loader must refuse it before calling anything."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@dataclass
class Ctx:
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    base: dict[str, Path]

    @property
    def latest(self) -> Path:
        return self.tmp / "run" / "checkpoints" / "latest.pt"

    def tamper(self, **config_changes) -> None:
        """Rewrite the run's checkpoint with changed config entries (a file edited or from another version)."""
        ckpt = load_checkpoint(self.latest)
        for key, value in config_changes.items():
            kind, _, param = key.partition("__")
            ckpt["config"][kind][param] = value
        torch.save(ckpt, self.latest)
        (self.tmp / "run" / "config.toml").unlink()  # so only the checkpoint speaks for the run


def _plugin_dist(ctx: Ctx, dist: str, module: str, code: str, version: str = "1.0") -> None:
    """An installed distribution with a ``ganzoo`` entry point, found through importlib.metadata like pip's."""
    site = ctx.tmp / "site"
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{module} = {module}\n")
    (site / f"{module}.py").write_text(code)
    ctx.monkeypatch.syspath_prepend(str(site))
    loaded = os.environ.get("GANZOO_LOAD_PLUGINS", "")
    ctx.monkeypatch.setenv("GANZOO_LOAD_PLUGINS", ",".join(filter(None, [loaded, dist])))


BROKEN = "import ganzoo_no_such_dependency  # the plugin's missing dependency\n"
TWIN = """from ganzoo import GeneratorSpec, hookimpl


@hookimpl
def ganzoo_generators():
    yield GeneratorSpec(name="twin", factory=lambda latent_dim, data: None, description="one of two twins")
"""


def _broken_plugin(ctx: Ctx) -> None:
    _plugin_dist(ctx, "broken-plugin", "ganzoo_test_broken", BROKEN)


def _strict_broken_plugin(ctx: Ctx) -> None:
    _broken_plugin(ctx)
    ctx.monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")


def _twins(ctx: Ctx) -> None:
    _plugin_dist(ctx, "twin-a", "ganzoo_test_twin_a", TWIN)
    _plugin_dist(ctx, "twin-b", "ganzoo_test_twin_b", TWIN, version="2.0")


def _config(text: str | bytes) -> Callable[[Ctx], None]:
    def write(ctx: Ctx) -> None:
        path = ctx.tmp / "my.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return write


def _checkpoint_bytes(content: bytes | None) -> Callable[[Ctx], None]:
    def write(ctx: Ctx) -> None:
        data = ctx.latest.read_bytes()
        ctx.latest.write_bytes(content if content is not None else data[: len(data) // 2])
    return write


def _not_a_checkpoint(ctx: Ctx) -> None:
    torch.save({"generator": {"weight": torch.zeros(2)}}, ctx.latest)  # plain weights, e.g. from another tool


def _evil(ctx: Ctx) -> None:
    torch.save({"format": "ganzoo-checkpoint", "version": 1, "step": Evil(ctx.tmp / "pwned")}, ctx.latest)


def _foreign(ctx: Ctx) -> None:
    shutil.copy(ctx.base["other"] / "checkpoints" / "latest.pt", ctx.latest)


def _no_out_permission(ctx: Ctx) -> None:
    locked = ctx.tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)


def _parent_is_a_file(ctx: Ctx) -> None:
    (ctx.tmp / "afile").write_text("not a directory")


def _empty_dir(ctx: Ctx) -> None:
    (ctx.tmp / "empty").mkdir()


def _link_loops(ctx: Ctx) -> None:
    """A folder of nothing but two symbolic-link loops: once a walk that never ended."""
    (ctx.tmp / "loops" / "sub").mkdir(parents=True)
    (ctx.tmp / "loops" / "self").symlink_to(".")
    (ctx.tmp / "loops" / "sub" / "up").symlink_to("..")


def _zero_bytes(ctx: Ctx) -> None:
    """A header, then zero bytes: what a sparse or preallocated file reads as (a 2 GB one is in
    test_points_file_limits.py, with its memory measured)."""
    with open(ctx.tmp / "zeros.txt", "wb") as f:
        f.write(b"x,y\n")
        f.truncate(1 << 16)


def _pickled_npy(ctx: Ctx) -> None:
    import numpy as np

    np.save(ctx.tmp / "objects.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)


def _cut_npy(ctx: Ctx) -> None:
    import numpy as np

    np.save(ctx.tmp / "cut.npy", np.zeros((100, 2)))
    data = (ctx.tmp / "cut.npy").read_bytes()
    (ctx.tmp / "cut.npy").write_bytes(data[:100])


def _float32_limit(ctx: Ctx) -> None:
    rows = [f"{i / 10},3.4e38" for i in range(64)]
    (ctx.tmp / "huge.csv").write_text("x,y\n" + "\n".join(rows) + "\n")


def _pickled_pt(ctx: Ctx) -> None:
    torch.save({"points": torch.zeros(4, 2), "note": Ctx}, ctx.tmp / "objects.pt")  # a class: not weights-only


def _mnist_unreachable(ctx: Ctx) -> None:
    """MNIST's mirrors replaced by a port nothing listens on: a download that fails at once, offline."""
    import torchvision

    ctx.monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    ctx.monkeypatch.setenv("GANZOO_DATA", str(ctx.base["mine"].parent / f"mnist-{ctx.tmp.name}"))  # not in tmp


def _mnist_silent_failure(ctx: Ctx) -> None:
    """A download that fails with an exception without a message: the line still gives a reason."""
    import torchvision.datasets.mnist

    def fail(*args, **kwargs):
        raise RuntimeError()

    _mnist_unreachable(ctx)
    ctx.monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", fail)


@dataclass
class Case:
    """One mistake: CLI args ({tmp}, {run}, {out} are filled in), what the line must name, and the fix it gives."""

    id: str
    args: list[str]
    names: str
    fix: str
    setup: Callable[[Ctx], None] | None = None
    run: bool = False  # start from a copy of a finished run in {run}
    warnings: bool = False  # the broken plugin's own load warning may precede the error line
    marks: tuple = field(default=())


ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0
INJECT = "__import__('os').system('touch pwned')"
CASES = [
    # unknown names, with "did you mean"
    Case("unknown-generator", ["train", "-g", "mpl"], "unknown generator 'mpl'", "did you mean 'mlp'?"),
    Case("unknown-discriminator", ["train", "-d", "maxpol"], "unknown discriminator 'maxpol'",
         "did you mean 'maxpool'?"),
    Case("unknown-loss", ["train", "-l", "nonsaturatin"], "unknown loss 'nonsaturatin'",
         "did you mean 'nonsaturating'?"),
    Case("unknown-dataset", ["train", "--dataset", "parabol"], "unknown dataset 'parabol'",
         "did you mean 'parabola'?"),
    Case("unknown-kind-in-list", ["list", "generatorz"], "unknown component kind 'generatorz'",
         "did you mean 'generator"),
    Case("unknown-name-in-list", ["list", "generators", "mpl"], "unknown generator 'mpl'", "did you mean 'mlp'?"),
    Case("unknown-command", ["trian"], "no command 'trian'", "did you mean 'train'?"),
    Case("unknown-flag", ["train", "--bogus"], "No such option '--bogus'", "see `ganzoo train --help`"),
    # parameters: unknown keys, wrong types, lists where numbers belong
    Case("set-unknown-key", ["train", "--set", "generator.hiden=3"], "generator 'mlp' has no parameter 'hiden'",
         "did you mean 'hidden'?"),
    Case("set-unknown-kind", ["train", "--set", "generatr.hidden=3"], "unknown component kind 'generatr'",
         "did you mean 'generator'"),
    Case("set-malformed", ["train", "--set", "hidden"], "--set 'hidden'", "must look like KIND.PARAM=VALUE"),
    Case("set-wrong-type", ["train", "--set", "generator.hidden=abc"], "--set generator.hidden",
         "expects list[int], got 'abc' (e.g. hidden=1,2,3)"),
    Case("set-list-for-number", ["train", "--set", "loss.real_label=1,2"], "--set loss.real_label",
         "expects float, got '1,2' (e.g. real_label=0.5)"),
    Case("option-wrong-type", ["train", "--steps", "ten"], "--steps", "expects int, got 'ten' (e.g. steps=3)"),
    Case("option-list-for-number", ["train", "--lr-g", "1,2"], "--lr-g", "expects float, got '1,2'"),
    Case("config-unknown-key", ["train", "--config", "my.toml"], "unknown key 'stepz'", "did you mean 'steps'?",
         _config("stepz = 3")),
    Case("config-unknown-param", ["train", "--config", "my.toml"], "generator 'mlp' has no parameter 'hiden'",
         "did you mean 'hidden'?", _config("[generator]\nname = \"mlp\"\nhiden = [3]")),
    Case("config-wrong-type", ["train", "--config", "my.toml"], "'steps' expects int, got 2.5 in config file",
         "(e.g. steps=3)", _config("steps = 2.5")),
    Case("config-number-for-list", ["train", "--config", "my.toml"], "parameter 'hidden' expects list[int], got 5",
         "(e.g. hidden=1,2,3)", _config("[generator]\nname = \"mlp\"\nhidden = 5")),
    Case("config-list-for-number", ["train", "--config", "my.toml"], "'real_label' expects float, got [0.9]",
         "(e.g. real_label=0.5)", _config("[loss]\nname = \"bce\"\nreal_label = [0.9]")),
    Case("config-component-not-a-table", ["train", "--config", "my.toml"], "[generator] must be a table",
         "or generator = \"NAME\"", _config("generator = 3")),
    Case("config-invalid-toml", ["train", "--config", "my.toml"], "config file my.toml is not valid TOML",
         "Unclosed array (at end of document); correct it there", _config("steps = [1, 2")),
    Case("config-not-utf8", ["train", "--config", "my.toml"], "config file my.toml is not UTF-8",
         "save it as UTF-8", _config("steps = 3 # caf\xe9\n".encode("latin-1"))),
    Case("config-missing", ["train", "--config", "missing.toml"], "config file missing.toml does not exist",
         "check the path"),
    # code in strings is data: a type error, and the command never runs
    Case("set-code-is-not-run", ["train", "--set", f"generator.hidden={INJECT}"], "--set generator.hidden",
         "expects list[int]"),
    Case("option-code-is-not-run", ["train", "--steps", INJECT], "--steps", "expects int"),
    Case("config-code-is-not-run", ["train", "--config", "my.toml"], "'steps' expects int", "(e.g. steps=3)",
         _config(f"steps = \"{INJECT}\"")),
    # incompatible components
    Case("image-generator-on-points", ["train", "-g", "upconv"], "generator 'upconv' cannot train on dataset "
         "'parabola'", "compatible generators: mlp"),
    Case("image-discriminator-on-points", ["train", "-d", "maxpool"], "discriminator 'maxpool' cannot train on "
         "dataset 'parabola'", "compatible discriminators: infogan, mlp"),
    # training options out of range
    Case("steps-0", ["train", "--steps", "0"], "--steps", "must be >= 1, got 0"),
    Case("batch-size-negative", ["train", "--batch-size", "-4"], "--batch-size", "must be >= 2"),
    Case("batch-size-1", ["train", "--batch-size", "1"], "--batch-size", "must be >= 2"),
    Case("d-steps-0", ["train", "--d-steps", "0"], "--d-steps", "must be >= 1, got 0"),
    Case("lr-g-0", ["train", "--lr-g", "0"], "--lr-g", "must be > 0, got 0"),
    Case("lr-d-negative", ["train", "--lr-d", "-1e-4"], "--lr-d", "must be > 0, got -0.0001"),
    Case("latent-dim-0", ["train", "--latent-dim", "0"], "--latent-dim", "must be >= 1, got 0"),
    Case("betas-one-number", ["train", "--betas", "0.5"], "--betas", "needs 2 items, got [0.5]"),
    Case("ema-too-big", ["train", "--ema", "1.5"], "--ema", "must be in [0, 1) (or 0 for off), got 1.5"),
    # component parameters outside the range their record declares, and relations no declaration can state
    Case("param-below-min", ["train", "--set", "dataset.noise=-1"], "--set dataset.noise: dataset 'parabola'",
         "'noise' must be >= 0, got -1"),
    Case("param-list-item-below-min", ["train", "--set", "generator.hidden=64,0"], "generator 'mlp'",
         "every item of 'hidden' must be >= 1, got [64, 0]"),
    Case("param-above-max", ["train", "--set", "loss.real_label=1.5"], "loss 'nonsaturating'",
         "'real_label' must be in [0, 1], got 1.5"),
    Case("param-at-exclusive-bound", ["train", "--set", "discriminator.dropout=1"], "discriminator 'mlp'",
         "'dropout' must be in [0, 1), got 1"),
    Case("param-of-a-constraint", ["train", "--constraint", "clip", "--set", "constraint.clip.clip=0"],
         "constraint 'clip'", "'clip' must be > 0, got 0"),
    Case("params-out-of-order", ["train", "--set", "dataset.x_min=4", "--out", "{out}"], "dataset 'parabola': "
         "'x_max' (3.0) must be larger than 'x_min' (4.0)", "'x_min' (4.0)"),
    Case("labels-out-of-order", ["train", "--set", "loss.fake_label=1", "--out", "{out}"], "loss 'nonsaturating': "
         "'real_label' (1.0) must be above 'fake_label' (1.0)", "'fake_label'"),
    # non-finite numbers, in every float option and parameter
    Case("lr-g-inf", ["train", "--lr-g", "inf"], "--lr-g", "got inf; it must be a finite number"),
    Case("ema-nan", ["train", "--ema", "nan"], "--ema", "got nan; it must be a finite number"),
    Case("time-limit-inf", ["train", "--time-limit", "inf"], "--time-limit", "it must be a finite number"),
    Case("set-param-nan", ["train", "--set", "loss.real_label=nan"], "--set loss.real_label",
         "got nan; it must be a finite number"),
    Case("set-param-inf", ["train", "--set", "opt_d.eps=inf"], "--set opt_d.eps", "it must be a finite number"),
    Case("config-inf", ["train", "--config", "my.toml"], "lr_d", "it must be a finite number",
         _config("lr_d = inf")),
    Case("config-param-nan", ["train", "--config", "my.toml"], "dropout", "it must be a finite number",
         _config("[discriminator]\nname = \"mlp\"\ndropout = nan")),
    # the machine's limits: a batch that does not fit in host memory (CUDA's out-of-memory has its own test)
    Case("cpu-out-of-memory", ["train", "--batch-size", "100000000000", "--device", "cpu", "--out", "{out}"],
         "out of memory on cpu at batch size 100000000000", "try a smaller --batch-size"),
    # conditional mixes and the new kinds
    Case("conditional-on-unlabelled", ["train", "-g", "cgan"], "generator 'cgan' cannot train on dataset "
         "'parabola'", "it is conditional: it needs a labelled dataset"),
    Case("reg-needs-an-output", ["train", "--reg", "ac"], "regulariser 'ac' reads the discriminator's 'classes' "
         "output", "discriminators that do: acgan"),
    Case("unknown-regulariser", ["train", "--reg", "r11"], "unknown regulariser 'r11'", "did you mean 'r1'?"),
    Case("unknown-optimizer", ["train", "--opt", "adan"], "unknown optimizer 'adan'", "did you mean 'adam'?"),
    Case("set-reg-not-chosen", ["train", "--set", "reg.r1.weight=2"], "'r1' is not among this run's regularisers",
         "add it with --reg r1"),
    Case("betas-for-sgd", ["train", "--opt", "sgd", "--betas", "0.5,0.9"], "opt.betas is given, but none of opt_g, "
         "opt_d (sgd, sgd) takes 'betas'", "choose one that does"),
    Case("augment-on-points", ["train", "--augment", "diffaugment"], "augmentation 'diffaugment' cannot train on "
         "dataset 'parabola'", "it needs image data"),
    Case("ema-negative", ["train", "--ema", "-0.5"], "--ema", "must be in [0, 1) (or 0 for off)"),
    Case("seed-too-big", ["train", "--seed", str(2**64)], "--seed", "in [0, 2^63 - 1)"),
    # data
    Case("mnist-missing-offline", ["train", "--dataset", "mnist", "--set", "dataset.download=false", "--out",
                                   "{out}"],
         "MNIST files not found in", "t10k-labels-idx1-ubyte"),
    # data faults (issue 23): loops, files that are no text, unpickling advice, download reasons, a byte-order mark
    Case("folder-only-link-loops", ["train", "--dataset", "folder", "--set", "dataset.path=loops", "--out", "{out}"],
         "loops holds no files it can use", "(skipped symbolic links that loop back: self -> ., sub/up -> ..)",
         _link_loops, warnings=True),
    Case("points-file-zero-bytes", ["train", "--dataset", "points-file", "--set", "dataset.path=zeros.txt"],
         "zeros.txt: holds a zero byte at byte 4 (line 2)", "not UTF-8 text; save it as text, or use .npy or .pt",
         _zero_bytes),
    Case("points-file-pickled-npy", ["train", "--dataset", "points-file", "--set", "dataset.path=objects.npy"],
         "objects.npy: holds pickled Python objects", "ganzoo never unpickles a data file: save the points with "
         "numpy.save(path, array)", _pickled_npy),
    Case("points-file-pickled-pt", ["train", "--dataset", "points-file", "--set", "dataset.path=objects.pt"],
         "objects.pt: holds pickled Python objects", "save the points with torch.save({'points': tensor}, path)",
         _pickled_pt),
    Case("points-file-float32-limit", ["train", "--dataset", "points-file", "--set", "dataset.path=huge.csv"],
         "dataset 'points-file': its samples are not finite numbers once standardised for training (dimension 1)",
         "rescale the data", _float32_limit),
    Case("points-file-cut-npy", ["train", "--dataset", "points-file", "--set", "dataset.path=cut.npy"],
         "cut.npy: cannot be read as .npy", "is it damaged or cut short?", _cut_npy),
    Case("mnist-download-fails", ["train", "--dataset", "mnist", "--out", "{out}"], "MNIST files not found in",
         "the download failed: Error downloading train-images-idx3-ubyte.gz: <urlopen error", _mnist_unreachable),
    Case("mnist-download-fails-silently", ["train", "--dataset", "mnist", "--out", "{out}"], "MNIST files not found",
         "the download failed: Error downloading train-images-idx3-ubyte.gz: RuntimeError)", _mnist_silent_failure),
    Case("config-byte-order-mark", ["train", "--config", "my.toml"], "unknown key 'stepz'", "did you mean 'steps'?",
         _config(b"\xef\xbb\xbfstepz = 3")),  # read past the BOM: before, "Invalid statement (at line 1, column 1)"
    # dataset parameters out of range: declared bounds, with the dataset named once (not by hand as well)
    Case("folder-size-0", ["train", "--dataset", "folder", "--set", "dataset.size=0"],
         "--set dataset.size: dataset 'folder': 'size'", "must be >= 1, got 0"),
    Case("mnist-digit-12", ["train", "--dataset", "mnist", "--set", "dataset.digits=1,12"],
         "--set dataset.digits: dataset 'mnist': every item of 'digits'", "must be in [0, 9], got [1, 12]"),
    Case("cifar10-class-10", ["train", "--dataset", "cifar10", "--set", "dataset.classes=10"],
         "--set dataset.classes: dataset 'cifar10': every item of 'classes'", "must be in [0, 9], got [10]"),
    Case("points-file-limit-1", ["train", "--dataset", "points-file", "--set", "dataset.limit=1"],
         "--set dataset.limit: dataset 'points-file': 'limit'", "must be >= 2, got 1"),
    # resuming, checkpoints and run directories
    Case("resume-missing-dir", ["train", "--resume", "nowhere"], "run directory nowhere does not exist",
         "give the directory a run printed"),
    Case("sample-missing-dir", ["sample", "nowhere", "-o", "x.pt"], "run directory nowhere does not exist",
         "give the directory a run printed"),
    Case("resume-no-checkpoint", ["train", "--resume", "empty"], "empty has no checkpoint",
         "give the directory of a run that saved one", _empty_dir),
    Case("resume-truncated", ["train", "--resume", "{run}", "--steps", "4"], "is cut short or damaged",
         "copy a good checkpoints/step_*.pt", _checkpoint_bytes(None), run=True),
    Case("resume-empty-file", ["train", "--resume", "{run}", "--steps", "4"], "is cut short or damaged",
         "copy a good checkpoints/step_*.pt", _checkpoint_bytes(b""), run=True),
    Case("resume-garbage", ["train", "--resume", "{run}", "--steps", "4"], "is not a readable ganzoo checkpoint",
         "start a new run", _checkpoint_bytes(b"PK\x03\x04truncated zip"), run=True),
    Case("resume-not-a-checkpoint", ["train", "--resume", "{run}", "--steps", "4"],
         "is not a ganzoo checkpoint (it has no 'ganzoo-checkpoint' marker)", "start a new run",
         _not_a_checkpoint, run=True),
    Case("sample-truncated", ["sample", "{run}", "-o", "s.pt"], "is not a readable ganzoo checkpoint",
         "copy a good checkpoints/step_*.pt", _checkpoint_bytes(None), run=True),
    Case("resume-foreign-checkpoint", ["train", "--resume", "{run}", "--steps", "4"],
         "was written by another run (mlp-mlp-bce-sine)", "copy this run's own newest checkpoints/step_*.pt",
         _foreign, run=True),
    Case("sample-foreign-checkpoint", ["sample", "{run}", "-o", "s.png"],
         "differs from", "move the foreign checkpoint into an empty directory", _foreign, run=True),
    Case("evaluate-foreign-checkpoint", ["evaluate", "{run}"], "was written by another run", "generator.hidden",
         _foreign, run=True),
    Case("resume-weights-do-not-fit", ["train", "--resume", "{run}", "--steps", "4"],
         "does not fit the components of its own config", "copy a good checkpoints/step_*.pt",
         lambda ctx: ctx.tamper(generator__hidden=[32, 32]), run=True),
    Case("sample-weights-do-not-fit", ["sample", "{run}", "-o", "s.pt"], "does not fit its generator",
         "copy a good checkpoints/step_*.pt", lambda ctx: ctx.tamper(generator__hidden=[32, 32]), run=True),
    Case("sample-component-not-installed", ["sample", "{run}", "-o", "s.pt"],
         "cannot be used here: unknown generator 'gone'", "install the plugins the run was trained with",
         lambda ctx: ctx.tamper(generator__name="gone"), run=True),
    Case("resume-change-fixed-setting", ["train", "--resume", "{run}", "--set", "generator.hidden=8"],
         "cannot change --set when resuming", "start a new run to train another mix", run=True),
    Case("resume-already-done", ["train", "--resume", "{run}", "--steps", "2"], "has already trained 2 of 2 steps",
         "pass a larger --steps", run=True),
    Case("resume-and-out", ["train", "--resume", "{run}", "--out", "{out}"], "--out and --resume exclude each other",
         "stays in its own directory", run=True),
    Case("out-holds-a-run", ["train", "--out", "{run}"], "already holds a run", "continue it with --resume",
         run=True),
    Case("out-not-empty", ["train", "--out", "{tmp}"], "is not empty", "pick a new or empty directory",
         lambda ctx: (ctx.tmp / "notes.txt").write_text("mine")),
    Case("sample-bad-suffix", ["sample", "{run}", "-o", "x.jpg"], "-o x.jpg", "must end in .png", run=True),
    Case("sample-bad-seed", ["sample", "{run}", "-o", "x.pt", "--seed", "-1"], "--seed", "must be in [0, 2^63 - 1)",
         run=True),
    # crafted checkpoints: refused before anything in them can run
    Case("crafted-pickle-resume", ["train", "--resume", "{run}", "--steps", "4"],
         "not a readable ganzoo checkpoint", "ganzoo never unpickles code", _evil, run=True),
    Case("crafted-pickle-sample", ["sample", "{run}", "-o", "s.pt"], "not a readable ganzoo checkpoint",
         "ganzoo never unpickles code", _evil, run=True),
    Case("crafted-pickle-evaluate", ["evaluate", "{run}"], "not a readable ganzoo checkpoint",
         "ganzoo never unpickles code", _evil, run=True),
    # where the run goes
    Case("out-not-writable", ["train", *TINY, "--out", "{tmp}/locked/run"], "cannot write the run directory",
         "Permission denied; choose another --out", _no_out_permission,
         marks=(pytest.mark.skipif(ROOT_USER, reason="root ignores directory permissions; see out-under-a-file"),)),
    # root writes anywhere, but not even root can make a directory inside a regular file
    Case("out-under-a-file", ["train", *TINY, "--out", "{tmp}/afile/run"], "cannot write the run directory",
         "Not a directory; choose another --out", _parent_is_a_file),
    # devices
    Case("device-unknown", ["train", "--device", "tpu"], "unknown device 'tpu'", "use auto, cpu, cuda, cuda:N or mps"),
    Case("device-cuda-without-cuda", ["train", "--device", "cuda", "--out", "{out}"], "--device cuda: CUDA is not "
         "available", "use --device cpu or auto",
         marks=(pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),)),
    Case("sample-cuda-without-cuda", ["sample", "{run}", "-o", "s.pt", "--device", "cuda"], "--device cuda",
         "use --device cpu or auto", run=True,
         marks=(pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),)),
    # plugins
    Case("plugin-fails-to-import-strict", ["train", "--out", "{out}"], "plugin 'ganzoo_test_broken' (broken-plugin "
         "1.0) failed to load: ModuleNotFoundError", "fix or uninstall it, or unset GANZOO_STRICT_PLUGINS",
         _strict_broken_plugin),
    Case("plugin-fails-to-import-component-asked", ["train", "-g", "fancy"], "unknown generator 'fancy'",
         "may come from a plugin that failed to load: 'ganzoo_test_broken' (broken-plugin 1.0)", _broken_plugin,
         warnings=True),
    Case("two-plugins-same-name", ["train", "-g", "twin", "--out", "{out}"], "generator 'twin' is provided by 2 "
         "plugins: 'twin-a:twin' from twin-a 1.0, 'twin-b:twin' from twin-b 2.0", "pick one by its qualified name",
         _twins),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its bytes (bytecode caches aside)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        rel = str(path.relative_to(root))
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_every_mistake_is_one_clear_line_and_writes_nothing(case, invoke, base_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ctx = Ctx(tmp_path, monkeypatch, base_runs)
    if case.run:
        shutil.copytree(base_runs["mine"], tmp_path / "run")
    if case.setup:
        case.setup(ctx)
    before = _snapshot(tmp_path)
    args = [a.format(tmp=tmp_path, run=tmp_path / "run", out=tmp_path / "out") for a in case.args]
    result = invoke(*args, expect=None)
    lines = result.stderr.splitlines()
    if case.warnings:
        lines = [line for line in lines if not line.startswith("ganzoo: warning: ")]
    if os.environ.get("GANZOO_RELIABILITY_REPORT"):
        with open(os.environ["GANZOO_RELIABILITY_REPORT"], "a") as report:
            report.write(f"{case.id} -> {' | '.join(lines)}\n")
    assert result.exit_code != 0
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert case.names in lines[0] and case.fix in lines[0], lines[0]
    assert not re.search(r"unsafely|allow_pickle|Re-running", lines[0]), lines[0]  # no advice to run what a file holds
    assert len(re.findall(r"(dataset|generator|discriminator|loss) '[\w.-]+':", lines[0])) <= 1, lines[0]  # one owner
    assert "Traceback" not in result.stderr + result.stdout
    assert _snapshot(tmp_path) == before  # nothing written: no run dir, config, checkpoint or sample to mistake
    assert not (tmp_path / "pwned").exists()  # no string or checkpoint was run as code


def test_no_source_evaluates_strings_as_code():
    """Beyond the cases above: no eval/exec/unsafe load anywhere in the core or the built-in plugins."""
    calls = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(|pickle\.loads?\(|yaml\.load\(|marshal\.")
    offenders = []
    for path in [*ROOT.joinpath("ganzoo").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if calls.search(line) or ("torch.load(" in line and "weights_only=True" not in line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, offenders
