"""Known defects (``case(..., known_defects=)``): a declared check's failure recorded as a known defect, not
a failure; the check passing while the defect is declared, a failure until the declaration is removed.

Strict, as pytest's ``xfail(strict=True)``: the check always runs. The test hook that applies this
(``suite/plugin/user_cases.py``) asks :func:`declared` before the test and hands the outcome to
:func:`shown` or :func:`gone`, which settle the run file's record and return the line pytest reports.
"""

from __future__ import annotations

from typing import Any

from rnnsuite.cases.registry import KnownDefect
from rnnsuite.cases.user_code import describe
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records, record_check


def declared(point: Point, check: str) -> KnownDefect | None:
    """The known defect declared for ``check`` at this point (its case, mode, device and dtype), or None."""
    return point.case.known_defect(check, point.device, point.dtype)


def _settle(records: Records, point: Point, check: str, outcome: str, **fields: Any) -> None:
    """Set the outcome of the check's record (written by the check, or added here where it wrote none)."""
    mine = [r for r in records.correctness if r["key"] == point.id and r["check"] == check]
    if not mine:
        record_check(records, point, check, outcome, **fields)
        return
    for rec in mine:
        rec |= {"outcome": outcome} | fields


def shown(records: Records, point: Point, check: str, defect: KnownDefect, error: BaseException) -> str:
    """The check failed as declared: recorded as ``known defect``; the line for pytest's xfail."""
    text = (str(error) if isinstance(error, AssertionError) else describe(error)).strip()
    seen = (text.splitlines() or [type(error).__name__])[0][:300]
    _settle(records, point, check, "known defect", message=seen, defect=defect.reason, reproducer=defect.reproducer)
    return f"{point.id} {check}: known defect: {defect.reason} (reproducer {defect.reproducer}); seen: {seen}"


def gone(records: Records, point: Point, check: str, defect: KnownDefect) -> str:
    """The check passed although a defect is declared: recorded as failed; the line for pytest's failure."""
    message = (
        f"{point.id} {check}: the known defect no longer shows ({defect.reason}; reproducer {defect.reproducer}): "
        f"remove its known_defect declaration from case {point.case.group!r}"
    )
    _settle(records, point, check, "failed", message=message[:300], defect=defect.reason, reproducer=defect.reproducer)
    return message
