"""``ganzoo new-plugin``: the package it writes installs with ``pip install -e`` and its own test passes unchanged;
bad names and existing folders are refused with one line."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess

import pytest
from helpers.venvs import make_child_venv


def _env() -> dict[str, str]:
    # the test run's GANZOO_* settings keep plugins out; the generated test sets its own
    return {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=_env(), timeout=300, **kwargs)
    assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
    return result


@pytest.mark.slow
def test_generated_package_installs_editable_and_its_test_passes(invoke, tmp_path):
    out = invoke("new-plugin", "ganzoo-tinygan", "--dir", tmp_path).stdout
    package = tmp_path / "ganzoo-tinygan"
    assert f"pip install -e {package}" in out and f"pytest {package}" in out and "ganzoo list" in out
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()) == [
        "README.md", "ganzoo_tinygan/__init__.py", "pyproject.toml", "tests/test_ganzoo_tinygan.py"]

    python = make_child_venv(tmp_path / "venv")  # sees torch and this ganzoo, whatever environment runs the tests
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-e",
         package, cwd=tmp_path)
    result = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", package, cwd=tmp_path)
    # one test per kind (G and D on points and images), discovery and a short training run
    assert "8 passed" in result.stdout, result.stdout[-2000:]


@pytest.mark.slow
def test_every_kind_has_a_template_that_installs_and_trains(invoke, tmp_path):
    """All nine kinds in one package: each template's own test passes, and one run mixes all of them."""
    from ganzoo.cli.scaffold import KINDS

    assert KINDS == ("generator", "discriminator", "loss", "dataset", "optimizer", "augmentation", "regulariser",
                     "constraint", "sampler")
    invoke("new-plugin", "ganzoo-everykind", "--dir", tmp_path, *[a for k in KINDS for a in ("--kind", k)])
    package = tmp_path / "ganzoo-everykind"
    python = make_child_venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-e",
         package, cwd=tmp_path)
    result = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", package, cwd=tmp_path)
    # G and D twice each (points, images), augmentation twice, one each for the other five (the regulariser three:
    # alone, eager and lazy), discovery, a run
    assert "16 passed" in result.stdout, result.stdout[-2000:]
    listing = json.loads(_run(python, "-m", "ganzoo", "list", "--json", cwd=tmp_path).stdout)
    provided = {kind for kind, items in listing.items() for c in items if c["provider"] == "ganzoo-everykind"}
    assert provided == {"generators", "discriminators", "losses", "datasets", "optimizers", "augmentations",
                        "regularisers", "constraints", "samplers"}


def test_one_kind_gives_a_module_with_only_that_hook(invoke, plugin, tmp_path, monkeypatch):
    invoke("new-plugin", "ganzoo-lsq", "--kind", "loss", "--dir", tmp_path)
    package = tmp_path / "ganzoo-lsq"
    source = (package / "ganzoo_lsq" / "__init__.py").read_text()
    tree = ast.parse(source)
    hooks = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("ganzoo_")]
    assert hooks == ["ganzoo_losses"]
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported == {"__future__", "ganzoo"}  # the public API only, and nothing the loss does not need
    ast.parse((package / "tests" / "test_ganzoo_lsq.py").read_text())

    monkeypatch.syspath_prepend(str(package))
    plugin(importlib.import_module("ganzoo_lsq"), name="lsq", dist="ganzoo-lsq", version="0.1.0")
    listing = json.loads(invoke("list", "--json").stdout)
    mine = {kind: [c["name"] for c in items if c["provider"] == "ganzoo-lsq"] for kind, items in listing.items()}
    assert mine == {kind: (["lsq"] if kind == "losses" else []) for kind in listing}


@pytest.mark.parametrize("args, message", [
    (["My_Plugin"], "lower-case letters"),
    (["ganzoo-3d"], "starts with a letter"),
    (["class"], "Python keyword"),
    (["ganzoo-builtins"], "module named 'ganzoo_builtins' is already importable"),
    (["ganzoo-mlp"], "generator 'mlp' already exists"),
    (["mlp"], "generator 'mlp' already exists"),
    (["ganzoo-parabola", "--kind", "dataset"], "dataset 'parabola' already exists"),
    (["ganzoo-x", "--kind", "critic"], "'critic' is not one of"),
])
def test_bad_names_are_refused_with_one_line(invoke, tmp_path, args, message):
    result = invoke("new-plugin", *args, "--dir", tmp_path, expect=None)
    assert result.exit_code != 0
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and message in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a staging folder


def test_an_existing_folder_is_never_overwritten(invoke, tmp_path):
    (tmp_path / "ganzoo-mine").mkdir()
    (tmp_path / "ganzoo-mine" / "keep.txt").write_text("mine")
    result = invoke("new-plugin", "ganzoo-mine", "--dir", tmp_path, expect=1)
    assert "already exists" in result.stderr and "never overwrites" in result.stderr
    assert [p.name for p in (tmp_path / "ganzoo-mine").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ganzoo-mine"]
