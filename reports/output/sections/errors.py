"""The tests that crashed, timed out or did not finish (``rnnsuite.errors`` and ``rnnsuite.unfinished``, schema 4).

A benchmark that crashed has no timing, so it is shown apart from the timed rows: under the headline,
and with every crashed or timed-out check at the top of section (e), with the first lines its process
wrote (the fault handler's traceback).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from rnnsuite.reports.output import render as r
from rnnsuite.reports.runfile.run import RunFile
from rnnsuite.reports.runfile.schema import ERROR

COLUMNS = ["run", "test", "key", "pass", "check", "error", "nodeid", "output"]
SHOWN_LINES = 4  # of each error's output, in the page


def frame(runs: Sequence[RunFile]) -> pd.DataFrame:
    """One row per test that crashed or timed out, in the order they were recorded."""
    rows = [{"run": run.label} | {f.name: getattr(err, f.attr) for f in ERROR} for run in runs for err in run.errors]
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def counts(runs: Sequence[RunFile]) -> tuple[int, int, int]:
    """Crashed, timed out, did not finish: over all runs."""
    errors = frame(runs)
    timed = int(errors["error"].astype(str).str.startswith("timed out").sum())
    return len(errors) - timed, timed, sum(len(run.unfinished) for run in runs)


def line(runs: Sequence[RunFile]) -> str:
    """``2 tests crashed, 1 timed out, 3 did not finish``; empty when none did."""
    crashed, timed, left = counts(runs)
    if not (crashed or timed or left):
        return ""
    return f"{crashed} test(s) crashed, {timed} timed out, {left} did not finish"


def console(runs: Sequence[RunFile]) -> str:
    """The lines the build prints: each test that crashed or timed out, and what did not finish."""
    text = line(runs)
    if not text:
        return ""
    out = [text + ":"]
    out += [f"  {e['error']}: {e['nodeid']}" for e in frame(runs).to_dict("records")]
    out += [f"  did not finish: {nodeid}" for run in runs for nodeid in run.unfinished]
    return "\n".join(out)


def _table(errors: pd.DataFrame, uid: str) -> str:
    shown = errors.assign(output=errors["output"].map(_first_lines)).fillna("—")
    return r.styled(r.drop_constant(shown, ["run", "pass", "check"]), uid, {}, css={"error": r.outcome_css})


def _first_lines(output: object) -> str:
    lines = list(output) if isinstance(output, list) else []
    return " / ".join(line.strip() for line in lines[:SHOWN_LINES]) or "—"


def _unfinished(runs: Sequence[RunFile]) -> str:
    left = [(run.label, nodeid) for run in runs for nodeid in run.unfinished]
    if not left:
        return ""
    items = "".join(f"<li>{html.escape(nodeid)}</li>" for _, nodeid in left[:50])
    more = f"<li>… and {len(left) - 50} more</li>" if len(left) > 50 else ""
    return f"<p>{len(left)} test(s) did not finish (the run was cut short; pytest --resume runs them):</p><ul>{items}{more}</ul>"


def headline_html(runs: Sequence[RunFile]) -> str:
    """Under the headline table: the benchmarks that crashed or timed out (no timing), and what did not finish."""
    errors = frame(runs)
    benches = errors[errors["test"] == "benchmark"].drop(columns=["test", "check"])
    out = ""
    if not benches.empty:
        out += (
            f"<p><b>{len(benches)} benchmark(s) crashed or timed out</b>: no timing, not slow; "
            "their process died, see section (e).</p>" + _table(benches, "headline_errors")
        )
    return out + _unfinished(runs)


def section_html(runs: Sequence[RunFile]) -> str:
    """At the top of section (e): every test that crashed or timed out, with the first lines of its fault."""
    errors = frame(runs)
    if errors.empty:
        return ""
    how = (
        f"{line(runs)}. A crash is the test's process dying (the signal is named); a time-out is a test that ran "
        "past the per-test limit (rnnsuite isolate --time-limit) and was stopped. Neither is a wrong "
        "value or a slow one. The output is the start of Python's fault-handler traceback, innermost call first."
    )
    return r.how_html(how) + _table(errors, "errors")
