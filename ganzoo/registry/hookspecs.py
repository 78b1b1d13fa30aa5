"""The hooks a ganzoo plugin implements: one ``ganzoo_{plural}`` hook per kind in ``kinds.py``, plus
``ganzoo_commands``.

A plugin is a module (or object) with functions decorated by ``ganzoo.hookimpl``, registered through the
``ganzoo`` entry-point group in its ``pyproject.toml``::

    [project.entry-points.ganzoo]
    my_plugin = "my_package"

Each record hook returns (or yields) records of its kind; the record class's docstring is the hook's contract
(written once, in ``specs.py`` and ``records.py``). Implement only the hooks you need; an implementation may take fewer
arguments than the specification, so hooks can gain arguments without breaking old plugins.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from .kinds import KINDS, Kind

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


def _record_hook(kind: Kind):
    def hook():
        """Return or yield records."""

    hook.__name__ = hook.__qualname__ = kind.hook
    hook.__doc__ = f"Return or yield :class:`ganzoo.{kind.record.__name__}` records.\n\n{kind.record.__doc__}"
    hook.__annotations__ = {"return": Iterable[kind.record]}
    return hookspec(hook)


for _kind in KINDS.values():
    globals()[_kind.hook] = _record_hook(_kind)


@hookspec
def ganzoo_commands(cli) -> None:
    """Add commands to the ``ganzoo`` command line: ``cli`` is a :class:`click.Group` whose commands join the
    top-level ones; call ``cli.add_command(...)``. A built-in command keeps its name."""
