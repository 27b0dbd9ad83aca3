"""The correctness records a session keeps: each check's outcome and errors, and the matmul peaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnsuite.cases.user_code import take_warnings
from rnnsuite.reports.runfile.writer import check_record
from rnnsuite.suite.harness.points import Point


@dataclass
class Records:
    """What the run file gets besides the timings."""

    correctness: list[dict[str, Any]] = field(default_factory=list)
    peaks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def record_check(records: Records, point: Point, check: str, outcome: str, **fields: Any) -> None:
    """Add one correctness record of a point of the matrix (see docs/run-file.md)."""
    ident = point.identity
    if point.case.mode is not None:
        fields = {"case_mode": point.case.mode} | fields
    seen = take_warnings(point.case.name)
    if seen:  # the case's own code warned: recorded, not fatal (cases/user_code.py)
        fields = {"warnings": seen} | fields
    add_record(records, ident, check, outcome, kernel=point.kernel, **fields)


def add_record(records: Records, ident: dict[str, Any], check: str, outcome: str, **fields: Any) -> None:
    """Add one correctness record: ``ident`` holds ``key, case, device, dtype``; missing errors are null."""
    records.correctness.append(check_record(ident, check, outcome, **fields))
