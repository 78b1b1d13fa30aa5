"""A points file's size cannot take the machine's memory: a 2 GB sparse text file (a header, then zero bytes; it
takes no disk) once made ganzoo read 21.5 GB over 86 s. Now it fails in seconds with a true line, and the process's
peak memory hardly moves; each case runs in a fresh process so its peak (ru_maxrss) is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ganzoo_builtins.points_file.text import MAX_LINE, MAX_TEXT_BYTES

ROOT = Path(__file__).resolve().parent.parent

#: Loads a points file through the registry (as `ganzoo train` does) and reports the error, the time taken and the
#: peak memory before and after: the imports (torch: about 0.5 GB) are the same for every case, so the growth of the
#: peak is what the file cost.
PROBE = textwrap.dedent("""
    import json, resource, sys, time
    from ganzoo import GanzooError
    from ganzoo.registry.registry import default_registry

    spec = default_registry().get("dataset", "points-file")
    params = spec.resolve({"path": sys.argv[1]})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        spec.load(params)
        error = None
    except GanzooError as err:
        error = str(err)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    growth = (after - before) / 1024
    print(json.dumps({"error": error, "seconds": seconds, "peak_mb": after / 1024, "growth_mb": growth}))
""")


def _probe(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}", "GANZOO_LOAD_PLUGINS": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.write(b"x,y\n")
        f.truncate(size)  # a hole: no disk blocks, reads as zero bytes
    return path


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_a_2_gb_sparse_file_is_refused_in_seconds_in_bounded_memory(tmp_path, suffix):
    path = _sparse(tmp_path / f"huge{suffix}", 2 * 2**30)
    result = _probe(path)
    print(f"{path.name}: {result}")  # the numbers quoted in the report (pytest -s)
    assert result["error"] == (f"dataset 'points-file': {path}: is 2.0 GB, over the 1.0 GB limit for text files; "
                               f"save the points with numpy.save and give the .npy, which loads without parsing")
    assert result["seconds"] < 2 and result["growth_mb"] < 50, result  # before: 86 s and 21.5 GB


@pytest.mark.slow
def test_under_the_size_limit_a_file_of_zero_bytes_is_found_in_one_streaming_pass(tmp_path):
    path = _sparse(tmp_path / "sparse.csv", 200 * 2**20)
    assert path.stat().st_size < MAX_TEXT_BYTES
    result = _probe(path)
    print(f"{path.name}: {result}")
    assert result["error"].endswith(f"{path}: holds a zero byte at byte 4 (line 2), so it is binary (or UTF-16) "
                                    f"data, not UTF-8 text; save it as text, or use .npy or .pt")
    assert result["seconds"] < 2 and result["growth_mb"] < 50, result


@pytest.mark.slow
def test_a_line_of_megabytes_is_no_row_of_numbers(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_text("x,y\n1,2\n" + "3," * MAX_LINE + "4\n")  # no zero byte, no line break: 2 MB in one "row"
    result = _probe(path)
    assert result["error"].endswith(f"{path}: line 3 is over 1 MB long; rows of numbers are short lines: is it a "
                                    f"text file of points?")
    assert result["growth_mb"] < 50, result
