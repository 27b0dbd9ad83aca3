"""After a hang, the rest of that case on that device and dtype is skipped (suite/plugin/hangs.py)."""

from __future__ import annotations

from typing import Any

from rnnsuite.suite.plugin.hangs import hung_groups, skip_hung


def _journal_error(nodeid: str, error: str, case: str, dtype: str = "float32") -> dict[str, Any]:
    ident = {"test": "check", "case": case, "device": "cpu", "dtype": dtype}
    return {"kind": "error", "nodeid": nodeid, "error": error, "ident": ident}


def test_only_time_outs_make_a_group_hung_from_either_record_shape() -> None:
    errors = [
        _journal_error("t::a[nn_gru]", "timed out after 60 s", "nn_gru"),
        _journal_error("t::b[nn_gru]", "timed out after 60 s", "nn_gru"),  # the first one is named
        _journal_error("t::c[nn_lstm]", "crashed (SIGSEGV)", "nn_lstm"),  # a crash costs a restart, not a limit
        # a checks file's error entry: the identity at the top level
        {
            "nodeid": "t::d[gru_cell]",
            "error": "timed out after 5 s",
            "case": "gru_cell",
            "device": "cpu",
            "dtype": "float16",
        },
    ]
    assert hung_groups(errors) == {
        ("nn_gru", "cpu", "float32"): "t::a[nn_gru] (timed out after 60 s)",
        ("gru_cell", "cpu", "float16"): "t::d[gru_cell] (timed out after 5 s)",
    }


class _Item:
    def __init__(self, case: str | None, dtype: str) -> None:
        self.ident = {"case": case, "device": "cpu", "dtype": dtype}
        self.marks: list[Any] = []

    def add_marker(self, mark: Any) -> None:
        self.marks.append(mark)


class _Config:
    class pluginmanager:
        @staticmethod
        def get_plugin(name: str) -> None:
            return None


def test_the_hung_groups_tests_are_skipped_with_the_hung_test_named_and_no_other() -> None:
    hung = hung_groups([_journal_error("t::a[nn_gru]", "timed out after 60 s", "nn_gru")])
    same, variant, other_dtype, other_case, cell, other = (
        _Item("nn_gru", "float32"),
        _Item("nn_gru[bidir]", "float32"),  # a variant calls its layer's kernel
        _Item("nn_gru", "float64"),
        _Item("nn_lstm", "float32"),
        _Item("gru_cell", "float32"),  # a hand-written cell timed against nn_gru runs no nn.GRU
        _Item(None, "float32"),
    )
    items = [same, variant, other_dtype, other_case, cell, other]
    marked = skip_hung(_Config(), items, hung, lambda item: item.ident, say=True)  # type: ignore[arg-type]
    assert marked == 2
    (mark,) = same.marks
    assert mark.name == "skip"
    assert (
        mark.kwargs["reason"] == "not run: nn_gru on cpu in float32: nn_gru hung in t::a[nn_gru] (timed out after 60 s)"
    )
    (mark,) = variant.marks
    assert mark.kwargs["reason"].startswith("not run: nn_gru[bidir] on cpu in float32: nn_gru hung in t::a[nn_gru]")
    assert [i.marks for i in (other_dtype, other_case, cell, other)] == [[], [], [], []]


def test_a_hang_in_a_variant_skips_its_layer_too() -> None:
    hung = hung_groups([_journal_error("t::v[nn_gru[bidir]]", "timed out after 60 s", "nn_gru[bidir]")])
    assert hung == {("nn_gru", "cpu", "float32"): "t::v[nn_gru[bidir]] (timed out after 60 s)"}


def test_nothing_is_skipped_without_a_hang() -> None:
    item = _Item("nn_gru", "float32")
    crash = [_journal_error("t::a[nn_gru]", "crashed (SIGKILL)", "nn_gru")]
    assert skip_hung(_Config(), [item], hung_groups(crash), lambda i: i.ident, say=False) == 0  # type: ignore[arg-type]
    assert not item.marks
