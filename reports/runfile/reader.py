"""Load and validate run files (pytest-benchmark JSON with the suite's fields); see docs/run-file.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reports.runfile.schema import BENCH, CHECK, SCHEMA, names

REQUIRED_EXTRA = names(BENCH, required=True)
REQUIRED_CHECK = names(CHECK, required=True)


class RunFileError(Exception):
    """A run file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class RunFile:
    """A loaded run file."""

    path: Path
    label: str
    data: dict[str, Any]

    @property
    def benchmarks(self) -> list[dict[str, Any]]:
        """The benchmark entries (each with ``extra_info`` and ``stats``)."""
        return list(self.data.get("benchmarks", []))

    @property
    def machine(self) -> dict[str, Any]:
        """``machine_info.rnnsuite`` (empty for foreign files)."""
        return dict(self.data.get("machine_info", {}).get("rnnsuite", {}))

    @property
    def correctness(self) -> list[dict[str, Any]]:
        """The correctness records of the run."""
        return list(self.data.get("rnnsuite", {}).get("correctness", []))

    @property
    def peaks(self) -> list[dict[str, Any]]:
        """The matmul peaks measured in the run."""
        return list(self.data.get("rnnsuite", {}).get("peaks", []))

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The tests that crashed or timed out (schema 4, a run file assembled from a journal)."""
        return list(self.data.get("rnnsuite", {}).get("errors", []))

    @property
    def unfinished(self) -> list[str]:
        """The node ids that did not finish (schema 4, a run file assembled from a journal)."""
        return list(self.data.get("rnnsuite", {}).get("unfinished", []))


def load_run(path: str | Path, label: str | None = None) -> RunFile:
    """Read and validate a run file.

    Args:
        path: the JSON file.
        label: the run's name in reports; default: the file's ``rnnsuite.label`` or its stem.

    Returns:
        The run.

    Raises:
        RunFileError: missing, empty, truncated or not a run file of a known schema.
    """
    p = Path(path)
    data = _from_journal(p) if p.name.endswith(".jsonl") else _read_json(p)
    _validate(p, data)
    return RunFile(p, label or data.get("rnnsuite", {}).get("label") or p.stem, data)


def _from_journal(p: Path) -> dict[str, Any]:
    """The run file a journal assembles to (reports/runfile/journal.py), with its checks file's records."""
    from reports.runfile import journal

    try:
        found = journal.read(p)
        head = found.headers[-1]
        source = head.get("checks_from")
    except journal.JournalError as exc:
        raise RunFileError(str(exc)) from None
    checks = load_checks(source) if source else []
    return journal.assemble(found, checks, load_check_errors(source) if source else [])


def _read_json(p: Path) -> Any:
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{p}: cannot read: {exc}") from None
    if not text.strip():
        raise RunFileError(f"{p}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(f"{p}: not valid JSON (truncated?): {exc.msg} at line {exc.lineno}") from None


def load_checks(path: str | Path) -> list[dict[str, Any]]:
    """The correctness records of a checks file (what ``--checks-json`` writes).

    Raises:
        RunFileError: missing, empty, truncated or not a checks file of a known schema.
    """
    p = Path(path)
    data = _read_json(p)
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise RunFileError(f"{p}: not a checks file of this suite (no 'schema'); write one with --checks-json")
    if schema > SCHEMA:
        raise RunFileError(f"{p}: checks-file schema {schema} is newer than this reader ({SCHEMA}); upgrade")
    checks = data.get("correctness")
    if not isinstance(checks, list) or not all(isinstance(c, dict) and set(REQUIRED_CHECK) <= c.keys() for c in checks):
        raise RunFileError(f"{p}: 'correctness' is not a list of check records")
    return checks


def load_check_errors(path: str | Path) -> list[dict[str, Any]]:
    """The ``errors`` of a checks file (schema 4: its checks that crashed or timed out); none in older files.

    Raises:
        RunFileError: as ``load_checks``.
    """
    load_checks(path)
    errors = _read_json(Path(path)).get("errors", [])
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        raise RunFileError(f"{path}: 'errors' is not a list of records")
    return errors


def _validate(p: Path, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise RunFileError(f"{p}: not a pytest-benchmark run file (no 'benchmarks' list)")
    schema = data.get("rnnsuite", {}).get("schema") if isinstance(data.get("rnnsuite"), dict) else None
    if schema is None:
        raise RunFileError(
            f"{p}: not a run file of this suite (no 'rnnsuite.schema'); run pytest suite --benchmark-json"
        )
    if not isinstance(schema, int) or schema > SCHEMA:
        raise RunFileError(f"{p}: run-file schema {schema!r} is newer than this reader ({SCHEMA}); upgrade")
    for i, bench in enumerate(data["benchmarks"]):
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or not isinstance(stats, dict):
            raise RunFileError(f"{p}: benchmark {i} has no extra_info/stats")
        missing = [k for k in REQUIRED_EXTRA if k not in extra]
        if missing:
            raise RunFileError(f"{p}: benchmark {bench.get('name', i)} lacks {', '.join(missing)}")
        if not isinstance(stats.get("median"), (int, float)):
            raise RunFileError(f"{p}: benchmark {bench.get('name', i)} has no median")
        _validate_count(p, bench.get("name", i), extra)
    checks = data["rnnsuite"].get("correctness", [])
    if not isinstance(checks, list) or not all(isinstance(c, dict) and set(REQUIRED_CHECK) <= c.keys() for c in checks):
        raise RunFileError(f"{p}: rnnsuite.correctness is not a list of check records")
    peaks = data["rnnsuite"].get("peaks", [])
    if not isinstance(peaks, list) or not all(isinstance(x, dict) for x in peaks):
        raise RunFileError(f"{p}: rnnsuite.peaks is not a list of records")


def _validate_count(p: Path, name: Any, extra: dict[str, Any]) -> None:
    """A counted benchmark (``metric: instructions``) must hold a positive instruction count."""
    metric = extra.get("metric", "time")
    if metric not in ("time", "instructions"):
        raise RunFileError(f"{p}: benchmark {name}: unknown metric {metric!r}")
    value = extra.get("instructions")
    if metric == "instructions" and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or value == float("inf")
    ):
        raise RunFileError(f"{p}: benchmark {name}: metric instructions without a positive instructions count")
