"""``ganzoo sweep`` (issue 26): a plan from flags listing alternatives and from a sweep file, members that are
ordinary run directories, a leaderboard over seeds that ranks what learned first, a second run that resumes, a
member that diverges or fails alone, a plan that cannot run refused before anything trains, engines as plugins."""

from __future__ import annotations

import json
import statistics

import pytest
import torch
from helpers.engines import InlineEngine

import ganzoo
from ganzoo import EngineSpec, GANLoss, LossSpec, hookimpl
from ganzoo.errors import ConfigError
from ganzoo.sweep.plan import alternatives, draw_random, members, read_sweep_file, value_of
from ganzoo.sweep.store import SweepDir

POINTS = ["--set", "dataset.n=256", "--batch-size", "32", "--sample-every", "0", "--log-every", "50",
          "--eval-samples", "1000"]


def _board(invoke, sweep) -> dict:
    return json.loads(invoke("sweep", "show", sweep, "--json").stdout)


# -- the plan -------------------------------------------------------------------------------------------------------

def test_alternatives_split_on_commas_except_where_a_parameter_takes_a_list(registry):
    assert alternatives("lr_d", "1e-4,2e-4,4e-4", registry) == ["1e-4", "2e-4", "4e-4"]
    assert alternatives("loss.real_label", "0.9,1.0", registry) == ["0.9", "1.0"]
    assert alternatives("betas", "0,0.9", registry) == ["0,0.9"]  # Adam's betas are one list
    assert alternatives("betas", "0,0.9|0.5,0.999", registry) == ["0,0.9", "0.5,0.999"]
    assert alternatives("generator.hidden", "256,512", registry, ["mlp"]) == ["256,512"]
    assert value_of("regularisers", "r1+lecam") == ["r1", "lecam"] and value_of("regularisers", "none") == []
    assert value_of("lr_d", "2e-4") == 2e-4 and value_of("steps", 300) == 300
    with pytest.raises(ConfigError, match="--steps must be >= 1, got 0"):
        value_of("steps", "0")


def test_members_cross_every_axis_with_every_seed():
    planned = members({"steps": 10}, [("loss", ["hinge", "wgan-gp"]), ("lr_d", [1e-4, 2e-4, 4e-4])], [0, 1, 2])
    assert len(planned) == 18 and len({m.name for m in planned}) == 18
    assert len({m.config for m in planned}) == 6 and [m.seed for m in planned[:3]] == [0, 1, 2]
    assert planned[4].label == "loss=hinge lr_d=0.0002" and planned[4].kwargs == {
        "steps": 10, "loss": "hinge", "lr_d": 2e-4, "seed": 1}


def test_a_sweep_file_holds_a_grid_and_a_reproducible_random_search(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('seeds = 2\n[fixed]\nsteps = 50\n[grid]\nloss = ["hinge", "nonsaturating"]\n'
                    '[random]\ncount = 6\nseed = 3\nlr_d = { log_uniform = [1e-5, 1e-3] }\n'
                    'd_steps = { int_uniform = [1, 3] }\n"loss.real_label" = { choice = [0.9, 1.0] }\n')
    data = read_sweep_file(path)
    draws = draw_random(data["random"]["space"], 6, 3)
    assert draws == draw_random(data["random"]["space"], 6, 3)  # the same seed, the same configurations
    assert all(1e-5 <= d["lr_d"] <= 1e-3 and d["d_steps"] in (1, 2, 3) for d in draws)
    assert {d["loss.real_label"] for d in draws} <= {"0.9", "1.0"}
    logs = sorted(torch.tensor([d["lr_d"] for d in draws]).log10().tolist())
    assert logs[-1] - logs[0] > 0.5  # spread over the decades, not bunched at the top as a uniform draw would be
    bad = tmp_path / "bad.toml"
    for text, line in (('[grid]\nlos = ["hinge"]\n', "unknown sweep setting 'los'; did you mean 'loss'?"),
                       ('[random]\ncount = 2\nlr_d = { normal = [0, 1] }\n', "lr_d must be one of"),
                       ('[random]\ncount = 2\nlr_d = { log_uniform = [0, 1] }\n', "bounds must be above 0"),
                       ('seeds_ = 2\n', "unknown key 'seeds_'; did you mean 'seeds'?"),
                       ('seed = 0\n', "seed must be a list of integers"),
                       ('seeds = 0\n', "seeds must be a count of at least 1, got 0"),
                       ('grid = ["x"]\n', "grid must be a table"),
                       ('[random]\ncount = 3\n', "gives no distribution to draw them from"),
                       ('[fixed]\nseed = 3\n', "the seeds are seed = \\[...\\] or seeds = N at the top")):
        bad.write_text(text)
        with pytest.raises(ConfigError, match=line):
            read_sweep_file(bad)


# -- running one ----------------------------------------------------------------------------------------------------

def test_a_sweep_ranks_what_learned_first_and_running_it_again_resumes(invoke, tmp_path):
    """G at lr 1e-7 learns nothing: its configuration must rank last on both seeds' mean (curve error measured
    after 700 steps with D at lr 1e-3: 0.25-0.38 at lr 1e-3, seeds 0-13, against 2.7-2.9 at 1e-7)."""
    sweep = tmp_path / "sweep"
    command = ["sweep", "--lr-g", "1e-7,1e-3", "--lr-d", "1e-3", "--steps", "700", "--seeds", "2", *POINTS,
               "--batch-size", "64", "--out", sweep, "-q"]
    invoke(*command)
    board = _board(invoke, sweep)
    assert board["by"] == "curve_error"
    best, worst = board["configurations"]
    assert best["label"] == "lr_g=0.001" and worst["label"] == "lr_g=1e-07"
    assert best["done"] == worst["done"] == 2 and best["metrics"]["curve_error"]["n"] == 2
    assert best["metrics"]["curve_error"]["mean"] < 0.25 * worst["metrics"]["curve_error"]["mean"]
    # each member is an ordinary run directory: evaluating it again gives the numbers the board averaged
    again = [ganzoo.evaluate(sweep / "members" / name, 1000)["curve_error"] for name in best["members"]]
    assert statistics.fmean(again) == pytest.approx(best["metrics"]["curve_error"]["mean"], rel=1e-9)
    assert statistics.stdev(again) == pytest.approx(best["metrics"]["curve_error"]["std"], rel=1e-9)
    for name in best["members"]:
        assert torch.load(sweep / "members" / name / "checkpoints" / "latest.pt", weights_only=True)["step"] == 700
    assert (sweep / "sweep.png").stat().st_size > 10_000 and "lr_g=0.001" in (sweep / "leaderboard.md").read_text()
    markdown = invoke("sweep", "show", sweep, "--markdown").stdout
    assert markdown.splitlines()[2].startswith("| 1 | lr_g=0.001 | 2 |")
    stamps = {p.name: p.stat().st_mtime_ns for p in (sweep / "outcomes").iterdir()}
    result = invoke(*command[:-1])  # the same command again: everything has ended, nothing trains
    assert "4 already ended" in result.stderr + result.stdout
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (sweep / "outcomes").iterdir()}
    # a member stopped after its last step but before its outcome was written is evaluated, not trained again
    name = next(iter(best["members"]))
    (sweep / "outcomes" / f"{name}.json").unlink()
    checkpoint = sweep / "members" / name / "checkpoints" / "latest.pt"
    trained = checkpoint.stat().st_mtime_ns
    invoke(*command[:-1])
    outcome = json.loads((sweep / "outcomes" / f"{name}.json").read_text())
    assert outcome["status"] == "done" and outcome["step"] == 700 and checkpoint.stat().st_mtime_ns == trained
    assert outcome["metrics"]["curve_error"] == pytest.approx(again[0], rel=1e-9)
    assert "trained to step 700 already; evaluating it" in (sweep / "logs" / f"{name}.log").read_text()


def test_a_member_that_diverges_stops_alone(invoke, plugin, tmp_path):
    # the members one after another in this process (the engine below): a diverged member must not stop the ones
    # after it even there; the local engine's processes are run by the tests above and below
    plugin(_Plugins(), name="sweep-test-plugin")
    sweep = tmp_path / "sweep"
    result = invoke("sweep", "--engine", "inline", "--lr-d", "2e-4,1e6", "--lr-g", "2e-4,1e6", "--steps", "200",
                    *POINTS, "--out", sweep)
    board = _board(invoke, sweep)
    done = [c for c in board["configurations"] if c["done"]]
    diverged = [f for c in board["configurations"] for f in c["failed"]]
    assert len(done) >= 1 and done[0]["label"] == "lr_d=0.0002 lr_g=0.0002"
    assert diverged and all(f["status"] == "diverged" and "training diverged by step" in f["message"]
                            for f in diverged)
    assert "diverged: training diverged by step" in result.stdout + result.stderr


def test_a_plan_that_cannot_run_is_refused_before_anything_trains(invoke, tmp_path):
    for args, line in (
        (["-l", "nonsaturating,hinje"], "sweep member 1-loss=hinje-seed0 (loss=hinje, seed 0) cannot run: unknown "
                                        "loss 'hinje'; did you mean 'hinge'?"),
        (["-g", "mlp,cgan"], "sweep member 1-generator=cgan-seed0 (generator=cgan, seed 0) cannot run: generator "
                             "'cgan'"),
        (["--lr-d", "1e-4,-1"], "--lr-d must be > 0, got -1"),
        (["--seeds", "0"], "--seeds must be at least 1, got 0"),
        (["--seed", "1,1"], "--seed lists a seed twice"),
        (["--seeds", "2", "--seed", "0,1"], "--seeds N and --seed a,b,c exclude each other"),
        (["--engine", "locl"], "unknown engine 'locl'; did you mean 'local'?"),
        (["--reg", "none", "--engine", "locl"], "unknown engine 'locl'"),  # --reg none planned (it once crashed)
    ):
        result = invoke("sweep", *args, "--steps", "5", "--out", tmp_path / "s", expect=None)
        assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
        assert line in result.stderr, result.stderr
        assert not (tmp_path / "s").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    result = invoke("sweep", "--steps", "5", "--out", tmp_path / "other", expect=1)
    assert "is not empty and holds no sweep" in result.stderr


def test_a_named_metric_that_cannot_run_or_judge_a_members_data_is_refused_with_the_plan(invoke, plugin, tmp_path):
    from ganzoo import MetricSpec

    class Missing:
        @hookimpl
        def ganzoo_metrics(self):
            yield MetricSpec(name="needs-weights", description="weights not installed", compute=lambda ctx: {},
                             unavailable=lambda data: "no weights; pip install them")

    plugin(Missing(), name="missing-metric-plugin")
    for metrics, line in (("needs-weights", "cannot run: --metrics needs-weights: no weights; pip install them"),
                          ("classifier", "cannot run: --metrics classifier: metric 'classifier' does not apply to "
                                         "dataset 'parabola'")):
        result = invoke("sweep", "--seeds", "2", "--steps", "5", *POINTS, "--metrics", metrics,
                        "--out", tmp_path / "s", expect=1)
        assert result.stderr.strip().startswith("error: sweep member 0-base-seed0 ((base), seed 0) " + line), \
            result.stderr
        assert not (tmp_path / "s").exists()


def test_a_second_sweep_process_on_one_directory_is_refused(invoke, plugin, tmp_path):
    plugin(_Plugins(), name="sweep-test-plugin")  # the first sweep's member trains in this process (engine below)
    invoke("sweep", "--engine", "inline", "--steps", "5", *POINTS, "--out", tmp_path / "s", "-q")
    with SweepDir(tmp_path / "s").lock():
        result = invoke("sweep", "--steps", "5", *POINTS, "--out", tmp_path / "s", expect=1)
    assert "is being run by PID" in result.stderr and "run the same command again to resume" in result.stderr
    result = invoke("sweep", "--steps", "6", *POINTS, "--out", tmp_path / "s", expect=1)  # another plan
    assert "holds another sweep (1 members planned by" in result.stderr


# -- engines are plugins --------------------------------------------------------------------------------------------

class _Fragile(GANLoss):
    def discriminator_loss(self, real, fake, ctx):
        if ctx.step >= 5:
            raise ValueError("fragile broke")
        return (fake - real).mean()

    def generator_loss(self, fake, ctx):
        return -fake.mean()


class _Plugins(InlineEngine):  # the inline engine (helpers/engines.py: every unit in this process, in turn)
    @hookimpl
    def ganzoo_losses(self):
        yield LossSpec(name="fragile", factory=_Fragile, description="raises at step 5")


def test_an_engine_plugin_runs_the_units_and_a_failing_member_is_named_while_the_others_finish(invoke, plugin,
                                                                                                tmp_path):
    plugin(_Plugins(), name="sweep-test-plugin")
    assert "inline" in invoke("list", "engines").stdout
    sweep = tmp_path / "sweep"
    invoke("sweep", "--engine", "inline", "-l", "nonsaturating,fragile", "--steps", "20", *POINTS, "--out", sweep)
    board = _board(invoke, sweep)
    (ok,) = [c for c in board["configurations"] if c["done"]]
    (failed,) = [f for c in board["configurations"] for f in c["failed"]]
    assert ok["label"] == "loss=nonsaturating" and failed["status"] == "failed"
    assert "loss 'fragile' (plugin 'sweep-test-plugin') raised in D's step at step 6: ValueError: fragile broke" \
        in failed["message"]


def test_retry_failed_trains_the_failed_members_again_and_skips_the_done_ones(invoke, plugin, tmp_path):
    plugin(_Plugins(), name="sweep-test-plugin")
    sweep = tmp_path / "sweep"
    command = ["sweep", "--engine", "inline", "-l", "nonsaturating,fragile", "--steps", "20", *POINTS, "--out", sweep]
    invoke(*command)
    outcomes = {p.stem: json.loads(p.read_text()) for p in (sweep / "outcomes").glob("*.json")}
    assert sorted(o["status"] for o in outcomes.values()) == ["done", "failed"]
    said = invoke(*command)  # the same command again: every member ended, nothing trains
    assert "2 already ended" in said.stdout + said.stderr
    retried = invoke(*command, "--retry-failed")
    assert "1 already ended" in retried.stdout + retried.stderr
    again = {p.stem: json.loads(p.read_text()) for p in (sweep / "outcomes").glob("*.json")}
    for name, outcome in outcomes.items():  # the done member kept its outcome; the failed one ran (and failed) again
        assert (again[name]["finished"] == outcome["finished"]) == (outcome["status"] == "done"), name
    assert sorted(o["status"] for o in again.values()) == ["done", "failed"]


def test_an_engine_says_how_many_units_it_runs_at_once_by_default_and_ray_counts_the_clusters_cpus(invoke, plugin,
                                                                                                    tmp_path):
    from helpers.engines import Inline

    from ganzoo_builtins.engines import RayEngine

    class Wide(Inline):
        def default_jobs(self):
            return 5

    class WidePlugin:
        @hookimpl
        def ganzoo_engines(self):
            yield EngineSpec(name="wide", factory=Wide, description="five at once")

    plugin(WidePlugin(), name="wide-engine")
    result = invoke("sweep", "--engine", "wide", "--steps", "5", *POINTS, "--out", tmp_path / "s")
    assert "engine wide, 5 at once" in result.stdout + result.stderr
    result = invoke("sweep", "--engine", "wide", "--jobs", "1", "--steps", "5", *POINTS, "--out", tmp_path / "t")
    assert "engine wide, 1 at once" in result.stdout + result.stderr  # --jobs still wins
    Wide.default_jobs = lambda self: 0
    result = invoke("sweep", "--engine", "wide", "--steps", "5", *POINTS, "--out", tmp_path / "u", expect=1)
    assert "default_jobs() returned 0; expected None or a whole number >= 1" in result.stderr
    invoke("sweep", "--engine", "wide", "--steps", "5", *POINTS, "--out", tmp_path / "s")  # nothing left: not asked

    class Cluster:  # what ray.nodes() says of a head of 16 CPUs, a GPU node of 8 and a node that died
        @staticmethod
        def is_initialized():
            return True

        @staticmethod
        def nodes():
            return [{"Alive": True, "Resources": {"CPU": 16.0}}, {"Alive": True, "Resources": {"CPU": 8.0, "GPU": 1}},
                    {"Alive": False, "Resources": {"CPU": 64.0}}]

    engine = RayEngine.__new__(RayEngine)
    engine.ray, engine.address = Cluster(), None
    assert engine.default_jobs() == 24 and engine._start() == 16


# -- faults ---------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_kill_9_of_the_sweep_loses_at_most_each_members_work_since_its_checkpoint(tmp_path, invoke):
    """The sweep's process killed outright: its members stop too (saving a checkpoint), and the same command
    resumes each one from there to its last step."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ganzoo.run.rundir import RunDir

    sweep = tmp_path / "sweep"
    # the first checkpoint early (step 50) and the kill right after both members have one: one member is ahead of
    # the other by its head start (measured at the kill, on a busy machine: 22-95 steps), far from the 1,000 that
    # would let it finish before the kill; --jobs 2, since OMP_NUM_THREADS=1 alone would train them in turn
    command = [sys.executable, "-m", "ganzoo", "sweep", "--lr-d", "1e-4,2e-4", "--steps", "1000",
               "--checkpoint-every", "50", *POINTS, "--out", str(sweep), "-q", "--jobs", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = [RunDir(sweep / "members" / name) for name in ("0-lr_d=0.0001-seed0", "1-lr_d=0.0002-seed0")]
    deadline = time.monotonic() + 120
    while not all(run.latest.is_file() for run in runs) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for run in runs:  # each member lets go of its run directory once it has saved and stopped
        while time.monotonic() < deadline:
            try:
                with run.training_lock():
                    break
            except ConfigError:
                time.sleep(0.1)
    at_kill = [torch.load(run.latest, weights_only=True)["step"] for run in runs]
    assert all(0 < step < 1000 for step in at_kill), at_kill
    assert not list((sweep / "outcomes").glob("*.json")) if (sweep / "outcomes").is_dir() else True
    invoke(*command[3:])  # the same command again (from this process: it is the killed one that had to be real)
    for run in runs:
        assert torch.load(run.latest, weights_only=True)["step"] == 1000
        assert "resuming from its checkpoint" in (sweep / "logs" / f"{run.path.name}.log").read_text()
        steps = [json.loads(line)["step"] for line in run.metrics_path.read_text().splitlines()]
        assert steps == sorted(set(steps)) and steps[-1] == 1000  # no step logged twice, none lost


def test_the_readmes_sweep_file_plans_members_that_can_all_run(tmp_path, registry):
    from pathlib import Path

    from ganzoo.sweep.launch import plan_members
    from ganzoo.sweep.runner import check_members

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("A TOML sweep file holds")[1].split("```toml\n")[1].split("```")[0]
    (tmp_path / "sweep.toml").write_text(block)
    planned = plan_members({}, [], [], tmp_path / "sweep.toml")
    assert len(planned) == 2 * 3 * 8 * 3 and len({m.config for m in planned}) == 48
    configs = check_members(planned, registry)
    assert {c.steps for c in configs} == {3000} and {len(c.regularisers) for c in configs} == {0, 1}


def test_members_sharing_an_architecture_train_as_populations_when_asked_and_say_why_not_on_a_cpu(invoke, plugin,
                                                                                                   tmp_path):
    # two jobs: the stacked group is split into two populations of two members, each a process of its own (with a
    # thread each: a member process given both cores spins against the other one on a busy machine)
    command = ["sweep", "-l", "nonsaturating,hinge", "--seeds", "2", "--steps", "50", *POINTS, "--jobs", "2"]
    result = invoke(*command, "--stack", "--out", tmp_path / "stacked")
    said = result.stdout + result.stderr
    assert "4 member(s) as populations: 4 members share generator 'mlp'" in said
    logs = [p.read_text() for p in (tmp_path / "stacked" / "logs").glob("*.log")]
    names = [p.stem for p in (tmp_path / "stacked" / "outcomes").iterdir()]
    assert len(logs) == 2 and all(sum(f"{name}: starting" in log for name in names) == 2 for log in logs)
    board = _board(invoke, tmp_path / "stacked")
    assert [c["done"] for c in board["configurations"]] == [2, 2]
    # without --stack on a CPU: each member alone (run here in this process, one after another, by the engine below;
    # the choice and its reason do not depend on the engine)
    plugin(_Plugins(), name="sweep-test-plugin")
    result = invoke(*command, "--engine", "inline", "--out", tmp_path / "auto")
    assert "trained alone" in result.stdout + result.stderr and "--stack trains them" in result.stdout + \
        result.stderr
    # a population's member ends where its own run would (within the rounding of a batched product)
    alone = {m: json.loads((tmp_path / "auto" / "outcomes" / f"{m}.json").read_text())["final"]["d_loss"]
             for c in board["configurations"] for m in c["members"]}
    stacked = {m: json.loads((tmp_path / "stacked" / "outcomes" / f"{m}.json").read_text())["final"]["d_loss"]
               for m in alone}
    assert all(abs(alone[m] - stacked[m]) < 1e-3 for m in alone), (alone, stacked)
