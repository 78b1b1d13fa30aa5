"""The leaderboard of a sweep: per configuration, each metric's mean ± std and n over its seeds, best first.

Read from the sweep directory alone (the plan and the members' outcomes), so it can be shown while the sweep runs,
after it stopped, or on another machine. A failed or diverged member is counted and named, never averaged in.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..run.compare import read_run, write_comparison_png
from .plan import Member
from .store import DONE, SweepDir


@dataclass
class Row:
    """One configuration and its members' outcomes."""

    index: int
    label: str
    members: list[tuple[Member, dict[str, Any] | None]] = field(default_factory=list)

    @property
    def done(self) -> list[tuple[Member, dict[str, Any]]]:
        return [(m, o) for m, o in self.members if o is not None and o["status"] == DONE]

    @property
    def failed(self) -> list[tuple[Member, dict[str, Any]]]:
        return [(m, o) for m, o in self.members if o is not None and o["status"] != DONE]

    @property
    def pending(self) -> int:
        return sum(o is None for _, o in self.members)

    def values(self, key: str) -> list[float]:
        """The finite values of ``key`` over the seeds that finished (a NaN metric counts as missing)."""
        values = [o["metrics"].get(key) for _, o in self.done]
        return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]

    def stat(self, key: str) -> tuple[float, float, int] | None:
        """(mean, sample standard deviation, n) over the seeds that finished, or None."""
        values = self.values(key)
        if not values:
            return None
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


@dataclass
class Board:
    rows: list[Row]
    keys: list[str]  # every metric key, in the order the members report them
    better: dict[str, str]  # key -> "lower" | "higher"
    meaning: dict[str, str]
    by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "better": self.better, "configurations": [
            {"rank": rank, "config": row.index, "label": row.label, "done": len(row.done), "pending": row.pending,
             "failed": [{"member": m.name, "seed": m.seed, "status": o["status"], "message": o.get("message", "")}
                        for m, o in row.failed],
             "metrics": {k: dict(zip(("mean", "std", "n"), s)) for k in self.keys if (s := row.stat(k))},
             "members": {m.name: (o or {}).get("metrics") for m, o in row.members}}
            for rank, row in enumerate(self.rows, 1)]}


def _sign(better: dict[str, str], key: str) -> float:
    """Multiplies a metric so that lower sorts first: -1 where higher is better."""
    return -1.0 if better.get(key) == "higher" else 1.0


def read_board(sweep: SweepDir, by: str | None = None) -> Board:
    """The configurations ranked by ``by`` (default: the first metric that says which way is better)."""
    plan = sweep.read_plan()
    rows: dict[int, Row] = {}
    keys: list[str] = []
    better: dict[str, str] = {}
    meaning: dict[str, str] = {}
    for member in plan["members"]:
        outcome = sweep.outcome(member.name)
        rows.setdefault(member.config, Row(member.config, member.label)).members.append((member, outcome))
        if outcome is not None and outcome["status"] == DONE:
            keys += [k for k in outcome.get("metrics", {}) if k not in keys]
            better.update(outcome.get("better", {}))
            meaning.update(outcome.get("meaning", {}))
    if by is not None and by not in keys:
        if keys:
            raise ConfigError(f"--by {by}: no member reports it{did_you_mean(by, keys)} (metrics: {', '.join(keys)})")
        by = None  # nothing finished yet: the table shows progress only
    by = by or next((k for k in keys if k in better), None)
    ordered = list(rows.values())
    if by is not None:
        sign = _sign(better, by)

        def rank(row: Row):
            stat = row.stat(by)
            return (stat is None, sign * stat[0] if stat else 0.0, row.index)

        ordered.sort(key=rank)
    return Board(ordered, keys, better, meaning, by)


def cell(row: Row, key: str) -> str:
    stat = row.stat(key)
    if stat is None:
        return "-"
    mean, std, n = stat
    return f"{mean:.4g} ± {std:.2g}" if n > 1 else f"{mean:.4g}"


def status(row: Row) -> str:
    parts = [f"{len(row.done)} done"]
    if row.failed:
        parts.append(f"{len(row.failed)} " + "/".join(sorted({o['status'] for _, o in row.failed})))
    if row.pending:
        parts.append(f"{row.pending} pending")
    return ", ".join(parts)


def columns(board: Board) -> list[str]:
    """The ranking metric first, then the others that say which way is better, then the rest."""
    ranked = [k for k in board.keys if k in board.better and k != board.by]
    return [*([board.by] if board.by else []), *ranked, *[k for k in board.keys if k not in board.better]]


def markdown(board: Board) -> str:
    keys = columns(board)
    arrows = {k: " ↓" if board.better.get(k) == "lower" else " ↑" if board.better.get(k) == "higher" else ""
              for k in keys}
    lines = ["| rank | configuration | n | " + " | ".join(f"{k}{arrows[k]}" for k in keys) + " | members |",
             "| --- | --- | --- |" + " --- |" * len(keys) + " --- |"]
    for rank, row in enumerate(board.rows, 1):
        n = max((row.stat(k) or (0, 0, 0))[2] for k in keys) if keys else len(row.done)
        lines.append(f"| {rank} | {row.label} | {n} | " + " | ".join(cell(row, k) for k in keys) +
                     f" | {status(row)} |")
    failures = [(m, o) for row in board.rows for m, o in row.failed]
    if failures:
        lines += ["", *[f"- {m.name}: {o['status']}: {o.get('message', '')}" for m, o in failures]]
    return "\n".join(lines) + "\n"


def to_json(board: Board) -> str:
    return json.dumps(board.to_dict(), indent=1)


def write_picture(sweep: SweepDir, board: Board) -> bool:
    """``sweep.png``: the best seed's final samples of each configuration (ranked order), with the loss curves.
    False when no member has finished."""
    runs, names = [], []
    for rank, row in enumerate(board.rows, 1):
        done = row.done
        if not done:
            continue
        if board.by:  # the seed that scored best, so the picture shows what the configuration can do
            sign = _sign(board.better, board.by)

            def score(mo, sign=sign) -> float:
                value = mo[1]["metrics"].get(board.by)
                ok = isinstance(value, (int, float)) and math.isfinite(value)
                return sign * float(value) if ok else float("inf")  # a seed without the metric comes last

            done = sorted(done, key=score)
        runs.append(read_run(sweep.run_dir(done[0][0].name).path))
        names.append(f"#{rank} {row.label}")
    if not runs:
        return False
    write_comparison_png(runs, sweep.picture, names)
    return True


def board_table(board: Board, title: str):
    """The leaderboard as a rich table, for the terminal."""
    from rich.table import Table

    keys = columns(board)[:3]  # the ranking metric and two more: the rest are in --markdown and --json
    table = Table(title=f"sweep {title}" + (f", ranked by {board.by}" if board.by else ""), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("configuration", overflow="fold", min_width=16)
    for key in keys:
        way = board.better.get(key)
        table.add_column(key + (" ↓" if way == "lower" else " ↑" if way == "higher" else ""), justify="right")
    table.add_column("members")
    for rank, row in enumerate(board.rows, 1):
        table.add_row(str(rank), row.label, *[cell(row, k) for k in keys], status(row))
    return table
