"""The command line: version, entry points, listings, and one clear line for each user mistake."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import ganzoo
from ganzoo import GANLoss, LossSpec, hookimpl
from ganzoo.checkpoint import load_checkpoint


def test_version(invoke):
    assert invoke("--version").stdout.strip() == f"ganzoo {ganzoo.__version__}"


def test_python_dash_m_and_console_script():
    env = {**os.environ, "GANZOO_LOAD_PLUGINS": ""}
    out = subprocess.run([sys.executable, "-m", "ganzoo", "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("ganzoo ")


def test_list_json_shows_declared_parameters(invoke):
    listing = json.loads(invoke("list", "--json").stdout)
    assert set(listing) == {"generators", "discriminators", "losses", "datasets"}
    names = {kind: {c["name"] for c in items} for kind, items in listing.items()}
    assert names == {
        "generators": {"mlp", "upconv"}, "discriminators": {"mlp", "maxpool"},
        "losses": {"bce", "nonsaturating"}, "datasets": {"mnist", "parabola", "sine"},
    }
    mlp = next(g for g in listing["generators"] if g["name"] == "mlp")
    hidden = next(p for p in mlp["params"] if p["name"] == "hidden")
    assert hidden == {"name": "hidden", "type": "list[int]", "default": [256, 512, 1024],
                      "help": hidden["help"], "choices": None}
    assert mlp["provider"] == "ganzoo" and mlp["description"]


def test_list_tables_and_one_component(invoke):
    out = invoke("list", "losses").stdout
    assert "nonsaturating" in out and "real_label" in out and "float" in out
    one = json.loads(invoke("list", "generator", "upconv", "--json").stdout)
    assert [g["name"] for g in one["generators"]] == ["upconv"]


def test_plugins_table(invoke):
    out = invoke("plugins").stdout
    assert "mnist" in out and "ok" in out
    as_json = json.loads(invoke("plugins", "--json").stdout)
    assert {p["name"] for p in as_json} == {"mlp", "conv", "losses", "points", "mnist", "metrics"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["list", "generatorz"], "unknown component kind 'generatorz'; did you mean 'generator"),
        (["list", "generators", "mpl"], "unknown generator 'mpl'; did you mean 'mlp'?"),
        (["train", "-g", "mpl"], "unknown generator 'mpl'; did you mean 'mlp'? (see `ganzoo list generators`)"),
        (["train", "-d", "maxpol"], "did you mean 'maxpool'?"),
        (["train", "-l", "nonsaturatin"], "did you mean 'nonsaturating'?"),
        (["train", "--dataset", "parabol"], "did you mean 'parabola'?"),
        (["train", "--set", "generator.hiden=3"], "generator 'mlp' has no parameter 'hiden'; did you mean 'hidden'?"),
        (["train", "--set", "generator.hidden=abc"], "generator.hidden: parameter 'hidden' expects list[int]"),
        (["train", "--set", "loss.real_label=1,2"], "parameter 'real_label' expects float"),
        (["train", "--set", "generatr.hidden=3"], "unknown component kind 'generatr'; did you mean 'generator'"),
        (["train", "--set", "hidden"], "must look like KIND.PARAM=VALUE"),
        (["train", "--steps", "0"], "--steps must be at least 1"),
        (["train", "--steps", "ten"], "--steps: parameter 'steps' expects int"),
        (["train", "--batch-size", "-4"], "--batch-size must be at least 2"),
        (["train", "--d-steps", "0"], "--d-steps must be at least 1"),
        (["train", "--lr-g", "0"], "--lr-g must be a positive learning rate"),
        (["train", "--latent-dim", "0"], "--latent-dim must be at least 1"),
        (["train", "--betas", "0.5"], "--betas must be two numbers"),
        (["train", "--ema", "1.5"], "--ema must be a decay in [0, 1)"),
        (["train", "--device", "tpu"], "unknown device 'tpu'"),
        (["train", "--config", "missing.toml"], "config file missing.toml does not exist"),
        (["train", "--resume", "nowhere"], "run directory nowhere does not exist"),
        (["train", "--bogus"], "No such option '--bogus'"),
        (["sample", "nowhere", "-o", "x.pt"], "run directory nowhere does not exist"),
        (["trian"], "no command 'trian'; did you mean 'train'?"),
    ],
)
def test_user_mistakes_are_one_line(invoke, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, expect=None)
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps = [1, 2", "is not valid TOML"),
        ("stepz = 3", "unknown key 'stepz'; did you mean 'steps'?"),
        ("[generator]\nname = \"mlp\"\nhidden = 5", "expects list[int], got 5"),
        ("[loss]\nname = \"bce\"\nreal_label = [0.9]", "expects float"),
        ("steps = 2.5", "steps' expects int"),
        ("generator = 3", "[generator] must be a table"),
    ],
)
def test_bad_config_files_are_one_line(invoke, text, message, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = invoke("train", "--config", config, "--out", tmp_path / "run", expect=None)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()


def test_missing_mnist_is_one_line(invoke, tmp_path):
    result = invoke("train", "--dataset", "mnist", "--set", f"dataset.root={tmp_path}", "--set",
                    "dataset.download=false", "--out", tmp_path / "run", expect=1)
    assert "MNIST files not found" in result.stderr and "t10k-labels-idx1-ubyte" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_corrupt_checkpoints_are_one_line(invoke, tmp_path, content):
    invoke("train", "--steps", "2", "--set", "dataset.n=64", "--out", tmp_path / "run", "-q")
    (tmp_path / "run" / "checkpoints" / "latest.pt").write_bytes(content)
    result = invoke("train", "--resume", tmp_path / "run", "--steps", "4", expect=1)
    assert "is not a readable ganzoo checkpoint" in result.stderr and result.stderr.count("\n") == 1
    result = invoke("sample", tmp_path / "run", "-o", tmp_path / "s.pt", expect=1)
    assert "is not a readable ganzoo checkpoint" in result.stderr


def test_a_foreign_pickle_is_never_executed(invoke, tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    invoke("train", "--steps", "2", "--set", "dataset.n=64", "--out", tmp_path / "run", "-q")
    torch.save({"format": "ganzoo-checkpoint", "payload": Evil()}, tmp_path / "run" / "checkpoints" / "latest.pt",
               pickle_module=pickle)
    result = invoke("train", "--resume", tmp_path / "run", "--steps", "4", expect=1)
    assert "not a readable ganzoo checkpoint" in result.stderr
    assert not (tmp_path / "pwned").exists()


class ExplodingLoss(GANLoss):
    """A loss that turns NaN after a few steps, like a diverging run."""

    def __init__(self):
        self.calls = 0

    def discriminator_loss(self, real_logits, fake_logits, ctx):
        self.calls += 1
        scale = float("nan") if self.calls > 30 else 1.0
        return (real_logits.mean() - fake_logits.mean()) * scale

    def generator_loss(self, fake_logits, ctx):
        return -fake_logits.mean()


class ExplodingPlugin:
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="explode", factory=ExplodingLoss, description="NaN after 30 steps")


def test_divergence_stops_with_a_clear_message(invoke, plugin, tmp_path):
    plugin(ExplodingPlugin(), name="explode")
    result = invoke("train", "-l", "explode", "--steps", "100", "--log-every", "10", "--checkpoint-every", "20",
                    "--set", "dataset.n=64", "--out", tmp_path / "run", expect=1)
    assert "training diverged by step 40" in result.stderr and "lower learning rates" in result.stderr
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")["step"] == 20  # the last good one


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_a_checkpoint_and_says_how_to_resume(tmp_path, sig, code):
    run = tmp_path / "run"
    env = {**os.environ, "GANZOO_LOAD_PLUGINS": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "train", "--steps", "1000000", "--log-every", "10", "--out", str(run),
         "--set", "dataset.n=256", "--checkpoint-every", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not (run / "metrics.jsonl").is_file():
        time.sleep(0.1)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert f"Resume with: ganzoo train --resume {run}" in stderr
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert ckpt["step"] >= 10


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--seed", str(2**64)], "--seed must be in [0, 2^63 - 1)"),
        (["train", "--batch-size", "1"], "--batch-size must be at least 2"),
        (["train", "--ema", "-0.5"], "--ema must be a decay in [0, 1)"),
        (["train", "--resume", "somewhere", "--out", "elsewhere"], "--out and --resume exclude each other"),
        (["sample", "run", "-o", "x.jpg"], "must end in .png (picture) or .pt (tensor)"),
        (["sample", "run", "-o", "x.pt", "--seed", "-1"], "--seed must be in"),
    ],
)
def test_more_mistakes_are_one_line(invoke, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, expect=None)
    assert result.exit_code != 0 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_a_config_that_is_not_utf8_is_one_line(invoke, tmp_path):
    config = tmp_path / "latin1.toml"
    config.write_bytes("steps = 3 # caf\xe9\n".encode("latin-1"))
    result = invoke("train", "--config", config, expect=1)
    assert result.stderr.count("\n") == 1 and "not UTF-8" in result.stderr


def test_a_non_empty_out_directory_is_refused(invoke, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = invoke("train", "--out", tmp_path, expect=1)
    assert "is not empty" in result.stderr and (tmp_path / "notes.txt").read_text() == "mine"


def test_ema_zero_switches_the_average_off(registry):
    from ganzoo.config import resolve_config

    assert resolve_config(registry, {}).ema == 0.99  # the parabola's suggestion
    assert resolve_config(registry, {"ema": 0.0}).ema is None
