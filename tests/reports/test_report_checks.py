"""The report's correctness section shows every check, the norm-wise error in u and the margin to budget."""

from __future__ import annotations

from pathlib import Path

from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import correctness
from rnnsuite.reports.runfile.reader import load_run
from tests import synthetic_runs as syn


def _records() -> list[dict]:  # type: ignore[type-arg]
    fwd = syn.correctness("nn_lstm", dtype="bfloat16") | {
        "u": 2.0**-8,
        "err_u": 1.4,
        "budget_u": 9.0,
        "emulated_u": 1.2,
        "margin": 9.0 / 1.4,
        "norm_at": "output[step 3]",
    }
    grad = syn.correctness("nn_lstm", dtype="bfloat16", check="gradcheck", max_abs=None, max_rel=None)
    broken = syn.correctness("lstm_cell", dtype="float32", check="equivalence", outcome="failed", max_abs=None)
    other = {"key": "test_chapter_printed_shapes", "case": None, "device": None, "dtype": None}
    other |= {"check": "chapter_printed_shapes", "outcome": "failed", "message": "shapes differ: (2, 32, 20)"}
    other |= dict.fromkeys(("max_abs", "max_rel", "rtol", "atol", "tensor")) | {
        "sample": {}
    }  # as the writer fills them
    return [fwd, grad, broken, other]


def test_correctness_section_shows_every_check_in_units_of_u(tmp_path: Path) -> None:
    run = load_run(syn.write(tmp_path / "run.json", syn.run([], _records(), label="r")))
    data = Data([run], tb.tidy([run]), tb.checks([run]))
    frame = correctness.correctness_frame(data.checks[data.checks["case"].notna()])
    assert {"forward", "gradcheck", "equivalence"} <= set(frame.columns)
    row = frame[frame["dtype"] == "bfloat16"].iloc[0]
    assert row["forward"] == "passed · 1.4u of 9u (6.4x)"  # error, budget and margin, in u
    assert row["gradcheck"] == "passed"
    assert str(frame.iloc[0]["equivalence"]).startswith("failed")  # failures first
    html = correctness.correctness_section(data)
    assert "1 checks not tied to one case (1 failed)" in html
    assert "shapes differ: (2, 32, 20)" in html
