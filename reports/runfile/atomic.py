"""The one atomic writer: text goes to a temporary file beside its destination, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomic(path: str | Path, text: str) -> None:
    """Write a text file so that readers never see half of it (a crash leaves the old file).

    Args:
        path: the destination.
        text: the content.
    """
    write_all_atomic({Path(path): text})


def write_all_atomic(files: Mapping[Path, str]) -> None:
    """Write several text files: all are staged first, then each moved into place.

    A failure while staging leaves every destination as it was; no temporary file is left.

    Args:
        files: destination -> content.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for dest, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
            staged.append((tmp, dest))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        for tmp, dest in staged:
            os.replace(tmp, dest)
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
