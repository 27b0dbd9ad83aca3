"""A journal made into the files it stands for: the run file (``assemble``) and the checks file (``checks_data``),
each crash recorded against its test."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rnnsuite.reports.runfile.journal.lines import Journal
from rnnsuite.reports.runfile.record import checked
from rnnsuite.reports.runfile.schema import SCHEMA, ChecksFile, Error, Run


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
    """Per device and dtype, the highest peak recorded (a session that ended measured it again).

    Raises:
        ValueError: a peak record without a device and dtype (text) and a number of GFLOP/s.
    """
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in journal.of("peak"):
        peak = rec["record"]
        key, gflops = (peak.get("device"), peak.get("dtype")), peak.get("gflops")
        if not all(isinstance(k, str) for k in key) or not isinstance(gflops, (int, float)):
            raise ValueError(f"a peak record lacks its device, dtype or gflops: {str(peak)[:80]}")
        if key not in best or gflops >= best[key]["gflops"]:
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

    Raises:
        ValueError: a record that does not fit its declaration (reports/runfile/schema.py); one line.
    """
    head = journal.headers[-1]
    benches: dict[str, dict[str, Any]] = {}
    for rec in journal.of("benchmark"):
        benches[rec["nodeid"]] = rec["record"]
    peaks = _best_peaks(journal)
    final = {(p["device"], p["dtype"]): p["gflops"] for p in peaks}
    for bench in benches.values():
        extra = bench.get("extra_info")
        point = (extra.get("device"), extra.get("dtype")) if isinstance(extra, dict) else None
        if point is not None and all(isinstance(x, str) for x in point) and point in final:
            extra["peak_gflops"] = final[point]  # type: ignore[index]
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
