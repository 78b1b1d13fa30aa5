"""The architecture rules that keep built-in plugins honest proofs of the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import ganzoo
from ganzoo.config.toml import read_toml

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_builtin_plugins_import_only_the_public_api():
    files = sorted((ROOT / "plugins" / "ganzoo_builtins").glob("*/**/*.py"))
    assert len(files) >= 20
    for path in files:
        private = [m for m in _imports(path) if m and m.startswith("ganzoo.")]
        assert not private, f"{path.relative_to(ROOT)} imports {private}; plugins may only use `ganzoo`"


def test_public_api_names_exist():
    for name in ganzoo.__all__:
        assert hasattr(ganzoo, name), name


def test_core_knows_no_concrete_component():
    files = sorted((ROOT / "ganzoo").rglob("*.py"))
    assert len(files) >= 30
    for path in files:
        imported = [m for m in _imports(path) if m and m.startswith("ganzoo_builtins")]
        assert not imported, f"{path.relative_to(ROOT)} imports the plugin {imported}"


VARIANTS = {"wgan", "wgan-gp", "clip", "r1", "cgan", "acgan", "ac", "infogan", "projection", "diffaugment",
            "rasgan", "ralsgan", "feature-matching", "hinge", "lsgan", "rmsprop", "sgd", "adamw"}


def test_core_branches_on_no_variant():
    """No ``if loss == "wgan"`` (or ``name in ("r1", ...)``) in ``ganzoo/``: variants change the step through their
    records."""
    for path in sorted((ROOT / "ganzoo").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
                named = VARIANTS.intersection(c for c in constants if isinstance(c, str))
                assert not named, f"{path.relative_to(ROOT)}:{node.lineno} compares with the variant {sorted(named)}"


def test_builtins_are_registered_through_entry_points_under_one_package_name():
    project = read_toml(ROOT / "pyproject.toml")
    entry_points = project["project"]["entry-points"]["ganzoo"]
    builtins = ROOT / "plugins" / "ganzoo_builtins"
    packages = sorted(f"ganzoo_builtins.{p.name}" for p in builtins.iterdir() if (p / "__init__.py").is_file())
    assert sorted(entry_points.values()) == packages and len(packages) >= 19
    # the one top-level module name the built-ins take; nothing else in plugins/
    assert [p.name for p in (ROOT / "plugins").iterdir() if not p.name.endswith((".egg-info", "__pycache__"))] == [
        "ganzoo_builtins"]


def test_ci_runs_the_readme_test_command_in_a_fresh_venv():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("Run the test suite")[1].split("```bash\n")[1].split("\n")[0]
    script = (ROOT / ".ci" / "run").read_text()
    assert command == 'pip install -e ".[test]" && pytest'
    lines = script.rstrip().splitlines()
    assert command in lines and all(line.startswith(("#", "ruff check")) for line in lines[lines.index(command) + 1:])
    assert "python3 -m venv" in script and "activate" in script
