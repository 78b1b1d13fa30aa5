"""The sweep directory: the plan, one ordinary run directory per member, and each finished member's outcome.

    SWEEP/plan.json              the members (their ``ganzoo.train`` arguments, ``metrics`` among them), evaluation size
    SWEEP/members/NAME/          each member's run directory (``ganzoo sample/evaluate/compare/--resume`` work on it)
    SWEEP/outcomes/NAME.json     written when a member ends: done / diverged / failed, its message, its metrics
    SWEEP/leaderboard.md         the table of ``ganzoo sweep show``, rewritten when the sweep ends
    SWEEP/sweep.png              every configuration's final samples side by side, and their loss curves
    SWEEP/.lock                  held by the one process running the sweep

A member without an outcome is pending: it starts, or resumes from its checkpoint, on the next run of the same
command. Every file is written atomically, so ``kill -9`` at any moment leaves each one whole or absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..run.checkpoint import atomic_write
from ..run.rundir import RunDir, held
from .plan import Member

PLAN_VERSION = 1
#: The outcome of a member that ended: trained to its last step, stopped by a divergence, or stopped by an error.
DONE, DIVERGED, FAILED = "done", "diverged", "failed"


class SweepDir:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.plan_path = self.path / "plan.json"
        self.members_dir = self.path / "members"
        self.outcomes_dir = self.path / "outcomes"
        self.leaderboard = self.path / "leaderboard.md"
        self.picture = self.path / "sweep.png"

    def run_dir(self, name: str) -> RunDir:
        return RunDir(self.members_dir / name)

    # -- the plan -------------------------------------------------------------------------------------------------

    def write_plan(self, plan: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": PLAN_VERSION, **plan}, indent=1)
        atomic_write(self.plan_path, lambda f: f.write(text.encode()))

    def read_plan(self) -> dict[str, Any]:
        if not self.plan_path.is_file():
            raise ConfigError(f"{self.path} is not a sweep directory (it has no plan.json); give a directory made "
                              f"by `ganzoo sweep`")
        try:
            plan = json.loads(self.plan_path.read_text())
            plan["members"] = [Member.from_dict(m) for m in plan["members"]]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{self.plan_path} is damaged ({err}); start the sweep again in another directory") \
                from None
        return plan

    def check_same_plan(self, plan: dict[str, Any]) -> bool:
        """True when the directory already holds this plan (the command runs again: resume); False when it is new.
        A different plan is refused: its members' directories would mix two sweeps."""
        if not self.plan_path.is_file():
            if self.path.is_dir() and any(self.path.iterdir()):
                raise ConfigError(f"{self.path} is not empty and holds no sweep; choose another --out")
            return False
        then = self.read_plan()
        if [m.to_dict() for m in then["members"]] != [m.to_dict() for m in plan["members"]]:
            raise ConfigError(f"{self.path} holds another sweep ({len(then['members'])} members planned by "
                              f"`{then.get('command', '?')}`); give a new --out, or run that command to resume it")
        return True

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One process runs a sweep at a time: a second one gets one line naming the first."""
        with held(self.path / ".lock", lambda who: f"sweep {self.path} is being run by {who}; wait for it, or stop "
                                                   f"it and run the same command again to resume", "the sweep"):
            yield

    # -- outcomes -------------------------------------------------------------------------------------------------

    def outcome_path(self, name: str) -> Path:
        return self.outcomes_dir / f"{name}.json"

    def write_outcome(self, name: str, outcome: dict[str, Any]) -> None:
        text = json.dumps(outcome, indent=1)
        atomic_write(self.outcome_path(name), lambda f: f.write(text.encode()))

    def outcome(self, name: str) -> dict[str, Any] | None:
        """A member's outcome, or None while it is pending (a damaged file counts as pending: it runs again)."""
        try:
            return json.loads(self.outcome_path(name).read_text())
        except (OSError, ValueError):
            return None

    def pending(self, members: list[Member]) -> list[Member]:
        return [m for m in members if self.outcome(m.name) is None]
