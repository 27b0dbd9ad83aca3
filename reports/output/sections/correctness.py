"""The report's section (e): each check's outcome and error against its budget, failures first."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import errors


def correctness_section(data: Data) -> str:
    """(e) Each check's outcome and errors, failures first; checks not tied to a case listed apart."""
    checks = data.checks
    crashes = errors.section_html(data.runs)
    if checks.empty:
        return crashes + r.none_html("No correctness records in the run file(s).")
    counts = checks["outcome"].value_counts()
    line = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "skipped"))
    line += "".join(f", {counts[k]} {k}" for k in ("crashed", "timed out") if counts.get(k, 0))
    how = (
        f"{len(checks)} checks: {line}. One row per case, device and dtype, a column per check. Value checks show "
        "the norm-wise relative error as a multiple of the dtype's unit roundoff u, the budget it must stay under "
        "(a multiple of the honest error of the dtype's rounding, docs/tolerances.md) and the margin (budget / "
        "error); then the largest absolute error and the elementwise tolerance (|error| <= atol + rtol * |expected|)."
    )
    in_matrix = checks[checks["case"].notna()]
    frame = correctness_frame(in_matrix) if not in_matrix.empty else None
    names = in_matrix["check"].drop_duplicates().tolist()
    out = (
        crashes
        + r.how_html(how)
        + (r.styled(frame, "correctness", {}, css=dict.fromkeys(names, r.outcome_css)) if frame is not None else "")
    )
    return out + other_checks(checks[checks["case"].isna()])


def other_checks(checks: pd.DataFrame) -> str:
    """The checks that are not about one case, device and dtype (the references, the chapter's facts)."""
    if checks.empty:
        return ""
    failed = checks[checks["outcome"] == "failed"]
    head = f"<p>{len(checks)} checks not tied to one case ({len(failed)} failed)"
    if failed.empty:
        return head + ": " + html.escape(", ".join(sorted(set(checks["check"].astype(str))))) + ".</p>"
    rows = failed[["run", "key", "check", "message"]].fillna("—")
    return head + ":</p>" + r.styled(r.drop_constant(rows, ["run"]), "othercheck", {})


def correctness_frame(checks: pd.DataFrame) -> pd.DataFrame:
    """One row per run, case, device and dtype, a column per check (first seen first), failures first."""
    keys = ["run", "case", "device", "dtype"]
    checks = checks.fillna(dict.fromkeys([*keys, "check"], "—"))
    cells = [
        _check_cell(*v)
        for v in zip(*(checks[c] for c in ("outcome", "max_rel", "err_u", "budget_u", "margin")), strict=True)
    ]
    text = checks.assign(cell=cells)
    names = text["check"].drop_duplicates().tolist()
    wide = text.groupby([*keys, "check"], sort=False)["cell"].first().unstack("check")
    wide = wide.reindex(columns=names).reset_index()
    order = tb.first_seen_sort(checks[keys].drop_duplicates(), ["case", "device", "dtype", "run"])
    wide = order.merge(wide, on=keys, how="left")
    worst = checks.sort_values("max_abs", ascending=False, na_position="last").drop_duplicates(keys)
    wide = wide.merge(worst[[*keys, "max_abs", "rtol", "atol", "tensor"]], on=keys, how="left")
    failed = (
        wide[names].apply(lambda col: col.astype(str).str.startswith(("failed", "crashed", "timed out"))).any(axis=1)
    )
    wide = wide.assign(_failed=~failed).sort_values("_failed", kind="stable").drop(columns="_failed")
    wide[["max_abs", "rtol", "atol"]] = wide[["max_abs", "rtol", "atol"]].map(r.fmt_err)
    wide[names] = wide[names].astype(object).fillna("—")
    return r.drop_constant(wide, ["run"]).rename(columns={"max_abs": "largest abs error", "tensor": "in tensor"})


def _check_cell(outcome: Any, max_rel: Any, err_u: Any, budget_u: Any, margin: Any) -> str:
    """``passed · 1.4u of 9u (6.4x)``; without the norm-wise figures the largest relative error."""
    if outcome == "skipped":
        return str(outcome)
    if not pd.isna(budget_u) and not pd.isna(err_u):
        spare = "" if pd.isna(margin) else f" ({float(margin):.2g}x)"
        return f"{outcome} · {float(err_u):.2g}u of {float(budget_u):.2g}u{spare}"
    err = "" if r.fmt_err(max_rel) == "—" else f" · {r.fmt_err(max_rel)}"
    return f"{outcome}{err}"
