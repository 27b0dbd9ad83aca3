"""The report's timing sections: (a) time per case by dtype, (b) hand-written vs built-in, (c) the scaling sweep,
(d) efficiency against the matmul peak."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import plot_style, plots
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import baselines, sweep


def time_section(data: Data) -> str:
    """(a) Bar charts of the headline times."""
    head = tb.headline(data.df, data.checks)
    if head.empty:
        return r.none_html("No benchmarks to chart.")
    if not (head["median_s"] > 0).any():
        return r.none_html(
            "No timings: the benchmarks were counted (--metric instructions), not timed; see the headline."
        )
    how = "lower is faster; bars are medians, whiskers the interquartile range; the axis is logarithmic, so equal gaps are equal ratios."
    imgs = [
        r.figure_html(plots.time_by_dtype(head[head["run"] == label]), data.caption(label, "median time per case"))
        for label in data.labels
    ]
    return r.how_html(how) + "".join(imgs)


def builtin_section(data: Data) -> str:
    """(b) Hand-written cells against their built-in counterparts."""
    pairs = baselines.builtin_pairs(data.df)
    hand = baselines.hand_written(data.df)
    if pairs.empty:
        why = (
            "no hand-written case ran"
            if hand.empty
            else "no hand-written benchmark has a built-in benchmark of the same shape"
        )
        return r.none_html(f"No hand-written / built-in pairs: {why}.")
    summary = tb.first_seen_sort(baselines.ratio_summary(pairs), ["case", "device", "dtype", "pass", "backend", "run"])
    unpaired = len(hand) - len(pairs)
    how = (
        "time of the hand-written case divided by the built-in case it names, same run, device, dtype, pass, backend "
        "and shape; one row per case is the geometric mean over the shapes both ran (range: fastest and slowest shape), "
        "with its 95% bootstrap interval (over processes where both have several, over rounds otherwise: the basis is "
        "named); a ratio is coloured only when its interval excludes 1."
        + (
            f" {unpaired} hand-written benchmark(s) had no built-in run of the same shape and are left out."
            if unpaired
            else ""
        )
    )
    ranges = [
        f"{lo:.2f}–{hi:.2f}" if n > 1 else ""
        for lo, hi, n in summary[["ratio_min", "ratio_max", "shapes"]].itertuples(index=False)
    ]
    found = intervals.columns([_builtin_interval(data, pairs, row) for _, row in summary.iterrows()])
    cis = [intervals.ci_text(*v) for v in found[["ci_low", "ci_high", "ci_basis"]].to_numpy()]
    df = summary.assign(range=ranges, interval=cis)
    df = r.drop_constant(df.drop(columns=["ratio_min", "ratio_max"]), ["run", "backend"])
    df = df.rename(
        columns={
            "builtin": "built-in",
            "ratio": "time vs built-in (geo-mean)",
            "range": "ratio range",
            "interval": "95% interval",
        }
    )
    shade = r.Shade(
        "RdYlGn_r",
        vmin=-np.log(4),
        vmax=np.log(4),
        log=True,
        by=intervals.shade_by(summary["ratio"], found["significant"]),
    )  # saturates at 4x either way; coloured only where the interval excludes 1
    table = r.styled(
        df, "builtin", {"time vs built-in (geo-mean)": r.ratio_text}, shades={"time vs built-in (geo-mean)": shade}
    )
    imgs = [
        r.figure_html(
            plots.builtin_ratio(summary[summary["run"] == label]),
            data.caption(label, "hand-written time / built-in time"),
        )
        for label in data.labels
    ]
    return r.how_html(how) + table + "".join(imgs)


def _builtin_interval(data: Data, pairs: pd.DataFrame, row: pd.Series) -> intervals.Interval:
    """The interval of one (b) row's geometric mean: its pairs' keys looked up in the run's measures."""
    mine = pairs[(pairs[tb.GROUP] == row[tb.GROUP]).all(axis=1) & (pairs["builtin"] == row["builtin"])]
    run = str(row["run"])
    return intervals.geomean_interval(
        [
            (data.measures.get((run, b)), data.measures.get((run, h)))
            for h, b in zip(mine["key"], mine["builtin_key"], strict=True)
        ]
    )


def sweep_section(data: Data) -> str:
    """(c) The scaling sweep on log-log axes, with fitted exponents."""
    rows = data.df[data.df["size"] == "sweep"]
    fits = tb.first_seen_sort(sweep.sweep_fits(data.df), ["case", "device", "dtype", "pass", "backend", "run"])
    if rows.empty or fits[["t_points", "h_points"]].max().max() < 2:
        return r.none_html("No sweep in the run(s) (run with --size sweep to get one).")
    how = (
        "time against sequence length T at a fixed hidden size, and against hidden size H (= input size) at a fixed T, "
        "on log-log axes; the exponent is the least-squares slope: time ~ T^1 and ~ H^2 is what the FLOP count predicts, "
        "much less than that means fixed per-step costs (launch, Python) dominate."
    )
    df = r.drop_constant(fits, ["run", "backend"]).rename(
        columns={
            "t_exponent": "exponent in T",
            "t_points": "T points",
            "t_at_hidden": "at H",
            "h_exponent": "exponent in H",
            "h_points": "H points",
            "h_at_seq_len": "at T",
        }
    )
    formats = {"exponent in T": r.fmt_exp, "exponent in H": r.fmt_exp, "at H": r.fmt_int, "at T": r.fmt_int}
    imgs = []
    for key, sub in rows.groupby(["run", "device", "pass", "backend"], dropna=False, sort=False):
        dtype = "float32" if (sub["dtype"] == "float32").any() else plot_style.dtypes_of(sub)[0]
        name = {"fwd": "forward", "fwd_bwd": "forward + backward"}.get(str(key[2]), str(key[2]))
        title = f"{key[1]} · {name} · {key[3]} · {dtype}"
        imgs.append(r.figure_html(plots.sweep(sub[sub["dtype"] == dtype]), data.caption(str(key[0]), title)))
    note = r.how_html("the charts show float32 (or the one dtype swept); the table lists every dtype.")
    return r.how_html(how) + r.styled(df, "sweep", formats) + note + "".join(imgs)


def efficiency_section(data: Data) -> str:
    """(d) Achieved GFLOP/s and fraction of the matmul peak."""
    best = tb.best_efficiency(data.df)
    if best.empty:
        return r.none_html("No benchmark with a FLOP count and a time: nothing to compute GFLOP/s from.")
    how = (
        "GFLOP/s = analytic matrix FLOPs / median time at each case's best shape (any size); the percentage divides "
        "by the dense matmul rate this run measured for the same device and dtype (— when not measured); darker is "
        "closer to the peak. Small shapes sit far below the peak because per-step overhead dominates."
    )
    frame, formats, shades = efficiency_frame(best)
    table = r.styled(frame, "efficiency", formats, shades=shades)
    peaks = ", ".join(
        f"{p.get('device')} {p.get('dtype')} {r.fmt_num(p.get('gflops'))} GFLOP/s"
        for p in (data.runs[0].peaks if data.runs else [])
    )
    note = (
        f'<p class="how">Matmul peaks measured by {html.escape(data.labels[0])}: {html.escape(peaks)}.</p>'
        if peaks
        else ""
    )
    imgs = [
        r.figure_html(plots.efficiency(best[best["run"] == label]), data.caption(label, "best GFLOP/s per case"))
        for label in data.labels
    ]
    return r.how_html(how) + table + note + "".join(imgs)


def efficiency_frame(best: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, r.Formatter], dict[str, r.Shade]]:
    """One row per case, device, pass (and run, backend); a column per dtype with 'GFLOP/s (% of peak)'."""
    rows = [c for c in tb.GROUP if c != "dtype"]
    cell = [
        f"{r.fmt_num(g)} ({r.fmt_pct(f)})" if pd.notna(f) else r.fmt_num(g)
        for g, f in zip(best["gflops"], best["peak_fraction"], strict=True)
    ]
    long = best.assign(cell=cell)
    text = long.set_index([*rows, "dtype"])["cell"].unstack("dtype")
    frac = long.set_index([*rows, "dtype"])["peak_fraction"].unstack("dtype")
    order = tb.first_seen_sort(best, ["case", "device", "pass", "backend", "run"])[rows].drop_duplicates()
    dtypes = plot_style.dtypes_of(best)
    text = text.reindex(pd.MultiIndex.from_frame(order))[dtypes]
    frac = frac.reindex(text.index)[dtypes]
    names = {d: f"{d}: GFLOP/s (% of peak)" for d in dtypes}
    shades = {names[d]: r.Shade("Greens", vmin=0.0, vmax=1.0, by=frac[d].tolist()) for d in dtypes}
    frame = r.drop_constant(text.reset_index(), ["run", "backend"]).rename(columns=names)
    return frame, {}, shades
