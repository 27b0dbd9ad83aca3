"""The journal file: one JSON record a line, appended whole by concurrent writers, read back with a torn last line
skipped (the format: ``reports/runfile/journal/__init__.py``, docs/crashes.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnsuite.reports.runfile import limits

KINDS = ("header", "collected", "start", "check", "benchmark", "peak", "done", "timeout", "error", "end")
SUFFIX = ".journal.jsonl"

# The fields that the readers of each kind index, with their JSON types: a line whose record lacks one, or
# holds another type, is no record (a journal is untrusted input). The ``record`` of a check, benchmark or
# peak is checked against reports/runfile/schema.py when the journal is assembled into a run file.
NUMBER = (int, float)
SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "header": {"session": (str,)},
    "collected": {"nodeids": (list,)},
    "start": {"nodeid": (str,)},
    "check": {"nodeid": (str,), "record": (dict,)},
    "benchmark": {"nodeid": (str,), "record": (dict,)},
    "peak": {"record": (dict,)},
    "done": {"nodeid": (str,)},
    "timeout": {"nodeid": (str,), "limit": NUMBER},
    "error": {"nodeid": (str,), "error": (str,)},
    "end": {},
}
OPTIONAL: dict[str, tuple[type, ...]] = {"ident": (dict, type(None)), "pid": (int, type(None)), "output": (list,)}


class JournalError(Exception):
    """A journal that cannot be used; the message is one line naming the file."""


def journal_for(run_path: str | Path) -> Path:
    """The journal beside a run or checks file: ``out/runs/run-X.json`` -> ``out/runs/run-X.journal.jsonl``."""
    p = Path(run_path)
    return p.with_name(p.name.removesuffix(".json") + SUFFIX)


SYNCED = ("header", "timeout", "error", "end")  # fsynced: the rare records; the others are written, not synced


def append(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as one line: a single ``os.write`` on an ``O_APPEND`` descriptor.

    Once ``os.write`` returns, the line is the kernel's: it survives the writer's crash, ``kill -9``
    and the out-of-memory killer. The rare records (``SYNCED``) are also ``fsync``-ed, so that a
    power cut keeps the session's bounds and errors; an ``fsync`` per record would cost milliseconds
    each, seconds over a full ``make report``'s checks (lab/journal_cost.py; the figures:
    docs/notes/crash-runs.md).

    Args:
        path: the journal (created if missing).
        record: a JSON-able mapping with a ``kind`` of ``KINDS``.
    """
    if record.get("kind") not in KINDS:
        raise ValueError(f"journal record of unknown kind {record.get('kind')!r}")
    # Unserialisable values as pytest-benchmark writes them (its safe_dumps), so assembled run files match.
    line = (json.dumps(record, separators=(",", ":"), default=_unserializable) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):  # a full disk: the reader skips the torn line
            raise OSError(f"journal {path}: wrote {written} of {len(line)} bytes")
        if record["kind"] in SYNCED:
            os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Journal:
    """A journal read back: its records in order, and what they say about each test."""

    path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    torn: bool = False  # the last line was cut short (a writer killed mid-line) and was skipped

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The records of one kind, in order."""
        return [r for r in self.records if r.get("kind") == kind]

    @property
    def headers(self) -> list[dict[str, Any]]:
        """One per session (a resumed run has several)."""
        return self.of("header")

    @property
    def fingerprint(self) -> dict[str, dict[str, Any]]:
        """The first session's fingerprint (what ``--resume`` compares): each part a record, else empty."""
        found = self.headers[0].get("fingerprint") if self.headers else None
        parts = found.items() if isinstance(found, dict) else ()
        return {str(k): v for k, v in parts if isinstance(v, dict)}

    @property
    def selected(self) -> list[str]:
        """The node ids of the run's selection: the first ``collected`` record's (a resume selects fewer)."""
        first = self.of("collected")
        return list(first[0]["nodeids"]) if first else []

    @property
    def errors(self) -> dict[str, dict[str, Any]]:
        """Node id -> its ``error`` record (the first, if a test has two)."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.of("error"):
            out.setdefault(rec["nodeid"], rec)
        return out

    @property
    def finished(self) -> set[str]:
        """The node ids that need no rerun: ended (``done``) or recorded as crashed or timed out."""
        return {r["nodeid"] for r in self.records if r.get("kind") in ("done", "error")}

    def in_flight(self, pid: int | None = None) -> list[dict[str, Any]]:
        """The ``start`` records of tests that began and neither ended nor failed (of process ``pid`` if given)."""
        done = self.finished
        last: dict[str, dict[str, Any]] = {}
        for rec in self.of("start"):
            if rec["nodeid"] not in done and (pid is None or rec.get("pid") == pid):
                last[rec["nodeid"]] = rec
        return list(last.values())

    @property
    def unfinished(self) -> list[str]:
        """The selection's node ids that did not finish (never started, or cut off by a killed process)."""
        done = self.finished
        started = [r["nodeid"] for r in self.of("start")]
        return [n for n in dict.fromkeys([*self.selected, *started]) if n not in done]

    @property
    def ended(self) -> bool:
        """The last session ended normally and nothing is left to run."""
        headers, ends = self.headers, self.of("end")
        last = headers[-1]["session"] if headers else None
        return bool(ends) and any(e.get("session") == last for e in ends) and not self.unfinished

    def timeout_of(self, nodeid: str) -> dict[str, Any] | None:
        """The supervisor's ``timeout`` record of a test, if it stopped it."""
        return next((r for r in reversed(self.of("timeout")) if r["nodeid"] == nodeid), None)


def read(path: str | Path) -> Journal:
    """Read a journal; a torn last line is skipped (``torn``), any other bad line refused.

    Raises:
        JournalError: missing, unreadable, empty, over the limits (``reports/runfile/limits.py``: 64 MiB,
            a million lines), or a line other than the last that is not a record.
    """
    p = Path(path)
    try:
        data = limits.read_capped(p, "journal")
    except FileNotFoundError:
        raise JournalError(f"{p}: no such journal") from None
    except limits.BadJSON as exc:
        raise JournalError(str(exc)) from None
    except OSError as exc:
        raise JournalError(f"{p}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    if len(lines) > limits.MAX_JOURNAL_LINES:
        raise JournalError(f"{p}: {len(lines):,} lines, over the limit of {limits.MAX_JOURNAL_LINES:,}; refused")
    journal = Journal(p)
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        rec = _record(raw)
        if rec is None and b'{"kind":' in raw[1:]:  # a torn line, then the next writer's whole record after it
            rec = _record(raw[raw.rindex(b'{"kind":') :])
            journal.torn = True
        if rec is None:
            if number == len(lines):  # no newline after it: cut short by a killed writer
                journal.torn = True
                continue
            raise JournalError(f"{p}: line {number} is not a journal record; the file is corrupt")
        journal.records.append(rec)
    if not journal.headers:
        raise JournalError(f"{p}: not a journal of this suite (no header record)")
    return journal


def _record(raw: bytes) -> dict[str, Any] | None:
    """One line as a record, or None where it is not one."""
    try:
        rec = limits.parse(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):  # not JSON, or JSON the suite does not write (limits.BadJSON)
        return None
    return rec if isinstance(rec, dict) and _shaped(rec) else None


def _shaped(rec: dict[str, Any]) -> bool:
    """Whether a record holds the fields its kind's readers index, of their types (``SHAPES``, ``OPTIONAL``)."""
    kind = rec.get("kind")
    shape = SHAPES.get(kind) if isinstance(kind, str) else None
    if shape is None or not all(isinstance(rec.get(k), t) for k, t in shape.items()):
        return False
    if not all(isinstance(rec[k], t) for k, t in OPTIONAL.items() if k in rec):
        return False
    lists = [rec.get("nodeids") or [], rec.get("output") or []]
    return all(isinstance(x, str) for found in lists for x in found)


def _unserializable(obj: object) -> str:
    return f"UNSERIALIZABLE[{obj!r}]"


class Follower:
    """Reads a journal as it grows: each ``poll`` returns the whole lines appended since the last one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.partial = b""

    def poll(self) -> list[dict[str, Any]]:
        """The records appended since the last poll (a line still being written waits for the next)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        found = (_record(raw) for raw in lines)  # a line torn by a killed writer is skipped, as read() does
        return [rec for rec in found if rec is not None]
