"""Which component a failure in training came from, so that a plugin's bug is one line that names it.

Nothing is wrapped around the calls (the step pays nothing): when an exception leaves the loop, its traceback is
walked and the innermost frame that runs inside a chosen component — a method of its object, of one of its
submodules, or one of its functions — names the component.
"""

from __future__ import annotations

import types
from collections.abc import Iterable

from torch import nn


def _codes(obj: object) -> Iterable[types.CodeType]:
    """The code of a plain function (an augmentation, say) or of a closure's function."""
    code = getattr(obj, "__code__", None)
    if isinstance(code, types.CodeType):
        yield code
    func = getattr(obj, "__func__", None)  # a bound method
    if func is not None:
        yield from _codes(func)


#: The step's phase methods (``step.py``) and how a message names them.
PHASES = {"d_phase": "D's step", "g_phase": "G's step", "finish": "the end of a step"}


def phase(err: BaseException) -> str | None:
    """Which phase of the step ``err`` was raised in, or None (outside a step)."""
    found = None
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in PHASES and code.co_filename.endswith("step.py"):
            found = PHASES[code.co_name]
        elif code.co_name == "lazy_phase" and code.co_filename.endswith("step.py"):
            player = getattr(tb.tb_frame.f_locals.get("player"), "name", "")
            found = f"{'D' if player == 'discriminator' else 'G'}'s lazy regularisers' step"
        tb = tb.tb_next
    return found


class Culprits:
    """The chosen components' objects, submodules and functions, each mapped to its owner (``loss 'bce'``)."""

    def __init__(self, components: Iterable = ()) -> None:
        self._objects: dict[int, str] = {}
        self._codes: dict[types.CodeType, str] = {}
        self._keep: list[object] = []  # ids are only unique while the objects live
        for component in components:
            self.add(component.owner, component.obj)

    def add(self, owner: str, obj: object) -> None:
        parts = list(obj.modules()) if isinstance(obj, nn.Module) else [obj]
        for part in parts:
            self._objects.setdefault(id(part), owner)
            self._keep.append(part)
        for code in _codes(obj):
            self._codes.setdefault(code, owner)

    def blame(self, err: BaseException) -> str | None:
        """The owner of the innermost frame of ``err``'s traceback that ran inside a component, or None."""
        found = None
        tb = err.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            owner = self._codes.get(frame.f_code)
            if owner is None and "self" in frame.f_code.co_varnames[:1]:
                owner = self._objects.get(id(frame.f_locals.get("self")))
            found = owner or found
            tb = tb.tb_next
        return found
