"""What a test that crashed or timed out leaves in a journal: its ``error`` record, named by the signal or the
time limit, with the last lines of its fault handler's traceback."""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def fault_path(journal: str | Path, pid: object) -> Path:
    """Where process ``pid`` of a run writes Python's fault-handler traceback (a crash, or SIGABRT at a timeout)."""
    return Path(f"{journal}.fault-{pid}")


def fault_tail(journal: str | Path, pid: object, lines: int = 20) -> list[str]:
    """What a process's fault file says: the fault's line, then the innermost frames of the thread that faulted.

    Python's fault handler writes the most recent call first, so these are the lines closest to the fault.
    Empty where no fault file was written (a SIGKILL leaves none).
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:  # a journal's pid names a file: a number only
        return []
    try:
        text = fault_path(journal, pid).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = [line for line in text.splitlines() if line.strip()]
    current = next((i for i, line in enumerate(found) if line.startswith("Current thread")), None)
    if current is None:
        return found[:lines]
    return [*found[:1], *found[current : current + lines - 1]] if current > 0 else found[:lines]


def died_of(status: int | None) -> str:
    """``crashed (SIGSEGV)`` from a negative exit status (a signal), ``crashed (exit 1)`` from another."""
    if status is None:
        return "crashed (no exit status)"
    if status < 0:
        try:
            return f"crashed ({signal.Signals(-status).name})"
        except ValueError:
            return f"crashed (signal {-status})"
    return f"crashed (exit {status})"


def timed_out(limit: float) -> str:
    """The error of a test stopped at the time limit."""
    return f"timed out after {limit:g} s"


def error_record(
    nodeid: str, error: str, output: Sequence[str], start: Mapping[str, Any] | None, by: str
) -> dict[str, Any]:
    """An ``error`` journal record: the test, what happened, the last lines of output, its ``start`` identity."""
    ident = dict((start or {}).get("ident") or {})
    return {
        "kind": "error",
        "nodeid": nodeid,
        "error": error,
        "output": [line[:400] for line in output][-20:],
        "ident": ident,
        "pid": (start or {}).get("pid"),
        "by": by,
    }
