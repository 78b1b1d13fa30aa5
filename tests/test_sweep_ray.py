"""``ganzoo sweep --engine ray`` (issue 26) on a local Ray that the test starts; skipped where ray is not installed
(``pip install 'ganzoo[ray]'``)."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_the_ray_engine_runs_each_member_as_a_task_and_the_board_ranks_them(invoke, tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        sweep = tmp_path / "sweep"
        # test_sweep.py's ranking at its length (curve error after 700 steps, D at lr 1e-3: 0.25-0.38 at lr 1e-3,
        # seeds 0-13, against 2.7-2.9 at 1e-7)
        result = invoke("sweep", "--engine", "ray", "--lr-g", "1e-7,1e-3", "--lr-d", "1e-3", "--steps", "700",
                        "--batch-size", "64", "--set", "dataset.n=256", "--sample-every", "0", "--eval-samples",
                        "1000", "--out", sweep)
        assert "engine ray" in result.stdout + result.stderr
    finally:
        ray.shutdown()
    board = json.loads(invoke("sweep", "show", sweep, "--json").stdout)
    best, worst = board["configurations"]
    assert best["label"] == "lr_g=0.001" and best["done"] == worst["done"] == 1
    assert best["metrics"]["curve_error"]["mean"] < 0.25 * worst["metrics"]["curve_error"]["mean"]
    assert all((sweep / "members" / name / "checkpoints" / "latest.pt").is_file()
               for c in board["configurations"] for name in c["members"])
