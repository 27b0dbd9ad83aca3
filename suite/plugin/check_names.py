"""The check name and identity of each correctness test (names declared in reports/runfile/declared_checks.py)."""

from __future__ import annotations

from typing import Any

import pytest

from rnnsuite.cases import CASES
from rnnsuite.reports.runfile.declared_checks import CHECK_NAMES
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.vocabulary import identity

RECORDS_KEY = pytest.StashKey[Records]()

POINT_PARAMS = ("point", "point64", "compiled_point", "bench_point")


def item_identity(item: pytest.Item) -> tuple[dict[str, Any], str]:
    """The record's ``key, case, device, dtype`` and check name of a correctness test.

    A test on a point of the matrix is that point; one on a case's NumPy reference is the case on
    ``cpu`` in ``float64``; any other is keyed by its test id, with no case.
    """
    return point_identity(item), check_name(item)


def point_of(item: pytest.Item) -> Point | None:
    """The matrix point a test runs on (a check's, a float64 check's, a compiled check's or a benchmark's), else None."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((params[p] for p in POINT_PARAMS if isinstance(params.get(p), Point)), None)


def point_identity(item: pytest.Item) -> dict[str, Any]:
    """The ``key, case, device, dtype`` (and ``kernel``) of any test: its point, its case's reference, or its id."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    point = point_of(item)
    if point is not None:
        return point.identity | {"kernel": point.kernel}
    if params.get("name") in CASES:
        case = params["name"]
        return identity(f"{case}-cpu-float64", case, "cpu", "float64")
    return identity(item.name, None, None, None)


WORKER_RECORDS = "rnnsuite_correctness"  # the key of an xdist worker's records in its ``workeroutput``


def check_name(item: pytest.Item) -> str:
    """A correctness test's check name: its ``@pytest.mark.check(NAME)``, declared in reports/runfile/declared_checks.py.

    Raises:
        pytest.UsageError: the test has no such marker, or its name is not declared.
    """
    marker = item.get_closest_marker("check")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: a correctness test needs @pytest.mark.check(NAME)")
    name = str(marker.args[0])
    for claimed in (name, *marker.kwargs.get("also", ())):
        if claimed not in CHECK_NAMES:
            raise pytest.UsageError(
                f"{item.nodeid}: check name {claimed!r} is not declared in reports/runfile/declared_checks.py"
            )
    return name
