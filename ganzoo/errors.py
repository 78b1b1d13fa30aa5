"""Errors a user (or a plugin author) can cause.

Every one of them is turned into a single line at the CLI edge, so the message must name the thing, the cause and
the fix on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """Base class: anything the user can fix. The CLI prints it as one line and exits non-zero."""


class UnknownComponentError(GanzooError):
    """A component name (or kind) that no plugin provides."""


class ConflictError(GanzooError):
    """Two plugins provide the same name for the same kind of component."""


class ParameterError(GanzooError):
    """A parameter key or value that does not fit its declaration."""


class IncompatibleError(GanzooError):
    """A mix of components that cannot work together (e.g. an image-only model on point data)."""


class ConfigError(GanzooError):
    """A bad training option, config file or run directory."""


class DatasetError(GanzooError):
    """A dataset that cannot be loaded (missing files, bad parameters)."""


class CheckpointError(GanzooError):
    """A checkpoint that is missing, truncated, foreign or from another run."""


class PluginError(GanzooError):
    """A plugin that broke while loading or that yielded something malformed."""


class OutputError(GanzooError):
    """A file ganzoo writes could not be written (a full disk, no permission, its folder deleted); nothing was left
    half-written."""


class ExportError(GanzooError):
    """A generator that an exporter (torch.export, ONNX) cannot take; the formats that could be written were."""


class TrainingDiverged(GanzooError):
    """A loss became NaN or infinite."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def shorten(text: str, limit: int = 160) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with "…" where it was cut: a message cut
    mid-word (``pix``) reads as a typo, or as a different word."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:  # else one very long word: cut inside it rather than lose most of the line
        cut = cut[:space]
    return cut.rstrip(" ,;:(") + "…"


def first_line(err: BaseException, limit: int = 160) -> str:
    """An exception as one short line, never empty: its type when it has no message, and when the first line is a
    heading ending in ":" (torchvision's "Error downloading x.gz:"), the last line that says why."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    text = lines[0]
    if text.endswith(":"):
        reason = next((line for line in reversed(lines[1:]) if not line.endswith(":")), type(err).__name__)
        text = f"{text} {reason}"
    return shorten(text, limit)
