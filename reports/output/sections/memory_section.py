"""Memory behaviour in the report: page faults per call, the resident-set peak, the process state and the allocator.

Each benchmark is timed twice (docs/run-file.md): *warm*, in the suite's process after a large
buffer was freed (glibc then keeps a forward's buffers), and *cold*, in a process with no history
right after the model was built, as a user's script times it (only where that process's page
faults make 1% or more of a call; elsewhere its median is null). The rules here:

- **state-dependent**: the cold and warm medians differ by more than ``STATE_DIFF`` (10%) of the
  warm one. The row then reads "state-dependent: cold X ms, warm Y ms".
- **allocation-bound**: the page faults of a call would cost at least ``BOUND_SHARE`` (10%) of
  its time at ``FAULT_COST_S`` each, in either state. 1 us is under the cost of a minor fault
  measured on the project's machine (docs/notes/page-faults.md, docs/notes/cold-state.md), which
  keeps the flag conservative on faster machines.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rnnsuite.reports.output import render as r
from rnnsuite.reports.output.render import fmt_ms
from rnnsuite.reports.runfile.run import RunFile
from rnnsuite.reports.runfile.schema import Cold

STATE_DIFF = 0.10
COLD_FAULT_SHARE = 0.01  # suite/measure/cold.py's FAULT_SHARE (the reports never import the suite)
FAULT_COST_S = 1e-6
BOUND_SHARE = 0.10
# The run file's memory fields the tidy table keeps under their own names (reports/runfile/schema.py
# declares them; reports/output/table.py reads them like every other declared column).
FIELDS = ("minor_faults_per_call", "major_faults_per_call", "peak_rss_bytes", "rss_before_bytes", "allocator", "built")
COLD = {
    "cold_median_s": "median_s",
    "cold_first_block_s": "first_block_s",
    "cold_faults_per_call": "minor_faults_per_call",
    "cold_process": "process",  # the process that gave the cold figures: fork or fresh
}
COLUMNS = [*FIELDS, *COLD, "memory_note"]


def bench_fields(bench: dict[str, Any]) -> dict[str, Any]:
    """The cold-state columns of one benchmark (no cold record, a failed one, an older file's missing fields: None)."""
    cold = RunFile.cold(bench)
    return {col: getattr(cold, key) if isinstance(cold, Cold) else None for col, key in COLD.items()}


def state_dependent(warm_s: float | None, cold_s: float | None) -> bool:
    """Whether the cold median differs from the warm one by more than ``STATE_DIFF`` of the warm one."""
    if warm_s is None or cold_s is None or pd.isna(warm_s) or pd.isna(cold_s) or not warm_s > 0:
        return False
    return bool(abs(cold_s / warm_s - 1.0) > STATE_DIFF)


def allocation_bound(median_s: float | None, faults_per_call: float | None) -> bool:
    """Whether ``faults_per_call`` at ``FAULT_COST_S`` each make ``BOUND_SHARE`` or more of ``median_s``."""
    if median_s is None or faults_per_call is None or pd.isna(median_s) or pd.isna(faults_per_call):
        return False
    return bool(median_s > 0 and faults_per_call * FAULT_COST_S >= BOUND_SHARE * median_s)


def note(row: pd.Series) -> str | None:
    """The report's memory note of a tidy row: allocation-bound (warm / cold) and the state dependence."""
    parts = []
    bound = [
        state
        for state, t, f in (
            ("warm", row["median_s"], row["minor_faults_per_call"]),
            ("cold", row["cold_median_s"], row["cold_faults_per_call"]),
        )
        if allocation_bound(_num(t), _num(f))
    ]
    if bound:
        parts.append(f"allocation-bound ({', '.join(bound)})")
    if state_dependent(_num(row["median_s"]), _num(row["cold_median_s"])):
        cold, warm = _num(row["cold_median_s"]) or 0.0, _num(row["median_s"]) or 0.0
        parts.append(f"state-dependent: cold {fmt_ms(cold)} ms, warm {fmt_ms(warm)} ms")
    return "; ".join(parts) or None


def derive(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (the tidy frame) with the numbers typed and ``memory_note`` filled."""
    for col in (*FIELDS, *COLD):
        if col not in ("allocator", "built", "cold_process"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["memory_note"] = [note(row) for _, row in df.iterrows()] if len(df) else pd.Series(dtype=object)
    return df


def memory_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The memory section's rows: every benchmark, warm and cold, faults per call and the resident peak (MiB)."""
    cols = {
        "run": "run",
        "key": "benchmark",
        "allocator": "allocator",
        "built": "built",
        "median_s": "warm (ms)",
        "minor_faults_per_call": "warm faults/call",
        "major_faults_per_call": "major faults/call",
        "peak_rss_mib": "peak RSS (MiB)",
        "cold_median_s": "cold (ms)",
        "cold_first_block_s": "cold first block (ms)",
        "cold_faults_per_call": "cold faults/call",
        "cold_process": "cold in",
        "memory_note": "note",
    }
    shown = df.assign(peak_rss_mib=df["peak_rss_bytes"] / 2**20)[list(cols)].rename(columns=cols)
    return shown.drop(columns=[c for c in ("run", "allocator") if shown[c].nunique(dropna=False) <= 1])


def allocator_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Benchmarks by allocator side by side (warm and cold ms, faults per call); empty with fewer than two allocators."""
    have = df[df["allocator"].notna()]
    allocators = list(dict.fromkeys(have["allocator"].astype(str)))
    if len(allocators) < 2:
        return pd.DataFrame()
    values = {"median_s": "warm ms", "minor_faults_per_call": "warm faults", "cold_median_s": "cold ms"}
    values |= {"cold_faults_per_call": "cold faults"}
    wide = have.pivot_table(index="key", columns="allocator", values=list(values), aggfunc="first", sort=False)
    order = [(v, a) for a in allocators for v in values if (v, a) in wide.columns]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(order))
    wide.columns = [f"{a} {values[v]}" for v, a in order]
    return wide.reset_index().rename(columns={"key": "benchmark"})


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


HOW = (
    "warm is the suite's process after a large buffer was freed (glibc then keeps a forward's buffers for reuse); "
    "cold is a process with no history that builds the model in its dtype and times it at once, as a user's "
    "script does (cold first block: its first timed block). A fork of a server that imported torch and built "
    "nothing screens each row with one block; the cold state is timed only where that block's page faults "
    f"matter (at {FAULT_COST_S * 1e6:g} us each, {COLD_FAULT_SHARE:.0%} or more of its time), and then in a fresh "
    "interpreter (the run file's cold process; --cold-process fork times it in the fork). "
    "The state found to move a timing is the allocator returning a forward's buffers to the kernel, which shows "
    "as faults; elsewhere it cannot move a call by 10%, and cold (ms) is blank (--cold-every times every row). "
    "Faults/call are minor page faults per call (each one a page the "
    "kernel had to zero and map); peak RSS is the process's resident high-water mark during the warm timing. "
    f"allocation-bound: the faults at {FAULT_COST_S * 1e6:g} us each make {BOUND_SHARE:.0%} or more of the time; "
    f"state-dependent: cold and warm differ by more than {STATE_DIFF:.0%}. Timings on a shared machine are noisy: "
    "read cold against warm as a ratio within one run."
)


def section_html(df: pd.DataFrame) -> str:
    """The report's memory section: every benchmark's memory row, then the allocators side by side."""

    if df.empty:
        return r.none_html("No benchmarks in the run file(s).")
    if df["minor_faults_per_call"].isna().all() and df["cold_median_s"].isna().all():
        return r.none_html("The run file(s) hold no memory fields (written before page faults were recorded).")
    rows = memory_frame(df)
    fmt: dict[str, r.Formatter] = {c: r.fmt_ms for c in rows if c.endswith("(ms)")}
    fmt |= {c: r.fmt_num for c in rows if "faults" in c or "MiB" in c}
    html_text = r.how_html(HOW) + r.styled(rows, "memory", fmt, css={"note": _note_css})
    side = allocator_frame(df)
    if not side.empty:
        how = "one row per benchmark, one group of columns per allocator (each run in its own process)."
        sfmt: dict[str, r.Formatter] = {
            c: (r.fmt_ms if c.endswith("ms") else r.fmt_num) for c in side if c != "benchmark"
        }
        html_text += "<h3>Allocators side by side</h3>" + r.how_html(how) + r.styled(side, "allocators", sfmt)
    return html_text


def _note_css(text: Any) -> str:
    return "color:#b35900;font-weight:600" if isinstance(text, str) and text else ""
