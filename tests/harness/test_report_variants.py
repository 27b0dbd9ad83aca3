"""The report's costs of the layers' options and kernels, from synthetic run files (no timing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.page import page
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import costs as cost_section
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.suite.harness.points import Point
from tests import synthetic_runs as syn


def _bench(
    case: str,
    median: float,
    *,
    backend: str = "eager",
    kernel: str = "vendor",
    base: str | None = None,
    label: str = "",
) -> dict[str, Any]:
    entry = syn.bench(case, samples=[median] * 5, backend=backend)
    entry["extra_info"] |= {"kernel": kernel, "kernel_label": label, "baseline": base, "kernel_ops": {}}
    return entry


def _frame(tmp_path: Path, benches: list[dict[str, Any]]) -> Any:
    run = load_run(syn.write(tmp_path / "run.json", syn.run(benches)))
    return tb.tidy([run]), run


def test_variant_cost_is_variant_over_plain(tmp_path: Path) -> None:
    """A packed variant at 3 ms against its plain layer at 2 ms reads 1.5; another backend is not paired."""
    df, _ = _frame(
        tmp_path,
        [
            _bench("nn_lstm", 0.002, label="mkldnn_rnn_layer x2"),
            _bench("nn_lstm[packed_sorted]", 0.003, base="nn_lstm", label="native: addmm x202"),
            _bench("nn_lstm[bidir]", 0.004, backend="compile", base="nn_lstm"),
        ],
    )
    costs = cost_section.variant_costs(df)
    assert list(costs["case"]) == ["nn_lstm[packed_sorted]"]
    assert costs["ratio"].iloc[0] == pytest.approx(1.5)
    assert costs["against_kernel"].iloc[0] == "mkldnn_rnn_layer x2"


def test_kernel_cost_is_native_over_vendor(tmp_path: Path) -> None:
    """nn_gru native at 9 ms against vendor at 3 ms reads 3.0, paired on the same benchmark only."""
    df, _ = _frame(
        tmp_path,
        [
            _bench("nn_gru", 0.003),
            _bench("nn_gru", 0.009, backend="eager_native", kernel="native"),
            _bench("nn_lstm", 0.001),
        ],
    )
    costs = cost_section.kernel_costs(df)
    assert list(costs["case"]) == ["nn_gru"]
    assert costs["ratio"].iloc[0] == pytest.approx(3.0)


def test_old_run_files_have_no_costs_and_the_page_says_so(tmp_path: Path) -> None:
    """A run file without the kernel fields still builds; the section says there are no pairs."""
    df, run = _frame(tmp_path, [syn.bench("nn_lstm", samples=[0.001] * 5)])
    assert cost_section.variant_costs(df).empty
    assert cost_section.kernel_costs(df).empty
    html = page(Data([run], df, tb.checks([run]), None))
    assert "Options of the layers: no pairs" in html


def test_kernel_label_shows_in_the_headline(tmp_path: Path) -> None:
    df, run = _frame(tmp_path, [_bench("nn_lstm", 0.002, label="mkldnn_rnn_layer x2")])
    assert "mkldnn_rnn_layer x2" in page(Data([run], df, tb.checks([run]), None))


def test_benchmark_key_round_trips_with_a_kernel() -> None:
    """The native kernel rides in the key's backend part (``eager_native``) and is parsed back."""
    key = "nn_lstm[bidir]-cpu-float32-fwd-eager_native-seed-T100_B32_I10_H20_L2"
    bp = Point.from_key(key)
    assert (bp.backend, bp.kernel, bp.id) == ("eager", "native", key)
    with pytest.raises(ValueError, match="unknown kernel 'fast'"):
        Point.from_key(key.replace("eager_native", "eager_fast"))
