"""The example third-party plugin (examples/ganzoo-ring) as a user meets it: pip installs it into a fresh
environment, ganzoo lists and trains its components next to the built-in ones, pip uninstalls it and it is gone."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from helpers.venvs import make_child_venv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ganzoo-ring"


def _env() -> dict[str, str]:
    """The test's environment without its GANZOO_* settings (they keep plugins out), plus the example's plugin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}
    env["GANZOO_LOAD_PLUGINS"] = "ganzoo-ring"
    return env


def _run(*args, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=_env(), timeout=300, **kwargs)
    if check:
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


@pytest.fixture
def example_env(tmp_path):
    """A venv that sees this environment's torch and ganzoo, with the example pip-installed from a clean copy."""
    source = tmp_path / "ganzoo-ring"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    python = make_child_venv(tmp_path / "venv")  # sees torch and this ganzoo, whatever environment runs the tests
    # pip of the outer environment, run by the venv's python, installs into the venv
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", source,
         cwd=tmp_path)
    return python, source


def _ganzoo_entry_points(python: Path) -> list[str]:
    """What ganzoo's discovery sees: the ``ganzoo`` entry points installed for this interpreter."""
    code = "import importlib.metadata as m; print([e.value for e in m.entry_points(group='ganzoo')])"
    return ast.literal_eval(_run(python, "-c", code).stdout)


@pytest.mark.slow
def test_install_list_train_and_uninstall(example_env, tmp_path):
    python, source = example_env
    listing = json.loads(_run(python, "-m", "ganzoo", "list", "--json").stdout)
    provided = {(kind, c["name"]): (c["provider"], c["version"]) for kind, items in listing.items() for c in items}
    assert provided[("discriminators", "strided")] == ("ganzoo-ring", "0.1.0")
    assert provided[("datasets", "ring")] == ("ganzoo-ring", "0.1.0")
    assert provided[("generators", "mlp")][0] == "ganzoo"  # the built-ins are all still there

    # its dataset with built-in G, D and loss; the dataset's own metric is computed during training
    run = tmp_path / "ring-run"
    _run(python, "-m", "ganzoo", "train", "--dataset", "ring", "-g", "mlp", "-d", "mlp", "-l", "ns",
         "--steps", "40", "--batch-size", "32", "--eval-every", "40", "--eval-samples", "400", "--set",
         "dataset.n=512", "--device", "cpu", "--out", run, "--quiet")
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert 0 <= last["modes_covered"] <= 8 and 0 <= last["high_quality"] <= 1
    assert (run / "samples").is_dir() and list((run / "samples").glob("*.png"))

    # the plugin's own tests pass against the installed package
    _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", source / "tests", cwd=tmp_path)

    assert "ganzoo_ring" in _ganzoo_entry_points(python)
    _run(python, "-m", "pip", "uninstall", "--quiet", "--yes", "ganzoo-ring")
    assert "ganzoo_ring" not in _ganzoo_entry_points(python)
    assert _run(python, "-c", "import ganzoo_ring", check=False, cwd=tmp_path).returncode != 0


@pytest.fixture
def ring_plugin(plugin, monkeypatch):
    """The example registered in-process, imported from its source folder (no install needed)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import ganzoo_ring

    return plugin(ganzoo_ring, name="ring", dist="ganzoo-ring", version="0.1.0")


def test_strided_discriminator_trains_with_builtin_generator_on_mnist(ring_plugin, invoke, tiny_mnist, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("GANZOO_DATA", str(tiny_mnist))
    invoke("train", "-g", "upconv", "-d", "strided", "-l", "bce", "--dataset", "mnist", "--steps", "4",
           "--batch-size", "8", "--set", "generator.fc=64", "--set", "discriminator.channels=8,16,32",
           "--device", "cpu", "--out", tmp_path / "run", "--quiet")
    saved = torch.load(tmp_path / "run" / "checkpoints" / "latest.pt", weights_only=True)
    # three strided convs (8, 16, 32 maps) and the linear head over 32 x 3 x 3 features of a 28x28 digit
    weights = {k: tuple(v.shape) for k, v in saved["discriminator"].items() if k.endswith("weight")}
    assert weights["features.0.weight"] == (8, 1, 4, 4) and weights["head.weight"] == (1, 32 * 3 * 3)


def test_incompatible_mix_names_the_plugin_check(ring_plugin, invoke):
    result = invoke("train", "-d", "strided", "--dataset", "ring", "--steps", "1", expect=None)
    assert result.exit_code != 0
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "strided" in result.stderr and "image" in result.stderr


def test_the_example_uses_only_the_public_api():
    files = sorted(EXAMPLE.glob("**/*.py"))
    assert len(files) >= 4
    for path in files:
        tree = ast.parse(path.read_text())
        private = [n.module for n in ast.walk(tree)
                   if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("ganzoo.")]
        private += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
                    if a.name.startswith("ganzoo.")]
        assert not private, f"{path.relative_to(ROOT)} imports {private}; a plugin may only use `ganzoo`"
