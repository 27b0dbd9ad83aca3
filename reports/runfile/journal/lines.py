"""The journal file: one JSON record a line, appended whole by concurrent writers, read back with a torn last line
skipped (the format: ``reports/runfile/journal/__init__.py``, docs/crashes.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("header", "collected", "start", "check", "benchmark", "peak", "done", "timeout", "error", "end")
SUFFIX = ".journal.jsonl"


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
    power cut keeps the session's bounds and errors; an ``fsync`` per record cost 3.6 ms here
    (scripts/journal_cost.py), about 20 s over a full ``make report``'s 2,500 checks.

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
        JournalError: missing, unreadable, empty, or a line other than the last that is not a record.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise JournalError(f"{p}: no such journal") from None
    except OSError as exc:
        raise JournalError(f"{p}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
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
        rec = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) and rec.get("kind") in KINDS else None


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
