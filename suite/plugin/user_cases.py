"""Users' cases in a pytest run: ``--cases`` and the entry points loaded, a wrong case a one-line failure.

Loading happens first in ``pytest_configure`` (before the options that name a case are read, and
before collection builds the matrix); a module that does not import, or a case name that clashes,
stops pytest with one line and exit 4. ``--cases`` is handed on to the processes pytest starts
(``RNNSUITE_CASES``). At run time a user's builder, forward or map that is wrong raises
``CaseError``; its test fails with that line and no traceback from inside the harness.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from rnnsuite.cases.api import CaseError, KnownDefect
from rnnsuite.cases.load import LoadError, export, load, load_module
from rnnsuite.suite.harness import defects
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.plugin.check_names import RECORDS_KEY, check_name, point_of
from rnnsuite.suite.plugin.parsers import option


def cases_option(config: pytest.Config) -> list[str]:
    """The modules of every ``--cases`` (each a module or a comma list of them)."""
    values = option(config, "cases", None) or []
    return [m.strip() for v in values for m in str(v).split(",") if m.strip()]


def load_user_cases(config: pytest.Config) -> tuple[str, ...] | None:
    """Load the entry points', ``--cases``'s and ``--rnnsuite``'s modules; a bad one: a one-line usage error (exit 4).

    Returns:
        The cases of the ``--rnnsuite`` modules, the only ones such a run checks; None without ``--rnnsuite``
        (every registered case runs, as in ``pytest suite``).
    """
    from rnnsuite.plugin import asked_cases

    asked = asked_cases(config)
    modules = [*cases_option(config), *asked]
    try:
        load(modules)
        selected = tuple(n for spec in asked for n in load_module(spec, "--rnnsuite"))
    except LoadError as exc:
        raise pytest.UsageError(str(exc)) from None
    export(modules)
    return selected if asked else None


def _known_defect(item: pytest.Item) -> tuple[Point, str, KnownDefect] | None:
    """The point, check name and known defect of a correctness test whose case declares one for it."""
    if item.get_closest_marker("correctness") is None:
        return None
    point = point_of(item)
    if point is None:
        return None
    check = check_name(item)
    defect = defects.declared(point, check)
    return None if defect is None else (point, check, defect)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A user case's ``CaseError`` fails its test with its lines (no traceback); a check with a known defect
    declared (``case(..., known_defects=)``) is an xfail while it fails and a failure once it passes."""
    known = _known_defect(item)
    records = item.config.stash[RECORDS_KEY] if known is not None else None
    try:
        result = yield
    except (Exception, pytest.fail.Exception) as exc:  # pytest.fail: e.g. a torch.compile that failed
        if known is None and not isinstance(exc, CaseError):
            raise
        if known is None:
            message, xfail = f"{item.name}: {exc}", False
        else:
            message, xfail = defects.shown(records, *known, exc), True  # type: ignore[arg-type]
    else:
        if known is None:
            return result
        message, xfail = defects.gone(records, *known), False  # type: ignore[arg-type]
    # Outside the except: no "during handling" chain in the report.
    if xfail:
        pytest.xfail(message)
    pytest.fail(message, pytrace=False)
