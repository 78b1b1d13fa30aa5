"""How a member of a sweep goes on when a unit reaches it: started, resumed, only evaluated, or left pending, decided
the same way for a member trained alone and for one in a population."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, first_line
from ..run.rundir import RunDir
from .store import DONE


def next_session(run: RunDir, name: str) -> tuple[str, dict | None]:
    """How a member goes on: ``busy`` (another process still holds its directory, e.g. one stopping after the
    sweep was killed: it stays pending), ``finished`` (it trained to its last step, but stopped before its outcome
    was written: only the evaluation is left), ``resume`` from its checkpoint, or ``start`` afresh (what a start
    killed before its first checkpoint left is cleared)."""
    from ..run.checkpoint import load_checkpoint

    if run.path.is_dir():
        try:
            with run.training_lock():
                pass
        except ConfigError as err:
            print(f"{name}: left pending: {first_line(err)}", flush=True)
            return "busy", None
    if not run.latest.is_file():
        print(f"{name}: starting", flush=True)
        run.remove_stale_temporaries()
        run.discard_unstarted(existed=False)
        return "start", None
    ckpt = load_checkpoint(run.latest)
    steps = (ckpt.get("config") or {}).get("steps")
    if isinstance(steps, int) and int(ckpt.get("step", 0)) >= steps:
        print(f"{name}: trained to step {steps} already; evaluating it", flush=True)
        return "finished", ckpt
    print(f"{name}: resuming from its checkpoint", flush=True)
    return "resume", ckpt


def finished_outcome(run: RunDir, ckpt: dict) -> dict[str, Any]:
    """The outcome of a member found trained to its end: its step, and its last metrics line's values."""
    records = run.read_metrics()
    final = {k: v for k, v in (records[-1] if records else {}).items() if k not in ("step", "time")}
    return {"status": DONE, "step": int(ckpt.get("step", 0)), "final": final}
