"""A real round trip through packaging: pip installs a third-party plugin, ganzoo discovers it by entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixture_plugin"
#: Each test pip-installs the fixture plugin (once per module) and runs ganzoo in subprocesses.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """pip-install the fixture plugin into a private folder that only the subprocesses below put on their path."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(FIXTURE)],
        check=True, cwd=build, capture_output=True,
    )
    return target


def _ganzoo(site: Path, *args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_installed_plugin_is_discovered_and_a_broken_one_is_isolated(installed_plugin, tmp_path):
    result = _ganzoo(installed_plugin, "list", "generators", "--json")
    assert result.returncode == 0, result.stderr
    generators = {g["name"]: g for g in json.loads(result.stdout)["generators"]}
    assert generators["fixture-linear"]["provider"] == "ganzoo-fixture-plugin"
    assert generators["fixture-linear"]["version"] == "0.3.1"
    assert generators["fixture-linear"]["params"] == [
        {"name": "scale", "type": "float", "default": 1.0, "help": "output scale", "choices": None, "range": None}
    ]
    assert "mlp" in generators
    # the broken entry point: one warning line naming it, its distribution and the error
    warning = [line for line in result.stderr.splitlines() if "fixture_broken" in line]
    assert len(warning) == 1
    assert "ganzoo-fixture-plugin 0.3.1" in warning[0] and "ganzoo_fixture_missing_dependency" in warning[0]

    plugins = {p["name"]: p for p in json.loads(_ganzoo(installed_plugin, "plugins", "--json").stdout)}
    assert plugins["fixture"]["status"] == "ok"
    assert plugins["fixture_broken"]["status"] == "error"
    assert "ModuleNotFoundError" in plugins["fixture_broken"]["error"]

    hello = _ganzoo(installed_plugin, "fixture-hello")
    assert hello.returncode == 0 and "hello from ganzoo-fixture-plugin" in hello.stdout

    # the plugin's generator mixes with built-in components in a real (tiny) run
    run = _ganzoo(installed_plugin, "train", "-g", "fixture-linear", "--steps", "20", "--batch-size", "16",
                  "--set", "dataset.n=64", "--out", str(tmp_path / "run"), "--quiet")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()


def test_load_plugins_env_var_selects_distributions(installed_plugin):
    only_builtins = _ganzoo(installed_plugin, "list", "generators", "--json", GANZOO_LOAD_PLUGINS="")
    assert "fixture-linear" not in json.loads(only_builtins.stdout)["generators"].__repr__()
    assert only_builtins.stderr == ""  # the broken plugin is not even imported
    chosen = _ganzoo(installed_plugin, "list", "generators", "--json", GANZOO_LOAD_PLUGINS="ganzoo_fixture_plugin")
    assert "fixture-linear" in [g["name"] for g in json.loads(chosen.stdout)["generators"]]


def test_strict_mode_fails_on_the_broken_plugin(installed_plugin):
    result = _ganzoo(installed_plugin, "list", GANZOO_STRICT_PLUGINS="1")
    assert result.returncode != 0
    assert "ganzoo_fixture_missing_dependency" in result.stderr
