"""One-line messages on stderr that are not errors: warnings (something was skipped or changed) and notes
(something the user may want to know). Every part of ganzoo prints them the same way, so they can be grepped."""

from __future__ import annotations

import click


def warn(line: str) -> None:
    """``ganzoo: warning: LINE`` on stderr."""
    click.echo(f"ganzoo: warning: {line}", err=True)


def note(line: str) -> None:
    """``ganzoo: note: LINE`` on stderr."""
    click.echo(f"ganzoo: note: {line}", err=True)
