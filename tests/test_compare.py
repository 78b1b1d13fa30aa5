"""``ganzoo runs`` and ``ganzoo compare``: reading run directories back, side by side."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageColor

import ganzoo
from ganzoo.run.plot import PALETTE

TINY = {"steps": 20, "log_every": 5, "sample_every": 10, "checkpoint_every": 0, "batch_size": 16,
        "set": ["dataset.n=128", "generator.hidden=16", "discriminator.hidden=16"]}


@pytest.fixture
def two_runs(tmp_path):
    root = tmp_path / "runs"
    ganzoo.train(out=root / "slow-d", lr_d=1e-4, **TINY)
    ganzoo.train(out=root / "nested" / "fast-d", lr_d=1e-3, recipe="parabola-best", **TINY)
    (root / "notes").mkdir()
    (root / "notes" / "config.toml").write_text("not = [valid toml")  # a stray file is not a run
    return root


@pytest.mark.slow
def test_runs_lists_every_run_directory(invoke, two_runs, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wrap at the terminal width
    runs = json.loads(invoke("runs", two_runs, "--json").stdout)
    assert [r["path"].removeprefix(str(two_runs)) for r in runs] == ["/nested/fast-d", "/slow-d"]
    for run in runs:
        assert run["step"] == run["steps"] == 20 and run["seconds"] > 0
        assert run["combination"] == "mlp / mlp / nonsaturating / parabola"
        assert set(run["final"]) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert [r["recipe"] for r in runs] == ["parabola-best", None]
    table = invoke("runs", two_runs).stdout
    assert "slow-d" in table and "recipe parabola-best" in table
    assert "no runs under" in invoke("runs", two_runs / "notes").stdout


def test_compare_prints_differences_and_metrics_and_writes_one_png(invoke, two_runs, tmp_path):
    a, b = two_runs / "slow-d", two_runs / "nested" / "fast-d"
    out = tmp_path / "ab.png"
    report = json.loads(invoke("compare", a, b, "-o", out, "--json").stdout)
    assert report["differences"]["lr_d"] == [1e-4, 1e-3]
    assert report["differences"]["recipe"] == [None, "parabola-best"]
    assert "steps" not in report["differences"] and "generator.hidden" not in report["differences"]
    finals = [json.loads((run / "metrics.jsonl").read_text().splitlines()[-1]) for run in (a, b)]
    assert report["metrics"]["d_loss"] == [f["d_loss"] for f in finals]
    with Image.open(out) as image:
        picture = image.convert("RGB")
    width, height = picture.size
    assert width >= 640 and height >= 600
    top, bottom = picture.crop((0, 0, width, height * 4 // 10)), picture.crop((0, height // 2, width, height))
    for half in (top.crop((0, 0, width // 2, top.height)), top.crop((width // 2, 0, width, top.height))):
        assert len(half.getcolors(1 << 20)) > 50  # each run's latest sample (a scatter plot) in its own panel
    curves = {color for _, color in bottom.getcolors(1 << 20)}
    assert {ImageColor.getrgb(c) for c in PALETTE[:4]} <= curves  # D and G curves of both runs
    text = invoke("compare", a, b, "-o", out).stdout
    assert "settings that differ" in text and "lr_d" in text and f"wrote {out}" in text


def test_compare_refuses_what_is_not_a_run(invoke, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text('steps = 5\n[generator]\nname = "mlp"\n')  # a run that logged nothing yet
    cases = [
        ((run, tmp_path), "is not a ganzoo run directory (it has no config.toml)"),
        ((run, tmp_path / "missing"), "is not a directory"),
        ((run,), "compare needs at least two run directories, got 1"),
        ((run, run, "-o", tmp_path / "x.jpg"), "give a file name ending in .png"),
    ]
    for args, message in cases:
        result = invoke("compare", *args, expect=1)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    invoke("compare", run, run, "-o", tmp_path / "same.png")
    assert (tmp_path / "same.png").is_file()
    result = invoke("runs", tmp_path / "missing", expect=1)
    assert "is not a directory" in result.stderr
