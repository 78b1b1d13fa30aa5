"""Sharing a trained generator (issue 27): ``ganzoo export`` writes a torch.export program, ONNX and safetensors with
config.json and a model card; each gives the run's own samples on fixed noise, the program runs where neither ganzoo
nor its plugins can be imported, and every mistake is one line.

Tolerances (largest absolute difference from ``ganzoo.sample`` of the run, on the same noise and labels):
pt2 and safetensors 1e-5 (measured: 0, the same float32 operations), ONNX through onnxruntime 1e-4 (measured below
1e-6: its kernels sum in another order)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from helpers.colours import Colours
from torch import nn

import ganzoo
from ganzoo import GeneratorSpec, hookimpl
from ganzoo.config.toml import read_toml
from ganzoo.registry import registry as registry_module

ROOT = Path(__file__).resolve().parent.parent
PT2_ATOL = SAFETENSORS_ATOL = 1e-5
ONNX_ATOL = 1e-4
N = 12  # samples compared per generator: not the traced batch (2)
HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
HAS_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript"))
TINY = {"batch_size": 16, "sample_every": 0, "checkpoint_every": 0}
#: One tiny run of every built-in generator: (generator, discriminator, dataset, other training options).
RUNS = {
    "mlp": ("mlp", "mlp", "parabola", {"set": ["generator.hidden=8,8", "discriminator.hidden=8", "dataset.n=256"],
                                       "ema": 0.9, "eval_every": 20, "eval_samples": 200}),
    "dcgan": ("dcgan", "dcgan", "colours", {"set": ["generator.width=4", "generator.max_width=8",
                                                    "discriminator.width=4", "discriminator.max_width=8"]}),
    "cgan": ("cgan", "cgan", "colours", {"set": ["generator.hidden=8,8", "discriminator.hidden=8"], "ema": 0.9}),
    "infogan": ("infogan", "infogan", "parabola", {"set": ["generator.hidden=8,8", "discriminator.hidden=8",
                                                           "generator.categories=3", "discriminator.categories=3",
                                                           "generator.continuous=1", "discriminator.continuous=1",
                                                           "dataset.n=256"], "reg": ["infogan"], "latent_dim": 4}),
    "upconv": ("upconv", "mlp", "colours", {"set": ["generator.fc=8", "generator.channels=4",
                                                     "generator.mid_channels=4", "discriminator.hidden=8"]}),
    "cdcgan": ("cdcgan", "cdcgan", "colours", {"set": ["generator.width=4", "generator.max_width=8",
                                                       "discriminator.width=4", "discriminator.max_width=8"]}),
}
#: The four whose every format is compared; the others export the two formats every generator must support.
FULL = ("mlp", "dcgan", "cgan", "infogan")


def _one_error(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code != 0 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def _inputs(classes: int | None, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Fixed noise and, for a conditional generator, class-major labels as ``ganzoo.sample`` draws them."""
    z = torch.randn(N, latent_dim, generator=torch.Generator().manual_seed(7))
    labels = None if classes is None else torch.arange(classes).repeat_interleave(math.ceil(N / classes))[:N]
    return z, labels


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Every built-in generator trained a few steps and exported, with the run's own samples on fixed noise."""
    root = tmp_path_factory.mktemp("zoo")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_LOAD_PLUGINS", "")
        mp.setenv("GANZOO_CACHE", str(root / "cache"))
        mp.setenv("OMP_NUM_THREADS", "1")
        registry_module.reset_default_registry()
        ganzoo.register(Colours(), "colours")
        try:
            for name, (g, d, dataset, options) in RUNS.items():
                run = root / f"run-{name}"
                ganzoo.train(g, d, "nonsaturating", dataset, steps=20, out=run, **TINY, **options)
                folder = root / f"export-{name}"
                result = ganzoo.export(run, folder, formats=None if name in FULL else "pt2,safetensors")
                info = json.loads((folder / "config.json").read_text())
                z, labels = _inputs(info["classes"], info["latent_dim"])
                out[name] = {"run": run, "out": folder, "info": info, "result": result, "z": z, "labels": labels,
                             "reference": ganzoo.sample(run, N, z=z)}
        finally:
            registry_module.reset_default_registry()
    return out


def _args(entry) -> tuple[torch.Tensor, ...]:
    return (entry["z"],) if entry["labels"] is None else (entry["z"], entry["labels"])


@pytest.mark.parametrize("name", FULL)
def test_every_format_gives_the_runs_own_samples_on_fixed_noise(zoo, name):
    entry = zoo[name]
    reference, folder = entry["reference"], entry["out"]
    assert reference.shape[0] == N and torch.isfinite(reference).all()
    with torch.no_grad():
        program = torch.export.load(folder / "generator.pt2").module()
        assert torch.allclose(program(*_args(entry)), reference, rtol=0, atol=PT2_ATOL)
        loaded = ganzoo.load_generator(folder)
        assert torch.allclose(loaded(*_args(entry)), reference, rtol=0, atol=SAFETENSORS_ATOL)
    # `ganzoo sample DIR` takes the export folder where it takes a run, and draws the same labels
    assert torch.allclose(ganzoo.sample(folder, N, z=entry["z"]), reference, rtol=0, atol=SAFETENSORS_ATOL)
    if entry["info"]["data"]["kind"] == "image":
        assert reference.min() >= 0 and reference.max() <= 1  # pixels in [0, 1]
    else:  # data coordinates: the parabola's y = x² + 1 lies above 1, far from the model's standardised space
        assert reference.shape[1] == 2 and reference[:, 1].mean() > 1.5
    if not HAS_ONNX:
        pytest.skip("onnx/onnxscript not installed: generator.onnx not written (pip install 'ganzoo[export]')")
    assert (folder / "generator.onnx").is_file()
    if not HAS_ORT:
        pytest.skip("onnxruntime not installed: generator.onnx not run")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(folder / "generator.onnx"), providers=["CPUExecutionProvider"])
    feed = {"z": entry["z"].numpy(), **({} if entry["labels"] is None else {"labels": entry["labels"].numpy()})}
    assert [i.name for i in session.get_inputs()] == list(feed)
    assert session.get_inputs()[0].shape[0] == "batch"  # a named dynamic dimension
    got = torch.from_numpy(session.run(None, feed)[0])
    assert torch.allclose(got, reference, rtol=0, atol=ONNX_ATOL)
    one = session.run(None, {k: v[:1] for k, v in feed.items()})[0]  # batch 1, another size than traced
    assert one.shape == (1, *reference.shape[1:])


def test_every_built_in_generator_exports(zoo, registry):
    built_in = {p.spec.name for p in registry.components("generators") if p.plugin.builtin}
    assert built_in == set(RUNS)  # a new built-in generator must join RUNS
    for name, entry in zoo.items():
        files = set(entry["result"].files)
        assert {"generator.pt2", "generator.safetensors", "config.json", "README.md", "samples.png"} <= files, name
        assert entry["result"].checks["pt2"] <= PT2_ATOL and entry["result"].checks["safetensors"] <= PT2_ATOL
        with torch.no_grad():
            program = torch.export.load(entry["out"] / "generator.pt2").module()
            assert torch.allclose(program(*_args(entry)), entry["reference"], rtol=0, atol=PT2_ATOL), name


_BLOCKER = textwrap.dedent("""
    import sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("ganzoo", "ganzoo_builtins"):
                raise ImportError(f"refused: {name}")

    sys.meta_path.insert(0, Refuse())
    try:
        import ganzoo_builtins  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker let ganzoo_builtins in")
""")


@pytest.mark.slow  # a subprocess
def test_the_program_runs_where_neither_ganzoo_nor_its_plugins_can_be_imported(zoo, tmp_path):
    entry = zoo["cgan"]
    torch.save(_args(entry), tmp_path / "inputs.pt")
    card = (entry["out"] / "README.md").read_text()
    snippet = re.search(r"### torch\.export.*?```python\n(.*?)```", card, re.S).group(1)
    script = _BLOCKER + snippet + textwrap.dedent(f"""
        print("card snippet:", tuple(samples.shape))
        torch.save(program(*torch.load({str(tmp_path / "inputs.pt")!r})), {str(tmp_path / "samples.pt")!r})
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("ganzoo", "ganzoo_builtins"))
        assert not loaded, loaded
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=entry["out"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "card snippet: (16, 3, 16, 16)" in done.stdout  # the card's own three lines ran
    assert torch.allclose(torch.load(tmp_path / "samples.pt"), entry["reference"], rtol=0, atol=PT2_ATOL)


def test_the_model_card_follows_the_hubs_conventions_and_says_what_config_json_says(zoo, tmp_path,
                                                                                     monkeypatch):
    yaml = pytest.importorskip("yaml")
    entry = zoo["mlp"]
    info, card = entry["info"], (entry["out"] / "README.md").read_text()
    front, body = re.match(r"---\n(.*?)\n---\n(.*)", card, re.S).groups()
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "ganzoo" and {"gan", "ganzoo", "mlp", "nonsaturating"} <= set(meta["tags"])
    assert meta["datasets"] == ["parabola"]
    # the run evaluated at its last step: the same metrics in the front matter, the card's table and config.json
    assert info["evaluation"]["step"] == 20 and "curve_error" in info["evaluation"]["values"]
    assert meta["metrics"] == list(info["evaluation"]["values"])
    assert f"| `curve_error` | {info['evaluation']['values']['curve_error']:.4g} |" in body
    assert "![samples from fixed noise](samples.png)" in body
    from PIL import Image

    with Image.open(entry["out"] / "samples.png") as image:
        assert image.format == "PNG" and min(image.size) > 200
    blocks = re.findall(r"```python\n(.*?)```", body, re.S)
    assert len(blocks) == 2 + HAS_ONNX and all(len(b.strip().splitlines()) == 3 for b in blocks)  # pt2, onnx, ganzoo
    monkeypatch.chdir(entry["out"])  # the snippets run from inside the folder
    for block in (b for b in blocks if HAS_ORT or "onnxruntime" not in b):
        scope: dict = {}
        exec(block, scope)  # noqa: S102 - the card's own code, as a reader pastes it
        assert tuple(scope["samples"].shape) == (16, 2), block
    assert "| input | `z` | (batch, 64) | float32 |" in body and "| output | `samples` | (batch, 2) | float32 |" in body
    (tmp_path / "card.toml").write_text(re.search(r"```toml\n(.*?)```", body, re.S).group(1))
    assert read_toml(tmp_path / "card.toml") == info["training_config"]
    assert "| generator | `mlp` |" in body and f"ganzoo {ganzoo.__version__}" in body
    assert info["inputs"] == [{"name": "z", "shape": ["batch", 64], "dtype": "float32",
                               "description": "noise: independent standard normal numbers"}]
    cgan = zoo["cgan"]
    assert cgan["info"]["inputs"][1] == {"name": "labels", "shape": ["batch"], "dtype": "int64", "range": [0, 1],
                                         "description": "the class of each sample"}
    cgan_card = (cgan["out"] / "README.md").read_text()
    assert "Mirza & Osindero 2014" in cgan_card and "torch.arange(16) % 2" in cgan_card  # citation, labels
    assert "own categorical code" in zoo["infogan"]["info"]["inputs"][1]["description"]


def test_a_points_export_samples_and_evaluates_like_its_run(zoo, invoke, tmp_path):
    entry = zoo["mlp"]
    invoke("sample", entry["out"], "-n", "300", "-o", tmp_path / "points.png")
    assert (tmp_path / "points.png").stat().st_size > 1000
    assert ganzoo.evaluate(entry["out"], 200) == ganzoo.evaluate(entry["run"], 200)  # same G, same noise
    line = _one_error(invoke("sample", entry["out"], "--no-ema", "-o", tmp_path / "x.pt", expect=None))
    assert "holds the run's EMA generator only" in line


class _Branchy(nn.Module):
    """A generator whose output depends on a Python decision about its values: torch.export cannot trace it."""

    def __init__(self, latent_dim, data):
        super().__init__()
        self.net = nn.Linear(latent_dim, data.numel)

    def forward(self, z):
        x = self.net(z)
        return x if x.sum() > 0 else -x


class _BranchyPlugin:
    @hookimpl
    def ganzoo_generators(self):
        yield GeneratorSpec(name="branchy", factory=_Branchy, description="branches on its own output (tests)")


def test_a_generator_torch_export_cannot_trace_is_one_line_and_the_other_files_are_written(plugin, invoke,
                                                                                           tmp_path):
    plugin(_BranchyPlugin(), name="branchy-plugin")
    run, out = tmp_path / "run", tmp_path / "out"
    invoke("train", "-g", "branchy", "--steps", "2", "--set", "dataset.n=64", "--sample-every", "0", "-q",
           "--out", run)
    line = _one_error(invoke("export", run, "-o", out, expect=None))
    assert "generator 'branchy' cannot be exported with torch.export" in line and "branching" in line.lower()
    assert "wrote generator.safetensors" in line
    written = {p.name for p in out.iterdir()}
    assert written == {"generator.safetensors", "config.json", "README.md", "samples.png"}
    z = torch.randn(5, 64)
    with torch.no_grad():
        assert torch.allclose(ganzoo.load_generator(out)(z), ganzoo.sample(run, 5, z=z), rtol=0, atol=1e-5)
    card = (out / "README.md").read_text()
    assert "torch.export.load" not in card and "ganzoo.load_generator" in card  # snippets of written files only
    # its plugin gone: one line naming it
    registry_module.default_registry().unregister("branchy-plugin")
    line = _one_error(invoke("sample", out, "-n", "4", "-o", tmp_path / "s.pt", expect=None))
    assert "generator 'branchy' from the in-process plugin 'branchy-plugin', which is not installed" in line


def test_an_export_naming_a_plugin_that_is_not_installed_is_one_line(zoo, invoke, tmp_path):
    import shutil

    folder = tmp_path / "shared"
    shutil.copytree(zoo["cgan"]["out"], folder)
    info = json.loads((folder / "config.json").read_text())
    record = next(c for c in info["components"] if c["slot"] == "generator")
    record.update(name="ring", distribution="ganzoo-ring", version="0.3.1")
    (folder / "config.json").write_text(json.dumps(info))
    line = _one_error(invoke("sample", folder, "-n", "4", "-o", tmp_path / "s.pt", expect=None))
    assert "generator 'ring' from ganzoo-ring 0.3.1, which is not installed; pip install 'ganzoo-ring>=0.3.1'" in line
    with pytest.raises(ganzoo.PluginError, match="ganzoo-ring 0.3.1"):
        ganzoo.load_generator(folder)
    # installed at another version: a warning line, and the weights still load
    record.update(name="cgan", distribution="ganzoo", version="0.0.1")
    (folder / "config.json").write_text(json.dumps(info))
    result = invoke("sample", folder, "-n", "4", "-o", tmp_path / "s.pt")
    assert "exported with generator 'cgan' from ganzoo 0.0.1; ganzoo" in result.stderr


def test_bad_input_is_one_line(zoo, invoke, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    line = _one_error(invoke("export", tmp_path / "empty", "-o", tmp_path / "a", expect=None))
    assert "has no checkpoint" in line
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    run = zoo["mlp"]["run"]
    line = _one_error(invoke("export", run, "-o", taken, expect=None))
    assert "is not empty; pass --force" in line and not (taken / "config.json").exists()
    invoke("export", run, "-o", taken, "--format", "safetensors", "--force")
    assert {p.name for p in taken.iterdir()} == {"notes.txt", "generator.safetensors", "config.json", "README.md",
                                                 "samples.png"}  # the user's file is kept
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("my project")
    line = _one_error(invoke("export", run, "-o", project, "--force", expect=None))
    assert "holds no earlier export, but its README.md would be overwritten" in line
    assert (project / "README.md").read_text() == "my project"
    for args, text in ((["--format", "pt3"], "--format pt3: no such format; did you mean 'pt2'?"),
                       ([], "is an export folder; export the run it was made from")):
        source = zoo["mlp"]["out"] if not args else run
        line = _one_error(invoke("export", source, "-o", tmp_path / "b", *args, expect=None))
        assert text in line
    # a missing optional package: one note by default, one error line when asked for
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    result = invoke("export", run, "-o", tmp_path / "c", "--format", "pt2,safetensors")
    assert "onnx" not in result.stderr  # not asked for: no note
    result = invoke("export", run, "-o", tmp_path / "d")
    assert "ganzoo: note: generator.onnx not written: it needs onnxscript (pip install 'ganzoo[export]')" \
        in result.stderr and (tmp_path / "d" / "generator.pt2").is_file()
    line = _one_error(invoke("export", run, "-o", tmp_path / "e", "--format", "onnx", expect=None))
    assert "--format onnx needs the onnxscript package(s): pip install 'ganzoo[export]'" in line


def test_a_file_that_cannot_be_loaded_back_is_one_line_and_the_others_are_written(zoo, invoke, tmp_path,
                                                                                 monkeypatch):
    import torch

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported program version")

    monkeypatch.setattr(torch.export, "load", broken)
    out = tmp_path / "out"
    line = _one_error(invoke("export", zoo["mlp"]["run"], "-o", out, "--format", "pt2,safetensors", expect=None))
    assert "generator.pt2 was written, but loading it back to check it failed: RuntimeError: unsupported program " \
           "version" in line
    assert {"generator.pt2", "generator.safetensors", "config.json", "README.md"} <= {p.name for p in out.iterdir()}
