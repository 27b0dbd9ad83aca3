"""Load, validate and dump run files (pytest-benchmark JSON with the suite's fields); see docs/run-file.md.

``load_run`` maps older schemas' names to today's (``reports/runfile/legacy.py``, the one place),
then checks every record against its declaration in ``reports/runfile/schema.py``: a required field
missing or a value of the wrong type is refused with one line. The run it returns is a ``RunFile``
(``reports/runfile/run.py``), which reads a benchmark through typed accessors.

Every file is untrusted input: it is read through ``reports/runfile/limits.py`` (at most 64 MiB and
100,000 records, strict JSON), and any bytes give a ``RunFile`` or a one-line ``RunFileError``
(tests/reports/test_fuzz_readers.py feeds them arbitrary bytes and mutated files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rnnsuite.reports.runfile import legacy, limits
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.record import problems
from rnnsuite.reports.runfile.run import RunFile, RunFileError
from rnnsuite.reports.runfile.schema import SCHEMA, Bench, Check, Error, Machine, Peak, Run


def dump(path: str | Path, data: dict[str, Any]) -> None:
    """Write a run file's data atomically (readers never see half of it)."""
    write_atomic(path, json.dumps(data, indent=1))


def load_run(path: str | Path, label: str | None = None) -> RunFile:
    """Read and validate a run file; its fields get today's names.

    Args:
        path: the JSON file.
        label: the run's name in reports; default: the file's ``rnnsuite.label`` or its stem.

    Returns:
        The run.

    Raises:
        RunFileError: missing, empty, truncated or not a run file of a known schema, or a record
            that lacks a required field or holds a value of the wrong type.
    """
    p = Path(path)
    data = _from_journal(p) if p.name.endswith(".jsonl") else load_json(p)
    _validate_shape(p, data)
    _upgrade_and_check(p, data)
    return RunFile(p, label or data["rnnsuite"].get("label") or p.stem, data)


def _from_journal(p: Path) -> dict[str, Any]:
    """The run file a journal assembles to (reports/runfile/journal/), with its checks file's records."""
    from rnnsuite.reports.runfile import journal

    try:
        found = journal.read(p)
        head = found.headers[-1]
        source = head.get("checks_from")
    except journal.JournalError as exc:
        raise RunFileError(str(exc)) from None
    checks = load_checks(source) if isinstance(source, str) and source else []
    check_errors = load_check_errors(source) if isinstance(source, str) and source else []
    try:
        return journal.assemble(found, checks, check_errors)
    except ValueError as exc:  # a record that does not fit its declaration
        raise RunFileError(f"{p}: {exc}") from None


def load_json(path: str | Path, what: str = "run file") -> Any:
    """A JSON file of the suite, within the limits (``reports/runfile/limits.py``).

    Raises:
        RunFileError: missing, unreadable, over 64 MiB, empty, not UTF-8, not JSON, or JSON the suite
            does not write (too deep, a key twice, a lone surrogate).
    """
    p = Path(path)
    try:
        text = limits.read_capped(p, what).decode("utf-8")
    except FileNotFoundError:
        raise RunFileError(f"{p}: no such file") from None
    except limits.BadJSON as exc:
        raise RunFileError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{p}: cannot read: {exc}") from None
    if not text.strip():
        raise RunFileError(f"{p}: empty file")
    try:
        return limits.parse(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(f"{p}: not valid JSON (truncated?): {exc.msg} at line {exc.lineno}") from None
    except limits.BadJSON as exc:
        raise RunFileError(f"{p}: {exc}") from None


def _too_many(p: Path, count: int, what: str) -> None:
    if count > limits.MAX_RECORDS:
        raise RunFileError(f"{p}: {count:,} records, over the limit of {limits.MAX_RECORDS:,} for a {what}; refused")


def load_checks(path: str | Path) -> list[dict[str, Any]]:
    """The correctness records of a checks file (what ``--checks-json`` writes), with today's names.

    Raises:
        RunFileError: missing, empty, truncated or not a checks file of a known schema.
    """
    p = Path(path)
    data = load_json(p, "checks file")
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise RunFileError(f"{p}: not a checks file of this suite (no 'schema'); write one with --checks-json")
    if schema > SCHEMA:
        raise RunFileError(f"{p}: checks-file schema {schema} is newer than this reader ({SCHEMA}); upgrade")
    checks = data.get("correctness")
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise RunFileError(f"{p}: 'correctness' is not a list of check records")
    errors = data.get("errors", [])
    _too_many(p, len(checks) + (len(errors) if isinstance(errors, list) else 0), "checks file")
    checks = [legacy.check(c) for c in checks]
    for c in checks:
        _refuse(p, f"check {c.get('key', '?')} {c.get('check', '')}".rstrip(), problems(Check, c, strict=False))
    return checks


def load_check_errors(path: str | Path) -> list[dict[str, Any]]:
    """The ``errors`` of a checks file (schema 4: its checks that crashed or timed out); none in older files.

    Raises:
        RunFileError: as ``load_checks``.
    """
    load_checks(path)
    errors = load_json(path, "checks file").get("errors", [])
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise RunFileError(f"{path}: 'errors' is not a list of records")
    return errors


def _validate_shape(p: Path, data: Any) -> None:
    """The file's outline: a benchmarks list, the suite's section of a schema this reader knows, lists of records."""
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise RunFileError(f"{p}: not a pytest-benchmark run file (no 'benchmarks' list)")
    schema = data.get("rnnsuite", {}).get("schema") if isinstance(data.get("rnnsuite"), dict) else None
    if schema is None:
        raise RunFileError(
            f"{p}: not a run file of this suite (no 'rnnsuite.schema'); run pytest suite --benchmark-json"
        )
    if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA:
        raise RunFileError(f"{p}: run-file schema {str(schema)[:20]!r} is newer than this reader ({SCHEMA}); upgrade")
    section = data["rnnsuite"]
    lists = [data["benchmarks"], *(section.get(k) for k in ("correctness", "peaks", "errors", "unfinished"))]
    _too_many(p, sum(len(x) for x in lists if isinstance(x, list)), "run file")
    for i, bench in enumerate(data["benchmarks"]):
        if not isinstance(bench, dict) or not isinstance(bench.get("extra_info"), dict):
            raise RunFileError(f"{p}: benchmark {i} has no extra_info/stats")
        if not isinstance(bench.get("stats"), dict):
            raise RunFileError(f"{p}: benchmark {i} has no extra_info/stats")
    for name in ("correctness", "peaks", "errors"):
        found = data["rnnsuite"].get(name, [])
        if not isinstance(found, list) or not all(isinstance(x, dict) for x in found):
            raise RunFileError(f"{p}: rnnsuite.{name} is not a list of records")
    machine = data.get("machine_info", {})
    if not isinstance(machine, dict) or not isinstance(machine.get("rnnsuite", {}), dict):
        raise RunFileError(f"{p}: machine_info.rnnsuite is not a record")
    if not isinstance(data.get("commit_info") or {}, dict):
        raise RunFileError(f"{p}: commit_info is not a record")


def _upgrade_and_check(p: Path, data: dict[str, Any]) -> None:
    """Map old names to today's (in place), then check each record against its declaration."""
    section = data["rnnsuite"] = legacy.run(data["rnnsuite"])
    for bench in data["benchmarks"]:
        name = bench.get("name", bench["extra_info"].get("key"))
        try:
            bench["extra_info"] = legacy.bench(bench["extra_info"])
        except legacy.LegacyError as exc:
            raise RunFileError(f"{p}: benchmark {name}: {exc}") from None
        wrong = problems(Bench, bench["extra_info"], strict=False)
        missing = [w.removeprefix("missing ") for w in wrong if w.startswith("missing ")]
        if missing:
            raise RunFileError(f"{p}: benchmark {name} lacks {', '.join(missing)}")
        _check_count(p, name, bench["extra_info"])  # before the types: the specific message
        _refuse(p, f"benchmark {name}", wrong)
        if not isinstance(bench["stats"].get("median"), (int, float)):
            raise RunFileError(f"{p}: benchmark {name} has no median")
    section["correctness"] = [legacy.check(c) for c in section.get("correctness", [])]
    for c in section["correctness"]:
        _refuse(p, f"check {c.get('key', '?')} {c.get('check', '')}".rstrip(), problems(Check, c, strict=False))
    for peak in section.get("peaks", []):
        _refuse(p, "a peak", problems(Peak, peak, strict=False))
    for error in section.get("errors", []):
        _refuse(p, f"error record {error.get('nodeid', '?')}", problems(Error, error, strict=False))
    # Every field of the section; a null label is let be (the reader names the run after the file, as before).
    _refuse(p, "rnnsuite", [w for w in problems(Run, section, strict=False) if w != "label is null, not str"])
    _refuse(
        p, "machine_info.rnnsuite", problems(Machine, data.get("machine_info", {}).get("rnnsuite", {}), strict=False)
    )


def _refuse(p: Path, what: str, wrong: list[str]) -> None:
    if wrong:
        raise RunFileError(f"{p}: {what}: {'; '.join(wrong)}")


def _check_count(p: Path, name: Any, extra: dict[str, Any]) -> None:
    """A counted benchmark (``metric: instructions``) must hold a positive instruction count."""
    metric = extra["metric"]
    if metric not in ("time", "instructions"):
        raise RunFileError(f"{p}: benchmark {name}: unknown metric {metric!r}")
    if metric == "instructions" and RunFile.counts({"extra_info": extra}) is None:
        raise RunFileError(f"{p}: benchmark {name}: metric instructions without a positive instructions count")
