"""Reliability of the data layer (issue 23): faults that are not fatal. Each one loads what can be loaded and says
what it skipped or chose in one line of its own; none hangs, prints a traceback or a raw Python warning. The fatal
ones are rows of the table in test_reliability.py; the 2 GB points file is in test_points_file_limits.py.

Every row builds its fault in real on-disk formats, runs it, and returns (what the user sees, the measured outcome).
``GANZOO_RELIABILITY_REPORT=FILE`` appends "case -> lines" like the fatal table does.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.config.toml import read_toml
from ganzoo.errors import first_line, shorten
from ganzoo.registry import registry as registry_module

TINY = ["--steps", "2", "--set", "dataset.n=64", "--sample-every", "0", "-q"]


@dataclass
class Env:
    tmp: Path
    registry: object
    invoke: object
    capfd: pytest.CaptureFixture
    monkeypatch: pytest.MonkeyPatch

    def load(self, dataset: str, **params):
        spec = self.registry.get("dataset", dataset)
        return spec.load(spec.resolve(params))

    def err(self) -> str:
        return self.capfd.readouterr().err


def _images(folder: Path, n: int, side: int = 12, mode: str = "RGB", prefix: str = "i") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new(mode, (side + i, side), (40 * i) % 256 if mode == "L" else (40 * i % 256, 90, 10)).save(
            folder / f"{prefix}{i}.png")


# -- the rows: build the fault, run it, return (what the user sees, the outcome) ------------------------------------


def link_loops_beside_images(env: Env):
    root = env.tmp / "pics"
    _images(root / "a", 2), _images(root / "b", 2)
    (root / "self").symlink_to(".")
    (root / "a" / "up").symlink_to("..")
    data = env.load("folder", path=str(root), size=8)
    return env.err(), (len(data), data.spec.classes)


def nesting_too_deep(env: Env):
    root = env.tmp / "deep"
    _images(root, 1)
    bottom = root.joinpath(*["d"] * 40)
    _images(bottom, 1, prefix="bottom")
    data = env.load("folder", path=str(root), size=8)
    return env.err(), len(data)


def name_not_utf8(env: Env):
    root = env.tmp / "odd"
    _images(root, 5)
    with open(os.fsencode(root) + b"/caf\xe9-\xff.png", "wb") as f:  # latin-1 bytes, not UTF-8
        Image.new("RGB", (12, 12)).save(f, format="PNG")
    data = env.load("folder", path=str(root), size=8)
    return env.err(), len(data)


def sixteen_bit_png(env: Env):
    root = env.tmp / "deep-grey"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 65536, (32, 32), dtype=np.uint16)).save(root / f"{i}.png")  # mode I;16
    Image.fromarray(rng.integers(0, 65536, (32, 32)).astype(np.int32)).save(root / "3.tif")  # mode I, 16-bit range
    data = env.load("folder", path=str(root))
    mean = float(data.samples.float().mean())
    return env.err(), (data.spec.shape, 122 < mean < 133)  # uniform 0..65535 scaled: 127.5 (clipped, it read 254)


def size_from_the_median(env: Env):
    root = env.tmp / "sizes"
    Image.new("RGB", (4000, 3000), (200, 10, 10)).save(root.mkdir() or root / "0-huge.jpg")  # sorts first
    _images(root, 4, side=24, prefix="small")
    data = env.load("folder", path=str(root))
    return env.err(), data.spec.shape


def size_capped(env: Env):
    _images(env.tmp / "large", 3, side=300, mode="L")
    data = env.load("folder", path=str(env.tmp / "large"))
    return env.err(), data.spec.shape


def huge_images(env: Env):
    """PIL's limits lowered so tiny files stand in for a 100 Mpx and a 200 Mpx photo (the code path is the same)."""
    env.monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    root = env.tmp / "huge"
    _images(root, 3, side=30)  # 900-1,000 px
    Image.new("RGB", (50, 50)).save(root / "over-the-warning.png")  # 2,500 px: decoded, scaled down
    Image.new("RGB", (70, 70)).save(root / "over-the-limit.png")  # 4,900 px: PIL refuses it
    with warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("always")
        data = env.load("folder", path=str(root), size=16)
    assert not [w for w in raw if issubclass(w.category, Image.DecompressionBombWarning)]
    return env.err(), len(data)


def empty_class_folder(env: Env):
    root = env.tmp / "zoo"
    _images(root / "cats", 3), _images(root / "zebra", 3)
    (root / "dogs").mkdir()
    data = env.load("folder", path=str(root), size=8)
    return env.err(), (data.spec.classes, sorted(set(data.labels.tolist())))


def class_folder_without_images(env: Env):
    root = env.tmp / "zoo"
    _images(root / "cats", 3), _images(root / "zebra", 3)
    (root / "dogs").mkdir()
    (root / "dogs" / "readme.txt").write_text("photos to come")
    data = env.load("folder", path=str(root), size=8)
    return env.err(), (data.spec.classes, sorted(set(data.labels.tolist())))


def _table(env: Env) -> Path:
    path = env.tmp / "table.csv"
    path.write_text("x,y,class\n" + "".join(f"{i},{i * i},{i % 2}\n" for i in range(8)))
    return path


def class_column_as_data(env: Env):
    data = env.load("points-file", path=str(_table(env)))
    return env.err(), (data.spec.shape, data.spec.classes)


def class_column_asked_for(env: Env):
    data = env.load("points-file", path=str(_table(env)), label_column="class")
    return env.err(), (data.spec.shape, data.spec.classes)


def toml_with_byte_order_mark(env: Env):
    (env.tmp / "bom.toml").write_bytes("\ufeff# saved by Notepad\nsteps = 2\n".encode())
    result = env.invoke("train", "--config", env.tmp / "bom.toml", *TINY, "--out", env.tmp / "run")
    return result.stderr, read_toml(env.tmp / "run" / "config.toml")["steps"]


def load_plugins_not_installed(env: Env):
    site = env.tmp / "site"
    info = site / "ganzoo_ring-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-ring\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ganzoo]\nring = ganzoo_test_ring\n")
    (site / "ganzoo_test_ring.py").write_text("")
    env.monkeypatch.syspath_prepend(str(site))
    env.monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "ganzoo-rnig")
    registry_module.reset_default_registry()  # read the variable afresh, as a new process would
    result = env.invoke("plugins", "--json")  # in-process: its stderr is the runner's, not the file descriptor's
    plugins = json.loads(result.stdout)
    return result.stderr, sorted(p["status"] for p in plugins if p["distribution"] == "ganzoo-ring")


def run_with_broken_config(env: Env):
    for name in ("good", "broken"):
        env.invoke("train", *TINY, "--out", env.tmp / "runs" / name)
    (env.tmp / "runs" / "broken" / "config.toml").write_text("steps = [2")
    (env.tmp / "runs" / "notes").mkdir()
    (env.tmp / "runs" / "notes" / "config.toml").write_text("not = [a run")  # a user's stray file: no run
    env.err()
    env.monkeypatch.setenv("COLUMNS", "250")
    table = env.invoke("runs", env.tmp / "runs").stdout
    rows = json.loads(env.invoke("runs", env.tmp / "runs", "--json").stdout)
    return table, [(Path(r["path"]).name, (r["error"] or "")[:7]) for r in rows]


@dataclass
class Fault:
    """One fault: the row that makes and runs it, the lines the user must see (each whole on one line), and the
    outcome that proves the rest of the data was used."""

    id: str
    run: Callable[[Env], tuple[str, object]]
    lines: list[str]
    outcome: object


FAULTS = [
    Fault("folder-link-loops", link_loops_beside_images, [
        ("ganzoo: warning: folder {tmp}/pics: skipped 2 symbolic links back to a folder already walked (a loop): "
         "a/up -> .., self -> .")], (4, 2)),
    Fault("folder-too-deep", nesting_too_deep, [
        ("ganzoo: warning: folder {tmp}/deep: skipped 1 folder more than 32 levels deep: d/d/d/d/d/d/d/d/d/d/d/d/d/d/"
         "d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d")], 1),
    Fault("folder-name-not-utf8", name_not_utf8, [
        ("ganzoo: warning: folder {tmp}/odd: skipped 1 name that is not valid UTF-8: 'caf\\xe9-\\xff.png'; rename it "
         "to use it")], 5),
    Fault("folder-16-bit", sixteen_bit_png, [
        ("ganzoo: note: folder {tmp}/deep-grey: decoding its images at 32x32 (the median shorter side of 4 sampled "
         "images); set dataset.size to choose another")], ((1, 32, 32), True)),
    Fault("folder-default-size", size_from_the_median, [
        ("ganzoo: note: folder {tmp}/sizes: decoding its images at 24x24 (the median shorter side of 5 sampled "
         "images)")], (3, 24, 24)),
    Fault("folder-default-size-capped", size_capped, [
        "decoding its images at 256x256 (the median shorter side of 3 sampled images is 300, capped at 256)"],
        (1, 256, 256)),
    Fault("folder-huge-images", huge_images, [
        ("ganzoo: note: 1 of 5 images in folder {tmp}/huge are over 0.002 Mpx (e.g. over-the-warning.png: "
         "0.0025 Mpx); they were decoded and scaled down, slowly: shrink them for faster decoding"),
        ("ganzoo: warning: skipped 1 of 5 files in folder {tmp}/huge that are not readable images: over-the-limit.png "
         "(too large: over PIL's limit of 0.004 Mpx; shrink it to use it)")], 4),
    Fault("folder-empty-class", empty_class_folder, [
        ("ganzoo: warning: folder {tmp}/zoo: class folder 'dogs' holds no files, so it is no class; labels: cats=0, "
         "zebra=1")], (2, [0, 1])),
    Fault("folder-class-without-images", class_folder_without_images, [
        ("ganzoo: warning: skipped 1 of 7 files in folder {tmp}/zoo that are not readable images: dogs/readme.txt "
         "(not an image)"),
        ("ganzoo: warning: folder {tmp}/zoo: class folder 'dogs' holds no readable image; labels: cats=0, "
         "dogs=(no images), zebra=2")], (3, [0, 2])),
    Fault("points-file-class-column", class_column_as_data, [
        ("ganzoo: note: dataset 'points-file': {tmp}/table.csv: column 'class' is used as data, one of 3 dimensions; "
         "to use it as class labels, set dataset.label_column=class")], ((3,), None)),
    Fault("points-file-class-column-asked", class_column_asked_for, [], ((2,), 2)),
    Fault("config-byte-order-mark", toml_with_byte_order_mark, [], 2),
    Fault("load-plugins-not-installed", load_plugins_not_installed, [
        ("ganzoo: warning: GANZOO_LOAD_PLUGINS names 'ganzoo-rnig', but no installed distribution provides ganzoo "
         "plugins by that name; did you mean 'ganzoo-ring'?")], ["skipped"]),
    Fault("runs-broken-config", run_with_broken_config, [
        "broken: config file config.toml is not valid TOML: Unclosed array (at end of document)"],
        [("broken", "broken:"), ("good", "")]),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_every_data_fault_is_one_line_and_the_rest_loads(fault, registry, invoke, capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    seen, outcome = fault.run(Env(tmp_path, registry, invoke, capfd, monkeypatch))
    lines = seen.splitlines()
    if os.environ.get("GANZOO_RELIABILITY_REPORT"):
        with open(os.environ["GANZOO_RELIABILITY_REPORT"], "a") as report:
            report.write(f"{fault.id} -> {' | '.join(line for line in lines if line.startswith('ganzoo:'))}\n")
    assert "Traceback" not in seen and "Warning:" not in seen, seen  # no raw Python warning (PIL's among them)
    for expected in fault.lines:
        expected = expected.format(tmp=tmp_path)
        assert sum(expected in line for line in lines) == 1, (expected, seen)
    said = [line for line in lines if line.startswith("ganzoo: ")]
    assert all(any(e.format(tmp=tmp_path) in line for e in fault.lines) for line in said), seen  # nothing else
    assert outcome == fault.outcome


def test_messages_are_cut_at_a_word_and_never_empty():
    text = "the cache holds 4000 pixels per side, far more than the median of the folder's images"
    cut = shorten(text, 40)
    assert cut == "the cache holds 4000 pixels per side…" and len(cut) <= 40
    assert text.startswith(cut[:-1]) and text[len(cut) - 1] in " ,"  # ends where a word ended
    assert first_line(RuntimeError("")) == "RuntimeError"
    torchvision_like = RuntimeError("Error downloading x.gz:\nTried https://a/, got:\n<urlopen error refused>\n")
    assert first_line(torchvision_like) == "Error downloading x.gz: <urlopen error refused>"
    assert first_line(RuntimeError("Error downloading x.gz:\nTried https://a/, got:\n\n")) == \
        "Error downloading x.gz: RuntimeError"
