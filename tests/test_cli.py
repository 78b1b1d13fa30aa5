"""The command line: version, entry points and listings (every user mistake is in tests/test_reliability.py)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import pytest

import ganzoo
from ganzoo import GeneratorSpec
from ganzoo.registry.kinds import COMPONENT_KINDS


def test_version(invoke):
    assert invoke("--version").stdout.strip() == f"ganzoo {ganzoo.__version__}"


@pytest.mark.slow
def test_python_dash_m_and_console_script():
    env = {**os.environ, "GANZOO_LOAD_PLUGINS": ""}
    out = subprocess.run([sys.executable, "-m", "ganzoo", "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("ganzoo ")


def test_list_json_shows_declared_parameters(invoke):
    listing = json.loads(invoke("list", "--json").stdout)
    names = {kind: {c["name"] for c in items} for kind, items in listing.items()}
    assert names == {
        "generators": {"mlp", "upconv", "cgan", "infogan", "dcgan", "cdcgan"},
        "discriminators": {"mlp", "maxpool", "cgan", "projection", "acgan", "infogan", "dcgan", "cdcgan",
                           "dcgan-projection", "dcgan-acgan"},
        "losses": {"bce", "nonsaturating", "lsgan", "hinge", "wgan-gp", "wgan", "rasgan", "ralsgan", "rpgan", "topk",
                   "feature-matching"},
        "datasets": {"mnist", "fashion-mnist", "kmnist", "cifar10", "cifar100", "celeba", "folder", "torchvision",
                     "points-file", "parabola", "sine"},
        "optimizers": {"adam", "adamw", "rmsprop", "sgd"},
        "augmentations": {"diffaugment", "ada"},
        "regularisers": {"r1", "r2", "ac", "infogan", "feature-matching", "lecam", "mode-seeking", "orthogonal",
                         "bcr", "zcr"},
        "constraints": {"clip"},
        "reporters": {"tensorboard", "mlflow"},
        "samplers": {"truncation", "rejection", "interpolate"},
        "engines": {"local", "ray"},
    }
    clip = listing["constraints"][0]
    assert clip["suggested"] == {"opt": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "d_steps": 5}
    assert clip["traits"]["player"] == "discriminator" and "Arjovsky" in clip["traits"]["citation"]
    r1 = next(r for r in listing["regularisers"] if r["name"] == "r1")
    assert [(p["name"], p["default"]) for p in r1["params"]] == [("weight", 10.0), ("every", 16)]
    mlp = next(g for g in listing["generators"] if g["name"] == "mlp")
    hidden = next(p for p in mlp["params"] if p["name"] == "hidden")
    assert hidden == {"name": "hidden", "type": "list[int]", "default": [256, 512, 1024],
                      "help": hidden["help"], "choices": None, "range": ">= 1"}
    assert mlp["provider"] == "ganzoo" and mlp["description"]


def test_list_tables_and_one_component(invoke):
    out = invoke("list", "losses").stdout
    assert "nonsaturating" in out and "real_label" in out and "float" in out
    gp = json.loads(invoke("list", "losses", "wgan-gp", "--json").stdout)["losses"][0]
    assert gp["suggested"] == {"d_steps": 5, "opt": {"betas": [0.0, 0.9]}} and "Gulrajani" in gp["traits"]["citation"]
    assert "suggests: d_steps=5" in invoke("list", "losses", "wgan-gp").stdout
    one = json.loads(invoke("list", "generator", "upconv", "--json").stdout)
    assert [g["name"] for g in one["generators"]] == ["upconv"]


def test_list_shows_each_parameters_range(invoke, monkeypatch):
    """The bounds a component declares are what `ganzoo list` prints beside each parameter."""
    monkeypatch.setenv("COLUMNS", "250")  # one parameter a line, unwrapped
    generators = invoke("list", "generators").stdout
    assert "hidden: list[int] = 256,512,1024, >= 1: widths" in generators  # mlp's
    assert "categories: int = 10, >= 2: values" in generators  # infogan's
    assert "dropout: float = 0, in [0, 1): dropout" in invoke("list", "discriminators", "mlp").stdout
    assert "real_label: float = 1, in [0, 1]: D's" in invoke("list", "losses", "bce").stdout
    assert "(type = default, range: help)" in generators


def test_list_says_which_components_are_aliases_of_shared_code(invoke, registry, monkeypatch):
    """Built-ins that only rename shared code (one loader on other files) say so, in the table and the JSON; every
    group of built-in records of one kind built by the same code has at most one that is not marked an alias."""
    monkeypatch.setenv("COLUMNS", "250")
    assert "alias of mnist, reading torchvision's KMNIST files" in invoke("list", "datasets", "kmnist").stdout
    listing = json.loads(invoke("list", "datasets", "--json").stdout)["datasets"]
    aliases = {d["name"]: d["traits"].get("alias_of") for d in listing}
    assert aliases["fashion-mnist"].startswith("mnist, ") and aliases["cifar100"].startswith("cifar10, ")
    assert aliases["mnist"] is None and aliases["parabola"] is None  # its own code: no trait at all
    shared = collections.defaultdict(list)
    for plural in COMPONENT_KINDS:
        for provided in registry.components(plural):
            factory = provided.spec.factory
            shared[plural, factory.__module__, factory.__qualname__].append(provided.spec)
    for (plural, module, name), specs in shared.items():
        unmarked = [s.name for s in specs if not s.alias_of]
        assert len(unmarked) <= 1, f"{plural} {unmarked} are built by {module}.{name}: mark all but one alias_of"
    with pytest.raises(ValueError, match="alias_of must be one line"):
        GeneratorSpec(name="x", factory=dict, description="x.", alias_of="mlp\nwith more")


def test_plugins_table(invoke):
    out = invoke("plugins").stdout
    assert "mnist" in out and "ok" in out
    as_json = json.loads(invoke("plugins", "--json").stdout)
    assert {p["name"] for p in as_json} == {
        "mlp", "conv", "losses", "optim", "points", "mnist", "metrics", "recipes", "cgan", "acgan", "projection",
        "infogan", "wgan", "r1", "relativistic", "diffaugment", "feature_matching", "tensorboard", "mlflow",
        "images", "points_file", "dcgan", "defaults", "lecam", "mode_seeking", "orthogonal", "consistency",
        "samplers", "ada", "topk", "engines"}


def test_ema_zero_switches_the_average_off(registry):
    from ganzoo.config import resolve_config

    assert resolve_config(registry, {}).ema == 0.99  # the point defaults
    assert resolve_config(registry, {"ema": 0.0}).ema is None
