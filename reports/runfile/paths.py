"""Names and paths derived from a file's contents: a slug of a fixed alphabet and length, checked to lie inside its root.

A run file, a journal or a store's folder may come from a job nobody reviewed (a pull request's artifact,
a cache), so nothing read from one is ever used as a path as it stands (docs/run-file.md, "Untrusted
input"). The rules:

- a slug keeps ASCII letters, digits and ``_`` (``ALPHABET``); every other run of characters becomes one
  ``-``; it has no ``-`` at either end and at most ``width`` characters; an empty slug is the fallback
  (``unknown``). ``/``, ``\\``, ``.``, NUL and spaces never survive, so a slug is one path component that
  is neither ``.`` nor ``..``, hidden nor absolute;
- ``inside(root, path)`` resolves both (symbolic links followed) and refuses a path that is not below the
  root, before anything is written there.

This module imports only the standard library (the suite's journal and the torch-free reports both use it).
"""

from __future__ import annotations

import re
from pathlib import Path

ALPHABET = "A-Za-z0-9_"
_OTHER = re.compile(f"[^{ALPHABET}]+")


class UnsafePath(Exception):
    """A path derived from a file's contents that would leave its root; the message is one line."""


def slug(text: object, width: int, fallback: str = "unknown") -> str:
    """``text`` as one safe path component: letters, digits and ``_``, other runs as ``-``, at most ``width`` long.

    Args:
        text: anything (``str()`` of it is slugged).
        width: the most characters kept (at least 1).
        fallback: the slug of a text with nothing left (itself a slug).

    Returns:
        A non-empty name matching ``[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?``.
    """
    return _OTHER.sub("-", str(text)).strip("-")[:width].strip("-") or fallback


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, after checking that it lies below ``root`` (resolved too).

    Args:
        root: the folder that must hold it (need not exist yet).
        path: the path to write.

    Returns:
        The resolved path.

    Raises:
        UnsafePath: the resolved path is the root itself or outside it.
    """
    top, found = root.resolve(), path.resolve()
    if found == top or not found.is_relative_to(top):
        raise UnsafePath(f"{path} is not inside {root}; refused")
    return found
