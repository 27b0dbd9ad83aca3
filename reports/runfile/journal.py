"""The journal: an append-only JSON-lines file beside the run file, one record per line (docs/crashes.md).

Every process of a run (the pytest process, each xdist worker, the supervisor of
``python -m suite.isolate``) appends its records with one ``os.write`` on a file descriptor opened
with ``O_APPEND`` (``fsync`` after the rare ones, ``SYNCED``): a line is whole or absent, and lines
of concurrent writers never interleave (on a local file system one ``write`` with ``O_APPEND`` is
atomic with respect to the others). A writer killed
mid-line (``kill -9``, a power cut) leaves at most a torn last line, which the reader skips.

This module imports only the standard library and ``reports.runfile``: the suite writes journals and
the reports read them; ``assemble`` turns a journal into a run file (pytest-benchmark's format with
the suite's section) without torch.

The records (``kind``):

- ``header``: a session began (the pytest process; one per session, a resumed run appends another):
  ``session``, ``pid``, ``t``, ``fingerprint`` (torch build, machine, options: what ``--resume``
  compares), ``label``, ``allocator``, ``metric``, ``shard``, ``checks_from`` and, in a benchmark
  run, pytest-benchmark's ``machine_info``, ``commit_info`` and ``version``;
- ``collected``: the node ids a process selected (the first session's list is the run's);
- ``start``: a test began in process ``pid`` at ``t``; ``ident`` says which check or benchmark;
- ``check``, ``benchmark``, ``peak``: a finished record, exactly as the run file holds it;
- ``done``: a test ended (``outcome`` passed, failed or skipped);
- ``timeout``: the supervisor stopped a test at its time limit (the ``error`` record follows);
- ``error``: a test crashed or timed out: ``error`` (``crashed (SIGSEGV)``, ``timed out after 600 s``)
  and ``output``, the last lines its process wrote;
- ``end``: a session ended normally (``status``: pytest's exit code).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.runfile.record import checked
from reports.runfile.schema import SCHEMA, ChecksFile, Error, Run

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


def fault_path(journal: str | Path, pid: object) -> Path:
    """Where process ``pid`` of a run writes Python's fault-handler traceback (a crash, or SIGABRT at a timeout)."""
    return Path(f"{journal}.fault-{pid}")


def fault_tail(journal: str | Path, pid: object, lines: int = 20) -> list[str]:
    """What a process's fault file says: the fault's line, then the innermost frames of the thread that faulted.

    Python's fault handler writes the most recent call first, so these are the lines closest to the fault.
    Empty where no fault file was written (a SIGKILL leaves none).
    """
    if pid is None:
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


def _record(raw: bytes) -> dict[str, Any] | None:
    """One line as a record, or None where it is not one."""
    try:
        rec = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return rec if isinstance(rec, dict) and rec.get("kind") in KINDS else None


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


def error_entry(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The run file's ``rnnsuite.errors`` entry of an ``error`` journal record (schema ``ERROR``)."""
    ident = rec.get("ident") or {}
    entry = {
        "nodeid": rec["nodeid"],
        "test": ident.get("test", "other"),
        "key": ident.get("key"),
        "case": ident.get("case"),
        "device": ident.get("device"),
        "dtype": ident.get("dtype"),
        "pass": ident.get("pass"),
        "check": ident.get("check"),
        "error": rec["error"],
        "output": list(rec.get("output") or []),
    }
    return checked(Error, entry, "errors")


def check_of_error(rec: Mapping[str, Any]) -> dict[str, Any] | None:
    """The correctness record of a check that crashed or timed out (outcome ``crashed``/``timed out``), else None."""
    ident = rec.get("ident") or {}
    if ident.get("test") != "check":
        return None
    outcome = "timed out" if str(rec["error"]).startswith("timed out") else "crashed"
    fields = {k: ident.get(k) for k in ("key", "case", "device", "dtype")}
    fields |= {"check": ident.get("check"), "outcome": outcome, "message": rec["error"]}
    fields |= {"max_abs": None, "max_rel": None, "rtol": None, "atol": None, "tensor": None, "sample": {}}
    if ident.get("kernel") is not None:
        fields["kernel"] = ident["kernel"]
    return fields


def correctness(journal: Journal) -> list[dict[str, Any]]:
    """Every check record of the journal, and one per check that crashed or timed out."""
    out = [r["record"] for r in journal.of("check")]
    out += [c for c in map(check_of_error, journal.errors.values()) if c is not None]
    return out


def checks_data(journal: Journal, machine: Mapping[str, Any]) -> dict[str, Any]:
    """A checks file (``--checks-json``) from a journal: every check record of every session."""
    label = journal.headers[-1].get("label")
    data = {"schema": SCHEMA, "label": label, "machine": dict(machine), "correctness": correctness(journal)}
    errors = [error_entry(rec) for rec in journal.errors.values()]
    return checked(ChecksFile, data | ({"errors": errors} if errors else {}), "checks file")


def _best_peaks(journal: Journal) -> list[dict[str, Any]]:
    """Per device and dtype, the highest peak recorded (a session that ended measured it again)."""
    best: dict[tuple[Any, Any], dict[str, Any]] = {}
    for rec in journal.of("peak"):
        peak = rec["record"]
        key = (peak.get("device"), peak.get("dtype"))
        if key not in best or peak.get("gflops", 0) >= best[key].get("gflops", 0):
            best[key] = peak
    return list(best.values())


def assemble(
    journal: Journal, checks: Iterable[Mapping[str, Any]] = (), check_errors: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The run file of a journal: pytest-benchmark's keys, every finished benchmark, the suite's section.

    Args:
        journal: a benchmark run's journal (its header holds pytest-benchmark's ``machine_info``).
        checks: correctness records to add (the checks file of ``--checks-from``).
        check_errors: that checks file's ``errors`` (its checks that crashed or timed out).

    Returns:
        A run file: a benchmark rerun after a crash or a resume keeps its last record; each
        benchmark's ``peak_gflops`` is the run's best peak for its device and dtype; ``rnnsuite.errors``
        lists what crashed or timed out, ``rnnsuite.unfinished`` what did not finish.
    """
    head = journal.headers[-1]
    benches: dict[str, dict[str, Any]] = {}
    for rec in journal.of("benchmark"):
        benches[rec["nodeid"]] = rec["record"]
    peaks = _best_peaks(journal)
    final = {(p["device"], p["dtype"]): p["gflops"] for p in peaks}
    for bench in benches.values():
        extra = bench.get("extra_info", {})
        if (extra.get("device"), extra.get("dtype")) in final:
            extra["peak_gflops"] = final[(extra["device"], extra["dtype"])]
    section = {
        "schema": SCHEMA,
        "metric": head.get("metric", "time"),
        "label": head.get("label"),
        "allocator": head.get("allocator"),
        "shard": head.get("shard"),
        "peaks": peaks,
        "correctness": [*checks, *correctness(journal)],
    }
    errors = [*map(dict, check_errors), *(error_entry(rec) for rec in journal.errors.values())]
    if errors:
        section["errors"] = errors
    if journal.unfinished:
        section["unfinished"] = journal.unfinished
    first = journal.headers[0]
    return {
        "machine_info": head.get("machine_info") or {"rnnsuite": head.get("machine") or {}},  # a checks-only run
        "commit_info": head.get("commit_info") or {},
        "benchmarks": list(benches.values()),
        "datetime": first.get("datetime"),
        "version": head.get("version"),
        "rnnsuite": checked(Run, section, "rnnsuite"),
    }


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
