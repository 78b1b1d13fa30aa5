"""``ganzoo sweep``: ``ganzoo train``'s flags, where a value may list alternatives, trained over seeds and ranked;
``ganzoo sweep show DIR`` prints the leaderboard."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..errors import ConfigError
from .train import _slot_flags, _with_options


class _SweepGroup(click.Group):
    """``ganzoo sweep [FLAGS]`` runs a sweep; ``ganzoo sweep show DIR`` shows one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("sweep", cls=_SweepGroup)
def sweep_command() -> None:
    """Train configurations over seeds and rank them: `ganzoo sweep -l bce,hinge --reg none,r1 --seeds 3`
    (see `ganzoo sweep run --help`), then `ganzoo sweep show DIR`."""


def _axes(options: dict[str, Any], sets: tuple[str, ...], recipe: str | None, registry) -> tuple[dict, list, list]:
    """The flags as fixed settings, axes (keys with several alternatives) and the seeds of ``--seed a,b``."""
    from ..sweep.plan import RECIPE, SEED, alternatives, value_of

    chosen, shorthand_sets = _slot_flags(options)
    fixed: dict[str, Any] = {}
    axes: list[tuple[str, list[Any]]] = []
    seeds: list[int] = []

    def add(key: str, values: list[Any]) -> None:
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            axes.append((key, values))

    for key, text in options.items():
        if text is None:
            continue
        if isinstance(text, bool):
            fixed[key] = text
        elif key == SEED:
            seeds = [value_of(SEED, v) for v in alternatives(SEED, text, registry)]
        else:
            add(key, [value_of(key, v) for v in alternatives(key, text, registry)])
    for key, value in chosen.items():
        if isinstance(value, list) and len(value) > 1:  # --reg r1 --reg lecam: both, in every configuration
            if any("," in v or "|" in v for v in value):
                raise ConfigError(f"--{key}: list alternatives in one flag (--reg none,r1,r1+lecam), or repeat the "
                                  f"flag for components every configuration has, not both")
            fixed[key] = value
            continue
        if isinstance(value, list) and not value:  # --reg none: no regulariser in any configuration
            fixed[key] = []
            continue
        text = value[0] if isinstance(value, list) else value
        add(key, [value_of(key, v) for v in alternatives(key, text, registry)])
    for item in [*shorthand_sets, *sets]:
        key, eq, text = item.partition("=")
        if not eq:
            raise ConfigError(f"--set {item!r} must look like KIND.PARAM=VALUE")
        slot_names = [str(v) for k, vs in [*fixed.items(), *axes] if k == key.split(".")[0]
                      for v in (vs if isinstance(vs, list) else [vs])]
        add(key.strip(), alternatives(key.strip(), text, registry, slot_names))
    if recipe:
        add(RECIPE, alternatives(RECIPE, recipe, registry))
    return fixed, axes, seeds


@sweep_command.command("run")
@click.option("--set", "sets", multiple=True, metavar="KIND.PARAM=V1,V2",
              help="a component parameter, or several alternatives (a list-valued one separates them with |)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML file with fixed settings")
@click.option("--recipe", help="recipes to start from, e.g. cgan-mnist,acgan-mnist")
@_with_options
@click.option("--seeds", "seed_count", type=int, default=None, help="train every configuration on seeds 0..N-1")
@click.option("--file", "sweep_file", type=click.Path(dir_okay=False, exists=True),
              help="a TOML sweep file: [fixed] settings, a [grid], a [random] search (count, distributions)")
@click.option("--out", type=click.Path(file_okay=False),
              help="the sweep directory [default: runs/sweep-<digest of the plan>, so the same command resumes]")
@click.option("--jobs", type=int, default=None,
              help="units at once [default: what the engine reaches (ray: the cluster's CPUs), else the GPUs, else the "
                   "cores (OMP_NUM_THREADS where set)]")
@click.option("--engine", "engine_name", default="local", show_default=True,
              help="where units run: local, ray (see `ganzoo list engines`)")
@click.option("--address", default=None, help="--engine ray: the cluster's address")
@click.option("--by", default=None, help="the metric the table ranks by [default: the first with a direction]")
@click.option("--stack/--no-stack", default=None,
              help="train members that share their architecture as one population in one process (--stack), or "
                   "each in a process of its own (--no-stack) [default: populations on a GPU, processes on a CPU]")
@click.option("--retry-failed", is_flag=True, help="train failed and diverged members again")
@click.option("-q", "--quiet", is_flag=True, help="print only the table")
def run_command(sets, config_file, recipe, seed_count, sweep_file, out, jobs, engine_name, address, by, stack,
                retry_failed, quiet, **options) -> int:
    """Train every configuration the flags list (`-l bce,hinge`, `--lr-d 1e-4,2e-4`, `--set loss.real_label=0.9,1`,
    `--reg none,r1,r1+lecam`) on each seed (`--seeds 3` or `--seed 0,1,2`), each member an ordinary run
    directory under the sweep directory; then rank the configurations (`ganzoo sweep show`)."""
    from ..registry.registry import default_registry
    from ..sweep.launch import launch, plan_members

    registry = default_registry()
    fixed, axes, seeds = _axes(options, sets, recipe, registry)
    if config_file:
        fixed["config"] = config_file
    if seeds and seed_count is not None:
        raise ConfigError("--seeds N and --seed a,b,c exclude each other: give one")
    if seed_count is not None and seed_count < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seed_count}")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    members = plan_members(fixed, axes, seeds or (list(range(seed_count)) if seed_count else []),
                           Path(sweep_file) if sweep_file else None)
    plan = {"command": "ganzoo sweep " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["sweep"] else sys.argv[1:]),
            # each member is evaluated at its end on its --eval-samples (default 5000), with the metrics its own
            # --metrics names (train's option, so a misspelt name is refused with the plan)
            "members": members, "eval_samples": None,
            # relative paths in the members' settings (--config, a data folder) mean what they mean here, also to a
            # unit on another node that reaches this directory on the same path
            "cwd": str(Path.cwd())}
    if out is None:
        digest = hashlib.sha1(json.dumps([m.to_dict() for m in members], sort_keys=True).encode()).hexdigest()[:8]
        out = Path("runs") / f"sweep-{digest}"
    engine_params = {"address": address} if address else {}
    return launch(Path(out), plan, registry, engine_name, engine_params, jobs, by, stack, retry_failed,
                  Console(stderr=quiet, quiet=quiet, soft_wrap=True), Console())


@sweep_command.command("show")
@click.argument("sweep_dir", type=click.Path(file_okay=False))
@click.option("--by", default=None, help="the metric to rank by [default: the first with a direction]")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--markdown", is_flag=True, help="print a Markdown table")
def show_command(sweep_dir: str, by: str | None, as_json: bool, markdown: bool) -> None:
    """The leaderboard of a sweep: per configuration, each metric's mean ± std and n over the seeds, best first;
    failed and diverged members named."""
    from ..sweep import board as boards
    from ..sweep.store import SweepDir

    board = boards.read_board(SweepDir(sweep_dir), by)
    if as_json:
        click.echo(boards.to_json(board))
    elif markdown:
        click.echo(boards.markdown(board), nl=False)
    else:
        Console().print(boards.board_table(board, sweep_dir))
