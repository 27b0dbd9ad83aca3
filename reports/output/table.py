"""Run files as tidy pandas tables (one row per benchmark per run), and the tables derived from them.

The rows timed against a baseline are paired in ``reports/output/sections/baselines.py``, the sweep is fitted in ``reports/output/sections/sweep.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rnnsuite.reports.output.sections import memory_section
from rnnsuite.reports.runfile.record import kinds, names
from rnnsuite.reports.runfile.run import RunFile
from rnnsuite.reports.runfile.schema import BENCH, CHECK

STATS = {
    "median_s": "median",
    "iqr_s": "iqr",
    "q1_s": "q1",
    "q3_s": "q3",
    "rounds": "rounds",
    "iterations": "iterations",
}
COLUMNS = [
    "run", "key", "case", "family", "baseline", "device", "dtype", "pass", "backend", "size", "shape",
    "seq_len", "batch", "input_size", "hidden_size", "num_layers", "median_s", "iqr_s", "q1_s", "q3_s",
    "rounds", "iterations", "flops", "tokens", "gflops", "peak_gflops", "peak_fraction", "tokens_per_s",
    "peak_mem_bytes", "compile_s", "torch", "threads", *memory_section.COLUMNS, "kernel", "kernel_label",
    "metric", "instructions",
]  # fmt: skip
TIMES = ["median_s", "iqr_s", "q1_s", "q3_s"]
# The run file's fields each table keeps, typed by their declaration in reports/runfile/schema.py.
_KEPT = [c for c in COLUMNS if c in names(BENCH) and c not in STATS]
INTS = tuple(c for c in _KEPT if c in kinds(BENCH, "int"))
FLOATS = tuple(c for c in _KEPT if c in kinds(BENCH, "float"))
CHECK_COLUMNS = ["run", *(n for n in names(CHECK) if n != "sample")]
# What identifies one measurement within a run; the columns that group a case's rows.
POINT = ["case", "device", "dtype", "pass", "backend", "size", "shape"]
GROUP = ["run", "case", "device", "dtype", "pass", "backend"]


def tidy(runs: Sequence[RunFile]) -> pd.DataFrame:
    """One row per benchmark per run, with the derived columns of docs/run-file.md.

    Args:
        runs: loaded run files; each one's ``label`` fills the ``run`` column.

    Returns:
        A frame with the columns of ``COLUMNS``; fields an old or partial file lacks are NaN. Counted
        benchmarks (``metric`` instructions) have NaN times, and so no rates.
    """
    rows = [_bench_row(run, bench) for run in runs for bench in run.benchmarks]
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    for col in (*INTS, "rounds", "iterations"):
        df[col] = _as_int(df[col])
    for col in (*TIMES, *FLOATS):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    # A counted benchmark (--metric instructions) has pytest-benchmark stats too: the time of the
    # whole count under valgrind, which is no timing of the code. Its measurement is ``instructions``.
    df.loc[df["metric"].eq("instructions"), TIMES] = np.nan
    df["tokens"] = df["tokens"].fillna(df["seq_len"] * df["batch"])
    median = df["median_s"].where(df["median_s"] > 0)
    df["gflops"] = _float(df["flops"]) / median / 1e9
    df["peak_fraction"] = df["gflops"] / df["peak_gflops"].where(df["peak_gflops"] > 0)
    df["tokens_per_s"] = _float(df["tokens"]) / median
    return memory_section.derive(df)


def checks(runs: Sequence[RunFile]) -> pd.DataFrame:
    """The correctness records of the runs, one row per check.

    Args:
        runs: loaded run files.

    Returns:
        A frame with the columns of ``CHECK_COLUMNS``; missing fields are NaN.
    """
    rows = [{"run": run.label} | {c: rec.get(c) for c in CHECK_COLUMNS[1:]} for run in runs for rec in run.correctness]
    df = pd.DataFrame.from_records(rows, columns=CHECK_COLUMNS)
    for col in kinds(CHECK, "float"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df


def _bench_row(run: RunFile, bench: dict[str, Any]) -> dict[str, Any]:
    extra, stats = bench.get("extra_info", {}), bench.get("stats", {})
    row: dict[str, Any] = {"run": run.label} | {k: extra.get(k) for k in _KEPT}
    row |= {col: stats.get(k) for col, k in STATS.items()}
    row |= memory_section.bench_fields(bench)
    if row["peak_gflops"] is None:  # older files: look the peak up in the run's own list
        row["peak_gflops"] = _run_peak(run, extra.get("device"), extra.get("dtype"))
    return row


def _run_peak(run: RunFile, device: Any, dtype: Any) -> float | None:
    found = [p.get("gflops") for p in run.peaks if p.get("device") == device and p.get("dtype") == dtype]
    return found[0] if found else None


def _as_int(col: pd.Series) -> pd.Series:
    """Integers with missing values (``Int64``); a value that is not a whole number becomes missing."""
    num = pd.to_numeric(col, errors="coerce").astype("float64")
    return num.where(num == num.round()).astype("Int64")


def _float(col: pd.Series) -> pd.Series:
    return col.astype("float64")


# ----------------------------------------------------------------------------------- derived tables


def outcomes(check_df: pd.DataFrame) -> pd.DataFrame:
    """One verdict per run, case, device and dtype over all its checks.

    Args:
        check_df: the frame of ``checks``.

    Returns:
        Columns ``run, case, device, dtype, correctness``: ``crashed (check, ...)``, ``timed out (...)`` or
        ``failed (...)`` when a check did so, ``passed`` when one passed and none failed, else ``skipped``.
    """
    keys = ["run", "case", "device", "dtype"]
    if check_df.empty:
        return pd.DataFrame(columns=[*keys, "correctness"])
    verdict = check_df.groupby(keys, dropna=False, sort=False).apply(_verdict, include_groups=False)
    return verdict.rename("correctness").reset_index()


def _verdict(group: pd.DataFrame) -> str:
    """``crashed (backward)``, ``timed out (...)``, ``failed (...)`` (each that applies, worst first), else passed or skipped."""
    bad = []
    for outcome in ("crashed", "timed out", "failed"):
        names = group.loc[group["outcome"] == outcome, "check"].astype(str).tolist()
        if names:
            bad.append(f"{outcome} ({', '.join(names)})")
    if bad:
        return "; ".join(bad)
    return "passed" if (group["outcome"] == "passed").any() else "skipped"


def headline(df: pd.DataFrame, check_df: pd.DataFrame) -> pd.DataFrame:
    """The headline rows: the seed size (else every non-sweep size), with each case's correctness.

    Args:
        df: the tidy frame.
        check_df: the frame of ``checks``.

    Returns:
        The selected rows of ``df`` with a ``correctness`` column, the runs of one benchmark next to each other.
    """
    rows = df[df["size"] == "seed"]
    if rows.empty:
        rows = df[df["size"] != "sweep"] if (df["size"] != "sweep").any() else df
    merged = rows.merge(outcomes(check_df), on=["run", "case", "device", "dtype"], how="left")
    merged["correctness"] = merged["correctness"].fillna("not checked")
    return first_seen_sort(merged, ["case", "device", "dtype", "pass", "backend", "size", "shape", "run"])


def first_seen_sort(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by ``cols``, each column's values ranked by first appearance (runs of one benchmark together).

    Args:
        df: any frame.
        cols: the sort keys, most significant first.

    Returns:
        The sorted rows, index reset.
    """
    if df.empty:
        return df.reset_index(drop=True)
    codes = [pd.factorize(df[c], use_na_sentinel=False)[0] for c in reversed(cols)]
    return df.iloc[np.lexsort(codes)].reset_index(drop=True)


def best_efficiency(df: pd.DataFrame) -> pd.DataFrame:
    """Each case's best achieved GFLOP/s over its shapes, with the fraction of the matmul peak there.

    Args:
        df: the tidy frame.

    Returns:
        One row per ``GROUP``: ``size, shape, gflops, peak_gflops, peak_fraction`` of the fastest shape.
    """
    ok = df[df["gflops"].notna()]
    if ok.empty:
        return pd.DataFrame(columns=[*GROUP, "size", "shape", "gflops", "peak_gflops", "peak_fraction"])
    best = ok.loc[ok.groupby(GROUP, dropna=False, sort=False)["gflops"].idxmax()]
    return best[[*GROUP, "size", "shape", "gflops", "peak_gflops", "peak_fraction"]].reset_index(drop=True)


def side_by_side(df: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """The median of each benchmark key in every run, and each run's ratio to the first.

    Args:
        df: the tidy frame of several runs.
        labels: the runs in order; the first is the baseline.

    Returns:
        One row per key (in first-seen order) with ``POINT`` columns, ``median_s[<run>]`` per run and
        ``ratio[<run>]`` for each run after the first (its median / the first's; NaN where either is missing).
    """
    first = df.drop_duplicates(["key"])[["key", *POINT]]
    medians = df.drop_duplicates(["run", "key"]).pivot(index="key", columns="run", values="median_s")
    medians = medians.reindex(columns=list(labels))
    out = first.set_index("key")
    for label in labels:
        out[f"median_s[{label}]"] = medians[label]
    for label in labels[1:]:
        out[f"ratio[{label}]"] = medians[label] / medians[labels[0]]
    return out.reset_index()


def unique_labels(labels: Sequence[str]) -> list[str]:
    """The labels made unique: a repeated label gets `` (2)``, `` (3)``, ... in order.

    Args:
        labels: run labels, possibly repeated.

    Returns:
        The labels, each distinct.
    """
    seen: set[str] = set()
    out = []
    for label in labels:
        name, n = label, 1
        while name in seen:
            n += 1
            name = f"{label} ({n})"
        seen.add(name)
        out.append(name)
    return out
