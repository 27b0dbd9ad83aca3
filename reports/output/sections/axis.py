"""``reports build ... --by AXIS``: the same benchmarks set side by side along one axis (device, torch, ...).

Section (f) matches runs on the whole benchmark key, which holds the device: a CPU run and an
H100 run never meet there. Here each benchmark is matched on what the problem is (``MATCH``: case,
dtype, pass, backend without its ``_native`` suffix, shape) plus the point's own ``device`` and
``kernel`` unless one of them is the axis; the axis is left out of the match and its values become
the columns. Torch build, machine and allocator belong to a run, not to a benchmark: they are never
matched, and the section names those that differ besides the axis (a CPU-vs-H100 table also
compares two torch builds and two hosts).

Each axis value gets its time, GFLOP/s, % of that device's matmul peak (its own run's peak) and the
correctness error in u (the norm-wise relative error over the dtype's unit roundoff: the worst of
the case's forward and backward checks for that device and dtype; schema 1 runs did not record it).
Each value after the first gets its time ratio to the first with the 95% interval of
``reports/gate/intervals.py``. Where several runs give the same axis value (two CPU runs under
``--by device``), the first run given wins and the section says how many rows it left out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import comparison_plots
from rnnsuite.reports.output import render as r
from rnnsuite.reports.runfile.machine_identity import machine_id
from rnnsuite.reports.runfile.run import RunFile

AXES = ("device", "torch", "machine", "allocator", "kernel")
MATCH = ["family", "case", "dtype", "pass", "backend", "shape"]
POINT_AXES = ("device", "kernel")  # per benchmark; matched unless it is the axis
RUN_FACTS = ("torch", "machine", "allocator")  # per run; never matched, named where they differ
VALUES = {"median_s": "ms", "gflops": "GFLOP/s", "peak_fraction": "% of peak", "err_u": "error (u)"}


class AxisError(Exception):
    """An axis the runs cannot be set side by side along; the message is one line."""


@dataclass(frozen=True)
class Along:
    """The matched benchmarks along one axis."""

    axis: str
    values: list[str]  # the axis values, in the order the runs give them
    wide: pd.DataFrame  # one row per matched benchmark: MATCH, the point axes, then VALUES and ratios per value
    differ: list[str]  # run facts other than the axis that differ between the values' runs
    dropped: int  # rows left out because an earlier run gave the same axis value and benchmark


def _long(df: pd.DataFrame, checks: pd.DataFrame, runs: Sequence[RunFile], axis: str) -> pd.DataFrame:
    """One row per benchmark per run with its axis value, run facts and error in u."""
    facts = {run.label: _run_facts(run) for run in runs}
    rows = df.assign(
        backend=df["backend"].str.removesuffix("_native"),
        kernel=df["kernel"].fillna("vendor"),
        machine=df["run"].map(lambda label: facts[label]["machine"]),
        allocator=df["allocator"].fillna(df["run"].map(lambda label: facts[label]["allocator"])),
        torch=df["torch"].fillna(df["run"].map(lambda label: facts[label]["torch"])),
    )
    rows["value"] = [_axis_value(axis, row, facts[row["run"]]) for _, row in rows.iterrows()]
    worst = checks.dropna(subset=["err_u"]).groupby(["run", "case", "device", "dtype"])["err_u"].max()
    return rows.merge(worst.rename("err_u").reset_index(), on=["run", "case", "device", "dtype"], how="left")


def _run_facts(run: RunFile) -> dict[str, str]:
    m = run.machine
    return {
        "machine": machine_id(run),
        "allocator": str(m.get("allocator") or "not recorded"),
        "torch": str(m.get("torch") or "?"),
        "cpu": str(m.get("cpu_model") or "?"),
        "gpu": str(m.get("gpu") or ""),
    }


def _axis_value(axis: str, row: pd.Series, facts: Mapping[str, str]) -> str:
    if axis == "device":  # the device's name says more than "cuda"
        name = facts["gpu"] if row["device"] == "cuda" and facts["gpu"] else facts["cpu"]
        return f"{row['device']} ({name})"
    return str(row[axis])


def along(df: pd.DataFrame, checks: pd.DataFrame, runs: Sequence[RunFile], measures: Mapping, axis: str) -> Along:
    """The benchmarks of ``df`` matched along ``axis``.

    Args:
        df: the tidy frame (``table.tidy``).
        checks: the correctness frame (``table.checks``).
        runs: the runs, in the order given.
        measures: ``intervals.measures(runs)``.
        axis: one of ``AXES``.

    Returns:
        The matched table; rows only where at least two axis values ran the benchmark.
    """
    if axis not in AXES:
        raise AxisError(f"--by {axis!r}: choose one of {', '.join(AXES)}")
    long = _long(df[df["median_s"] > 0], checks, runs, axis)
    match = MATCH + [c for c in POINT_AXES if c != axis]
    values = list(dict.fromkeys(long["value"]))
    if len(values) < 2:
        raise AxisError(
            f"--by {axis}: the timed benchmarks of the runs have one {axis} ({values[0] if values else 'none'}); "
            "pass runs that differ in it"
        )
    before = len(long)
    long = long.drop_duplicates([*match, "value"])
    differ = [f for f in RUN_FACTS if f != axis and long.groupby("value")[f].agg(lambda s: frozenset(s)).nunique() > 1]
    wide = long.pivot(index=match, columns="value", values=[*VALUES, "run", "key"])
    wide = wide[wide["median_s"].notna().sum(axis=1) >= 2]
    out = wide.index.to_frame(index=False)
    first = values[0]
    for v in values:
        for col in VALUES:
            out[f"{col}[{v}]"] = wide[(col, v)].to_numpy() if (col, v) in wide else np.nan
    for v in values[1:]:
        out[f"ratio[{v}]"] = out[f"median_s[{v}]"] / out[f"median_s[{first}]"]
        found = [
            intervals.pair_interval(measures, (wide[("run", first)].iloc[i], wide[("key", first)].iloc[i]),
                                    (wide[("run", v)].iloc[i], wide[("key", v)].iloc[i]))
            if (("run", v) in wide and pd.notna(wide[("run", v)].iloc[i]) and pd.notna(wide[("run", first)].iloc[i]))
            else intervals.NONE
            for i in range(len(wide))
        ]  # fmt: skip
        cols = intervals.columns(found)
        for c in ("ci_low", "ci_high", "ci_basis", "same_ops", "significant"):
            out[f"{c}[{v}]"] = cols[c].to_numpy()
    return Along(axis, values, out, differ, before - len(long))


# ------------------------------------------------------------------------------------------- rendering


def letters(values: Sequence[str]) -> dict[str, str]:
    """A short name per axis value for the column heads: A, B, C, ..."""
    return {v: chr(ord("A") + i) for i, v in enumerate(values)}


def frame(a: Along) -> tuple[pd.DataFrame, dict[str, r.Formatter], dict[str, r.Shade]]:
    """The display table: per value its time, GFLOP/s, % of peak and error in u; per later value its ratio and interval."""
    name = letters(a.values)
    first = a.values[0]
    w = a.wide
    out = w[[c for c in [*MATCH, *POINT_AXES] if c in w]].copy()
    formats: dict[str, r.Formatter] = {}
    shades: dict[str, r.Shade] = {}
    fmt = {"median_s": r.fmt_ms, "gflops": r.fmt_num, "peak_fraction": r.fmt_pct, "err_u": _fmt_u}
    for v in a.values:
        for col, unit in VALUES.items():
            out[f"{name[v]} {unit}"] = w[f"{col}[{v}]"]
            formats[f"{name[v]} {unit}"] = fmt[col]
    for v in a.values[1:]:
        head = f"{name[v]} vs {name[first]}"
        out[head] = w[f"ratio[{v}]"]
        formats[head] = r.ratio_text
        out[f"{head}: 95% interval"] = [
            intervals.ci_text(lo, hi, b)
            for lo, hi, b in zip(w[f"ci_low[{v}]"], w[f"ci_high[{v}]"], w[f"ci_basis[{v}]"], strict=True)
        ]
        if w[f"same_ops[{v}]"].any():
            out[f"{head}: kernel ops"] = ["same ops" if x else "" for x in w[f"same_ops[{v}]"]]
        shades[head] = r.Shade("RdYlGn_r", vmin=-np.log(4), vmax=np.log(4), log=True,
                               by=intervals.shade_by(w[f"ratio[{v}]"], w[f"significant[{v}]"]))  # fmt: skip
    keep = [c for c in ("backend", "shape", "device", "kernel") if c in out]
    return r.drop_constant(out, keep), formats, shades


def _fmt_u(x: object) -> str:
    return "—" if x is None or pd.isna(x) else f"{float(x):.3g}u"  # type: ignore[arg-type]


def how(a: Along) -> str:
    """The section's "How to read this" text."""
    name = letters(a.values)
    legend = "; ".join(f"{name[v]} = {v}" for v in a.values)
    match = ", ".join(MATCH[1:] + [c for c in POINT_AXES if c != a.axis])
    text = (
        f"{legend}. Benchmarks matched on {match} (the backend without _native), leaving out the {a.axis}: one row per "
        f"benchmark that two or more {a.axis} values ran. Per value: median time, GFLOP/s, % of that device's matmul "
        "peak (measured in its own run), and the correctness error in u (norm-wise relative error over the dtype's "
        "unit roundoff, the worst of the case's forward and backward checks; — where the run did not record it, as "
        f"schema 1 runs). Each later value's time ratio to {name[a.values[0]]} has its 95% bootstrap interval (over "
        "processes where both have several, over rounds otherwise: named); it is coloured only when the interval "
        "excludes 1."
    )
    if a.differ:
        text += f" The runs also differ in {', '.join(a.differ)}: a ratio holds those differences too."
    if a.dropped:
        text += f" {a.dropped} row(s) left out: an earlier run gave the same {a.axis} value and benchmark."
    return text


def section(a: Along) -> str:
    """The HTML section: the table, then one chart per family."""
    if a.wide.empty:
        return r.none_html(
            f"No benchmark ran under two {a.axis} values of these runs (matched on case, dtype, pass, backend, shape)."
        )
    shown, formats, shades = frame(a)
    parts = [r.how_html(how(a)), r.styled(shown, f"by-{a.axis}", formats, shades=shades)]
    for family, rows in a.wide.groupby("family", sort=False):
        uri = comparison_plots.along(rows, a.values, letters(a.values))
        if uri:
            cap = html.escape(f"family {family}: median time per benchmark, one bar per {a.axis} (log axis)")
            parts.append(f'<figure><figcaption>{cap}</figcaption><img src="{uri}" alt="{cap}"></figure>')
    return "".join(parts)


def markdown(a: Along) -> str:
    """The section for summary.md."""
    if a.wide.empty:
        return f"### By {a.axis}\n\nNo benchmark ran under two {a.axis} values.\n"
    shown, formats, _ = frame(a)
    legend = ", ".join(f"{k} = {v}" for v, k in letters(a.values).items())
    return "\n".join([f"### By {a.axis}", "", legend, "", r.markdown_table(shown, formats)])
