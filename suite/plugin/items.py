"""The hooks and fixtures of the suite's own tests: the matrix's parametrization, the fixtures, a check's
record of its outcome. suite/conftest.py loads them, so they reach only the tests under suite/ (a
project's own tests in the same session keep their fixtures); the session's hooks are in
suite/plugin/hooks.py."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnsuite.cases import CASES
from rnnsuite.suite.harness.kernels import DEFAULT_KERNEL, kernel_flags
from rnnsuite.suite.harness.matrix import points
from rnnsuite.suite.harness.records import Records, add_record
from rnnsuite.suite.plugin.check_names import RECORDS_KEY, item_identity
from rnnsuite.suite.plugin.options import OPTIONS_KEY, Options


def device_marks(device: str) -> list[pytest.MarkDecorator]:
    if device == "cuda" and not torch.cuda.is_available():
        return [pytest.mark.skip(reason="CUDA not available on this machine")]
    return []


def matrix(opts: Options, kind: str = "check", only_cases: tuple[str, ...] | None = None, **only: Any) -> list[Any]:
    """``pytest.param(Point)`` for every point of ``kind`` the options allow (``suite.harness.matrix.points``);
    of the cases of ``only_cases`` (a test's marker) and ``opts.only_cases`` (``--rnnsuite``) where given."""
    if opts.only_cases is not None:
        asked = opts.only_cases
        if kind == "benchmark":  # their baselines too: the session keeps those that pair with one (hooks.py)
            asked += tuple(b for c in asked if (b := CASES[c].baseline) is not None and b not in asked)
        only_cases = tuple(c for c in (asked if only_cases is None else only_cases) if c in asked)
    found = points(opts, kind, only_cases=only_cases, **only)
    return [pytest.param(p, id=p.id, marks=device_marks(p.device)) for p in found]


@pytest.fixture(autouse=True)
def kernel_of_point(request: pytest.FixtureRequest) -> Any:
    """A matrix test runs under its point's kernel (``--kernel``); other tests under torch's default."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    point = params.get("point", params.get("point64"))
    with kernel_flags(point.kernel if point is not None else DEFAULT_KERNEL):
        yield


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    opts = metafunc.config.stash[OPTIONS_KEY]
    marker = metafunc.definition.get_closest_marker("cases")  # @pytest.mark.cases("name", ...)
    only = tuple(marker.args) if marker else None
    if "point" in metafunc.fixturenames:
        metafunc.parametrize("point", matrix(opts, only_cases=only))
    if "point64" in metafunc.fixturenames:  # float64-only checks (gradcheck)
        metafunc.parametrize("point64", matrix(opts, only_dtypes=(torch.float64,), only_cases=only))
    if "compiled_point" in metafunc.fixturenames:  # the compiled checks (suite/test_compiled.py)
        skip = pytest.mark.skip(reason="the compiled-model checks run with --backend compile")
        compiled = [pytest.param(None, id="eager-only", marks=skip)]
        metafunc.parametrize(
            "compiled_point", matrix(opts, only_cases=only) if "compile" in opts.backends else compiled
        )
    if "bench_point" in metafunc.fixturenames:
        metafunc.parametrize("bench_point", matrix(opts, "benchmark"))


@pytest.fixture
def options(request: pytest.FixtureRequest) -> Options:
    """The validated suite options."""
    return request.config.stash[OPTIONS_KEY]


@pytest.fixture
def records(request: pytest.FixtureRequest) -> Records:
    """The session's correctness records and matmul peaks."""
    return request.config.stash[RECORDS_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every correctness test reaches the run file: one that did not record itself gets a record of its
    outcome (passed, or failed with the first line of the failure; a skip is not a check)."""
    report = yield
    done = report.failed or (report.passed and report.when == "call")
    if done and item.get_closest_marker("correctness") is not None:
        ident, check = item_identity(item)
        recs = item.config.stash[RECORDS_KEY]
        if not any(r["key"] == ident["key"] and r["check"] == check for r in recs.correctness):
            fields: dict[str, Any] = {}
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash is not None else str(report.longrepr)
                fields["message"] = message.splitlines()[0][:300] if message else ""
            add_record(recs, ident, check, "failed" if report.failed else "passed", **fields)
    return report
