"""Check names are declared (reports/runfile/declared_checks.py) and claimed by markers, never derived from function names."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import suite
from rnnsuite.reports.runfile.declared_checks import CHECK_NAMES, Claim, problems
from rnnsuite.suite.plugin.check_names import check_name


def _marks(obj: Any) -> list[pytest.Mark]:
    found = getattr(obj, "pytestmark", [])
    return list(found) if isinstance(found, list) else [found]


def suite_claims() -> tuple[list[Claim], list[str]]:
    """The claims of every correctness test under suite/, and the correctness tests without a check marker."""
    claims, unmarked = [], []
    for info in pkgutil.iter_modules(suite.__path__):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"rnnsuite.suite.{info.name}")
        module_marks = [m.mark if hasattr(m, "mark") else m for m in _marks(module)]
        for name, fn in vars(module).items():
            if not (name.startswith("test_") and callable(fn)):
                continue
            marks = module_marks + _marks(fn)
            if not any(m.name == "correctness" for m in marks):
                continue
            check = next((m for m in marks if m.name == "check"), None)
            test = f"suite/{info.name}.py::{name}"
            if check is None:
                unmarked.append(test)
                continue
            cases = next((frozenset(m.args) for m in marks if m.name == "cases"), None)
            claims.append(Claim(test, (check.args[0], *check.kwargs.get("also", ())), cases))
    return claims, unmarked


def test_every_correctness_test_claims_a_declared_name_and_no_two_clash() -> None:
    claims, unmarked = suite_claims()
    assert not unmarked, f"correctness tests without @pytest.mark.check: {unmarked}"
    assert len(claims) >= 30  # the scan found the suite's tests
    assert problems(claims) == []


def test_a_changed_name_is_caught() -> None:
    claims, _ = suite_claims()
    renamed = [Claim(c.test, ("forwards", *c.names[1:]), c.cases) if c.names[0] == "forward" else c for c in claims]
    found = problems(renamed)
    assert any("'forwards'" in p and "not declared" in p for p in found)
    assert any("'forward' is claimed by no test" in p for p in found)


def test_two_tests_claiming_one_name_for_one_case_clash() -> None:
    a = Claim("a", ("equivalence",), frozenset({"lstm_cell"}))
    b = Claim("b", ("equivalence",), frozenset({"lstm_cell", "gru_cell"}))
    every = Claim("c", ("equivalence",), None)
    disjoint = Claim("d", ("equivalence",), frozenset({"rnn_cell_loop"}))
    assert problems([a, disjoint], {"equivalence"}) == []
    assert problems([a, b], {"equivalence"}) == ["check name 'equivalence' is claimed by both a and b"]
    assert problems([disjoint, every], {"equivalence"}) == ["check name 'equivalence' is claimed by both d and c"]


def test_an_also_name_counts_as_claimed() -> None:
    assert problems([Claim("t", ("forward", "golden"), None)], {"forward", "golden"}) == []
    assert problems([Claim("t", ("forward",), None)], {"forward", "golden"}) == [
        "declared check name 'golden' is claimed by no test"
    ]


class _Item:
    def __init__(self, *args: str, **kwargs: Any) -> None:
        self.nodeid = "suite/test_x.py::test_y"
        self._mark = pytest.mark.check(*args, **kwargs).mark if args else None

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self._mark if name == "check" else None


def test_the_plugin_takes_the_marker_not_the_function_name() -> None:
    assert check_name(_Item("determinism")) == "determinism"  # the test is named test_deterministic
    with pytest.raises(pytest.UsageError, match=r"needs @pytest\.mark\.check"):
        check_name(_Item())
    with pytest.raises(pytest.UsageError, match="'nonsense' is not declared"):
        check_name(_Item("nonsense"))
    with pytest.raises(pytest.UsageError, match="'gold' is not declared"):
        check_name(_Item("forward", also=("gold",)))
    assert "determinism" in CHECK_NAMES
