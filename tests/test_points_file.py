"""The points-file dataset: every format gives the same numbers, columns and labels come by name or index, and
every bad file fails with one line that names the file (and, for its content, the line and the column)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ganzoo_builtins import points_file

import ganzoo
from ganzoo import DataSpec

POINTS = [[0.5, -1.0], [1.5, 2.0], [-2.25, 3.0], [4.0, 0.125]]
LABELS = [0, 2, 1, 2]


def _load(registry, **params):
    spec = registry.get("dataset", "points-file")
    return spec.load(spec.resolve(params))


def _rows(sep: str) -> str:
    return "".join(sep.join(map(str, row)) + "\n" for row in POINTS)


@pytest.fixture
def files(tmp_path):
    """The same four points in every format; the .pt dict also holds labels."""
    (tmp_path / "plain.csv").write_text(_rows(","))
    (tmp_path / "header.csv").write_text("\ufeffx,y\n" + _rows(", "))  # a spreadsheet's byte-order mark
    (tmp_path / "tabs.tsv").write_text("x\ty\n" + _rows("\t"))
    (tmp_path / "spaces.txt").write_text("# x y, from np.savetxt\n\n" + _rows("   "))
    (tmp_path / "commas.txt").write_text(_rows(","))
    np.save(tmp_path / "array.npy", np.array(POINTS))
    torch.save(torch.tensor(POINTS), tmp_path / "tensor.pt")
    torch.save({"points": torch.tensor(POINTS), "labels": torch.tensor(LABELS)}, tmp_path / "dict.pt")
    return tmp_path


@pytest.mark.parametrize("name", ["plain.csv", "header.csv", "tabs.tsv", "spaces.txt", "commas.txt", "array.npy",
                                  "tensor.pt", "dict.pt"])
def test_every_format_loads_the_same_points(registry, files, name):
    data = _load(registry, path=str(files / name))
    assert len(data) == 4 and data.spec.kind == "points" and data.spec.shape == (2,)
    assert torch.allclose(data.to_data(data.samples), torch.tensor(POINTS), atol=1e-6)
    assert data.samples.mean(0).abs().max() < 1e-5  # standardised for training
    if name == "dict.pt":
        assert data.labels.tolist() == LABELS and data.spec.classes == 3
    else:
        assert data.labels is None and data.spec.classes is None
    spec = registry.get("dataset", "points-file")
    assert spec.data_spec(spec.resolve({"path": str(files / name)})) == data.spec


@pytest.fixture
def table(tmp_path):
    """A header, a text column that is never used, two coordinates and a class."""
    rows = "".join(f"p{i},{x},{y},{c}\n" for i, ((x, y), c) in enumerate(zip(POINTS, LABELS)))
    path = tmp_path / "table.csv"
    path.write_text("name,x,y,class\n" + rows)
    return str(path)


def test_columns_by_name_or_index_and_a_label_column(registry, table):
    by_name = _load(registry, path=table, columns=["y", "x"], label_column="class")
    by_index = _load(registry, path=table, columns=["2", "1"], label_column="3")
    swapped = torch.tensor(POINTS).flip(1)
    for data in (by_name, by_index):
        assert data.spec == DataSpec("points", (2,), classes=3) and data.labels.tolist() == LABELS
        assert torch.allclose(data.to_data(data.samples), swapped, atol=1e-6)
    one = _load(registry, path=table, columns=["x"], limit=3)
    assert one.spec.shape == (1,) and one.to_data(one.samples)[:, 0].tolist() == pytest.approx([0.5, 1.5, -2.25])
    spec = registry.get("dataset", "points-file")
    assert spec.data_spec(spec.resolve({"path": table, "columns": ["x", "y"], "label_column": "class"})) == \
        DataSpec("points", (2,), classes=3)


def test_labels_are_class_indices_as_written(registry, tmp_path):
    """Labels 1 and 3 stay 1 and 3 (so `ganzoo sample --label 3` draws the file's class 3): 4 classes."""
    path = tmp_path / "labels.tsv"
    path.write_text("".join(f"{c}\t{x}\t{y}\n" for (x, y), c in zip(POINTS, [1, 3, 3, 1])))
    data = _load(registry, path=str(path), label_column="0")
    assert data.labels.tolist() == [1, 3, 3, 1] and data.spec.classes == 4 and data.spec.shape == (2,)
    assert torch.allclose(data.to_data(data.samples), torch.tensor(POINTS), atol=1e-6)


def test_a_conditional_generator_trains_on_the_labels_through_the_cli(invoke, table, tmp_path):
    run = tmp_path / "run"
    invoke("train", "--dataset", "points-file", "--set", f"dataset.path={table}", "--set", "dataset.columns=x,y",
           "--set", "dataset.label_column=class", "-g", "cgan", "--steps", "2", "--batch-size", "4",
           "--sample-every", "0", "--checkpoint-every", "0", "-q", "--out", run)
    assert "points-file" in (run / "config.toml").read_text()
    unlabelled = invoke("train", "--dataset", "points-file", "--set", f"dataset.path={table}", "--set",
                        "dataset.columns=x,y", "-g", "cgan", "--steps", "1", "--out", tmp_path / "never", expect=1)
    assert "it needs a labelled dataset" in unlabelled.stderr and not (tmp_path / "never").exists()


def test_the_file_is_parsed_once_per_process_and_again_when_it_changes(registry, tmp_path, monkeypatch):
    calls = []
    loadtxt = np.loadtxt
    monkeypatch.setattr(np, "loadtxt", lambda *a, **k: calls.append(1) or loadtxt(*a, **k))
    path = tmp_path / "cached.csv"
    path.write_text(_rows(","))
    spec = registry.get("dataset", "points-file")
    params = spec.resolve({"path": str(path)})
    spec.data_spec(params), spec.load(params), spec.load(params)
    assert len(calls) == 1
    path.write_text(_rows(",") + "7,8\n")
    assert len(spec.load(params)) == 5 and len(calls) == 2


def test_a_large_clean_file_takes_numpys_path_and_a_bad_one_names_its_line(registry, tmp_path, monkeypatch):
    rows = np.random.default_rng(0).normal(size=(100_000, 2))
    path = tmp_path / "large.csv"
    path.write_text("x,y\n" + "".join(f"{x:.5f},{y:.5f}\n" for x, y in rows))
    with monkeypatch.context() as patch:
        def scanned(*a):
            pytest.fail("a clean file was scanned line by line")

        patch.setattr(points_file.text.TextFile, "_scan", scanned)
        assert len(_load(registry, path=str(path))) == 100_000
    with path.open("a") as f:
        f.write("1.0,-inf\n")
    with pytest.raises(ganzoo.DatasetError, match=r"line 100002, column 2 \('y'\): '-inf' is not a finite"):
        _load(registry, path=str(path))


# (file name, its content, other parameters, what the one error line must say)
BAD = [
    ("ragged.csv", "x,y\n1,2\n3,4,5\n", {}, "line 3 has 3 fields where the header (line 1) has 2"),
    ("short.csv", "x,y,z\n1,2,3\n4,5\n", {"columns": ["x"]}, "line 3 has 2 fields where the header (line 1) has 3"),
    ("text.csv", "x,y\n1,2\n\n3,abc\n", {}, "line 4, column 2 ('y'): 'abc' is not a number"),
    ("gap.tsv", "1\t2\n3\t\n", {}, "line 2, column 2: an empty value"),
    ("nan.txt", "# a comment\n1 2\n3 nan\n", {}, "line 3, column 2: 'nan' is not a finite number"),
    ("inf.csv", "1,2\n3,inf\n", {}, "line 2, column 2: 'inf' is not a finite number"),
    ("huge.csv", "1,2\n1e39,3\n", {}, "line 2, column 1: '1e39' is too large for float32"),
    ("mixed.csv", "x,1\n2,3\n", {}, "line 1, column 1: 'x' is not a number; a header row holds names only"),
    ("empty.csv", "", {}, "the file is empty"),
    ("comments.txt", "# nothing\n\n", {}, "the file is empty"),
    ("header.csv", "x,y\n", {}, "has no rows of numbers below its header"),
    ("single.csv", "x,y\n1,2\n", {}, "has only 1 point; a GAN needs at least 2"),
    ("fraction.csv", "x,c\n1,0\n2,1.5\n", {"label_column": "c"}, "line 3, column 2 ('c'): label '1.5' is not a class"),
    ("negative.csv", "x,c\n1,0\n2,-1\n", {"label_column": "c"}, "line 3, column 2 ('c'): label '-1' is not a class"),
    ("vector.npy", np.arange(3.0), {}, "holds an array of shape (3,); it must be (N, D)"),
    ("cube.pt", torch.zeros(2, 2, 2), {}, "holds an array of shape (2, 2, 2)"),
    ("nan.npy", np.array([[1.0, 2.0], [3.0, np.nan]]), {}, "row 2, column 2: 'nan' is not a finite number"),
    ("nolabels.pt", {"x": torch.zeros(2, 2)}, {}, "holds a dict without 'points' (keys: x)"),
    ("badlabels.pt", {"points": torch.zeros(2, 2), "labels": torch.tensor([0, -3])}, {},
     "row 2 of 'labels': label '-3' is not a class index"),
    ("latin1.csv", b"x,y\n1,2\n\xe9,3\n", {}, "not UTF-8 text"),
    ("points.json", "[[1, 2], [3, 4]]", {}, "unknown extension '.json'; use .csv, .tsv, .txt, .npy or .pt"),
    ("missing.csv", None, {}, "no such file"),
    ("folder.csv", "dir", {}, "is a folder"),
    ("names.csv", "x,y,label\n1,2,0\n3,4,1\n", {"label_column": "lable"},
     "label_column: no column 'lable'; did you mean 'label'? (its columns: x, y, label)"),
    ("nonames.csv", "1,2\n3,4\n", {"columns": ["x"]}, "no column 'x'; it has no header row"),
    ("narrow.csv", "1,2\n3,4\n", {"label_column": "2"}, "label_column: column index 2 is out of range"),
]


def _write(path, content):
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, (torch.Tensor, dict)):
        torch.save(content, path)
    elif content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)


@pytest.mark.parametrize("name, content, params, expected", BAD, ids=[case[0] for case in BAD])
def test_a_bad_file_fails_with_one_line_naming_the_file_row_and_column(invoke, tmp_path, name, content, params,
                                                                        expected):
    path = tmp_path / name
    _write(path, content)
    sets = [f"dataset.{key}={','.join(value) if isinstance(value, list) else value}" for key, value in params.items()]
    args = [arg for item in sets for arg in ("--set", item)]
    result = invoke("train", "--dataset", "points-file", "--set", f"dataset.path={path}", *args, "--steps", "1",
                    "--out", tmp_path / "never", expect=1)
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line, result.stderr
    assert line.startswith("error: dataset 'points-file': ") and str(path) in line and expected in line, line
    assert not (tmp_path / "never").exists()


def test_the_path_is_required(invoke):
    line = invoke("train", "--dataset", "points-file", "--steps", "1", expect=1).stderr.strip()
    assert line == ("error: dataset 'points-file': set the file to load with --set dataset.path=FILE "
                    "(.csv, .tsv, .txt, .npy or .pt)")


def test_ganzoo_list_shows_it_with_its_parameters(invoke):
    assert "points-file" in invoke("list", "datasets").stdout
    (record,) = [d for d in json.loads(invoke("list", "datasets", "--json").stdout)["datasets"]
                 if d["name"] == "points-file"]
    assert [p["name"] for p in record["params"]] == ["path", "columns", "label_column", "limit"]
    assert not record["suggested"]


@pytest.mark.slow
def test_the_point_defaults_cover_every_mode_of_the_8_gaussian_ring(invoke, tmp_path):
    """The classic mode-collapse test: 8 Gaussians of std 0.02 on a circle of radius 2, written as a CSV. On the
    point defaults (a 2-D latent, R1 and a ReLU generator, chosen with benchmarks/point_suite.py) a shortened run
    covers all 8 modes (PacGAN's rule), where the defaults before them (a 64-D latent, no R1) covered 1."""
    from helpers.mixtures import RING, mixture, modes, ring_centres
    from helpers.moons import write_csv

    path = write_csv(tmp_path / "ring.csv", mixture(ring_centres(), RING["std"], n=4000))
    invoke("train", "--dataset", "points-file", "--set", f"dataset.path={path}", "--steps", "3000", "--out",
           tmp_path / "run", "-q")
    got = modes(ganzoo.sample(tmp_path / "run", 4000, seed=1), ring_centres(), RING["std"])
    assert got["modes"] == 8 and got["good"] > 0.5, got  # measured: 8 modes, 76% within 3 std (64-D z: 1, 5%)


@pytest.mark.slow
def test_a_two_moons_csv_learns_both_moons_on_the_point_defaults(invoke, tmp_path):
    """The defaults every point dataset gets (the built-in `defaults` plugin), shortened to keep the suite fast:
    benchmarks/quality.py --only points runs the full default length."""
    from helpers.moons import moon_shares, two_moons, write_csv

    path = write_csv(tmp_path / "moons.csv", two_moons())
    invoke("train", "--dataset", "points-file", "--set", f"dataset.path={path}", "--steps", "1500", "--out",
           tmp_path / "run", "-q")
    config = (tmp_path / "run" / "config.toml").read_text()
    assert "batch_size = 128" in config and "ema = 0.99" in config  # the point defaults reached a file dataset
    upper, lower, neither = moon_shares(ganzoo.sample(tmp_path / "run", 2000, seed=1))
    assert upper > 0.25 and lower > 0.25 and neither < 0.25, (upper, lower, neither)  # one moon alone: < 0.1
