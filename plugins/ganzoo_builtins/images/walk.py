"""Walking a folder of images safely: symbolic links are followed, but a link back into a folder already walked (a
loop such as ``self -> .``) is skipped, depth is bounded, and names that are not valid UTF-8 are skipped, so no
folder can make the walk hang, run out of memory or fail on one odd name. Each kind of skip is one warning."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ganzoo import warn

#: Folders deeper than this below the root are not walked (no real image collection nests this deep).
MAX_DEPTH = 32
#: Skipped things named in a warning (the count covers them all).
NAMED = 3
_WARNED: set[str] = set()


@dataclass
class Walk:
    """What a walk found: the files (sorted, folder by folder), the top-level folders, and what it skipped."""

    root: Path
    files: list[Path] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # top-level subfolders, walked
    loops: list[str] = field(default_factory=list)  # "sub/up -> .."
    deep: list[str] = field(default_factory=list)
    odd_names: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def skipped(self) -> str:
        """What was skipped, for an error when nothing else is left ("" when nothing was)."""
        parts = [f"symbolic links that loop back: {_named(self.loops)}" if self.loops else "",
                 f"names that are not UTF-8: {_named(self.odd_names)}" if self.odd_names else "",
                 f"folders deeper than {MAX_DEPTH} levels" if self.deep else "",
                 f"unreadable folders: {_named(self.unreadable)}" if self.unreadable else ""]
        return "; ".join(p for p in parts if p)

    def warn(self) -> None:
        """One warning line per kind of skip, once per process."""
        where = f"folder {self.root}: skipped"
        odd = "it" if len(self.odd_names) == 1 else "them"
        lines = [
            f"{where} {_count(self.loops, 'symbolic link')} back to a folder already walked (a loop): "
            f"{_named(self.loops)}" if self.loops else "",
            f"{where} {_count(self.odd_names, 'name')} that {'is' if odd == 'it' else 'are'} not valid UTF-8: "
            f"{_named(self.odd_names)}; rename {odd} to use {odd}" if self.odd_names else "",
            f"{where} {_count(self.deep, 'folder')} more than {MAX_DEPTH} levels deep: {_named(self.deep)}"
            if self.deep else "",
            f"{where} {_count(self.unreadable, 'folder')} that cannot be read: {_named(self.unreadable)}"
            if self.unreadable else "",
        ]
        for line in filter(None, lines):
            warn_once(line)


def warn_once(line: str) -> None:
    """A warning shown once per process: a run loads its dataset more than once (its shape, then its data)."""
    if line not in _WARNED:
        _WARNED.add(line)
        warn(line)


def _count(items: list, what: str) -> str:
    return f"{len(items)} {what}{'' if len(items) == 1 else 's'}"


def _named(items: list[str]) -> str:
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def shown(path: str) -> str:
    """A path as it can be printed: undecodable bytes as ``\\xff`` escapes, not surrogates a terminal refuses."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # os.fsdecode turned an undecodable byte into a lone surrogate
        return False


def walk(root: Path) -> Walk:
    """Every regular, non-hidden file below ``root`` (hidden folders skipped too), each folder's files in sorted
    order before its subfolders, like ``os.walk``. Each folder is entered once, by its device and inode."""
    found = Walk(root)
    seen = {_identity(root)}

    def visit(folder: Path, rel: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            found.unreadable.append(f"{shown(rel or '.')} ({err.strerror or type(err).__name__})")
            return
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = f"{rel}/{entry.name}" if rel else entry.name
            if not _utf8(entry.name):
                found.odd_names.append(f"'{shown(name)}'")
                continue
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
            except OSError:  # a link loop of links (ELOOP) or a link that cannot be followed
                is_dir = is_file = False
            if is_file:
                found.files.append(folder / entry.name)
            elif is_dir:
                subfolders.append((entry, name))
        for entry, name in subfolders:
            try:
                identity = _identity(Path(entry.path))
            except OSError as err:  # removed or made unreadable since it was listed
                found.unreadable.append(f"{shown(name)} ({err.strerror or type(err).__name__})")
                continue
            if identity in seen:
                found.loops.append(f"{shown(name)} -> {shown(os.readlink(entry.path))}" if entry.is_symlink()
                                   else shown(name))
            elif depth >= MAX_DEPTH:
                found.deep.append(shown(name))
            else:
                seen.add(identity)
                if not rel:
                    found.folders.append(entry.name)
                visit(folder / entry.name, name, depth + 1)

    visit(root, "", 0)
    return found


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino
