"""The self-contained HTML report: inline CSS, PNG charts as data URIs, no script and no network."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from reports import ab_sections, axis, errors, intervals, memory, plots, variants
from reports import render as r
from reports import table as tb
from reports.runfile.reader import RunFile

MAX_COMPARE_ROWS = 40
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;
  max-width:1320px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:8px 0 4px} h2{font-size:19px;margin:34px 0 4px;padding-top:8px;border-top:2px solid #ddd}
p.how{margin:2px 0 10px;color:#555;font-style:italic;max-width:1000px} p.none{color:#777}
nav{margin:6px 0 14px} nav a{margin-right:14px;color:#245;text-decoration:none} nav a:hover{text-decoration:underline}
table.data{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
table.data th{background:#f0f2f5;text-align:left;padding:4px 9px;border-bottom:2px solid #ccc;position:sticky;top:0}
table.data td{padding:3px 9px;border-bottom:1px solid #eee;font-variant-numeric:tabular-nums}
table.data tr:hover td{background-color:#fafad8}
img{max-width:100%;display:block;margin:2px 0 16px} figure{margin:10px 0} figcaption{font-weight:600;font-size:13px;color:#333}
div.scroll{max-height:620px;overflow:auto;display:inline-block;border:1px solid #e2e2e2;margin:6px 0 14px}
div.scroll table.data{margin:0}
.meta td,.meta th{padding:2px 12px 2px 0;text-align:left;font-size:13px;vertical-align:top} .meta th{color:#555;font-weight:600}
"""


@dataclass(frozen=True)
class Data:
    """Everything a report is built from."""

    runs: Sequence[RunFile]
    df: pd.DataFrame  # table.tidy
    checks: pd.DataFrame  # table.checks
    ab: ab_sections.AB | None = None  # --ab: two interleaved run files judged by the gate
    by: str | None = None  # --by: the axis the runs are set side by side along

    @property
    def labels(self) -> list[str]:
        """The run labels in order."""
        return [run.label for run in self.runs]

    @cached_property
    def along(self) -> axis.Along | None:
        """The benchmarks matched along ``by`` (``axis.along``); None without ``--by``."""
        return axis.along(self.df, self.checks, self.runs, self.measures, self.by) if self.by else None

    @cached_property
    def measures(self) -> dict[tuple[str, str], intervals.Measure]:
        """What the ratios' intervals resample, by (run label, key) (``intervals.measures``)."""
        return intervals.measures(self.runs)

    @cached_property
    def drift(self) -> pd.DataFrame:
        """The numerical drift between the runs (``ab_sections.drift_frame``; empty unless 2+ runs have checks)."""
        return ab_sections.drift_frame(self.runs)


def page(data: Data, built: datetime | None = None) -> str:
    """The whole report.

    Args:
        data: the runs and their tables.
        built: when the report was built (default: now, UTC).

    Returns:
        One HTML document.
    """
    sections = [("headline", "Headline", headline(data))]
    if data.ab is not None:
        sections.append(("ab", data.ab.title, ab_sections.ab_section(data.ab)))
    if data.along is not None:
        sections.append(("by", f"By {data.along.axis}: the same benchmarks side by side", axis.section(data.along)))
    sections += [
        ("time", "(a) Time per case by dtype", time_section(data)),
        ("builtin", "(b) Hand-written vs built-in", builtin_section(data)),
        ("sweep", "(c) Scaling sweep", sweep_section(data)),
        ("efficiency", "(d) Efficiency", efficiency_section(data)),
        ("correctness", "(e) Correctness", correctness_section(data)),
    ]
    if not data.drift.empty:
        sections.append(("drift", "Numerical drift between runs", ab_sections.drift_section(data.drift)))
    sections.append(("runs", "(f) Runs side by side", compare_section(data)))
    sections.append(("memory", "(g) Memory, process state and allocator", memory.section_html(data.df)))
    sections.append(("costs", "(h) Options and kernels", variants.section(data.df, data.measures)))
    nav = " ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title, _ in sections)
    body = "\n".join(f'<h2 id="{sid}">{html.escape(title)}</h2>\n{text}' for sid, title, text in sections)
    title = "RNN suite report: " + ", ".join(data.labels)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n{header(data, built)}\n"
        f"<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )


_how, _none = r.how_html, r.none_html


def _img(uri: str | None, caption: str) -> str:
    if uri is None:
        return ""
    text = html.escape(caption)
    return f'<figure><figcaption>{text}</figcaption><img src="{uri}" alt="{text}"></figure>'


def _caption(data: Data, label: str, what: str) -> str:
    return f"{what}: {label}" if len(data.runs) > 1 else what


PEAK_SHADE = r.Shade("Greens", vmin=0.0, vmax=1.0)


def header(data: Data, built: datetime | None) -> str:
    """The runs and machines, one column per run."""
    fields = {
        "file": lambda run: run.path.name,
        "date": lambda run: str(run.data.get("datetime", "—")),
        "commit": lambda run: _commit(run.data.get("commit_info") or {}),
        "benchmarks / checks": lambda run: f"{len(run.benchmarks)} / {len(run.correctness)}",
        "metric": _metric,
    }
    machine = ("cpu_model", "cores", "threads", "torch", "cuda", "gpu", "blas", "allocator")
    rows = [(name, [get(run) for run in data.runs]) for name, get in fields.items()]
    rows += [(key, [str(run.machine.get(key) or "—") for run in data.runs]) for key in machine]
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(label)}</th>" for label in data.labels) + "</tr>"
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
        for name, values in rows
    )
    stamp = (built or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return f'<table class="meta">{head}{body}</table>\n<p class="how">Report built {stamp}.</p>'


def _metric(run: RunFile) -> str:
    metric = run.metric
    valgrind = run.machine.get("valgrind")
    if metric != "instructions" or not valgrind:
        return metric
    full = run.machine.get("instrumentation") == "full"  # docs/run-file.md: no callgrind_control
    return f"{metric} (callgrind, valgrind {valgrind}{', instrumented from the start' if full else ''})"


def _commit(info: dict[str, object]) -> str:
    commit = str(info.get("id") or "—")[:10]
    return commit + (" (dirty)" if info.get("dirty") else "")


def headline(data: Data) -> str:
    """The headline table: one row per case, device, dtype and pass at the seed size."""
    head = tb.headline(data.df, data.checks)
    if head.empty:
        note = _none("No benchmarks in the run file(s): only the correctness section below has data.")
        return note + errors.headline_html(data.runs)
    size = (
        "the seed size"
        if head["size"].eq("seed").all()
        else f"the sizes run ({', '.join(dict.fromkeys(head['size'].astype(str)))}; no seed size)"
    )
    how = (
        f"one row per benchmark at {size}; median of the timed rounds, IQR / median is the spread (orange from 10%, "
        "a noisy measurement); % of peak compares GFLOP/s with this run's dense matmul peak for the same device and "
        "dtype; correctness sums up the case's checks (section e)."
    )
    if head["instructions"].notna().any():
        how += (
            " Instructions / call were counted under valgrind's callgrind (--metric instructions): such a benchmark"
            " has no timing, so its time, rates and spread are blank."
        )
    if len(data.runs) > 1:
        how += " The runs of one benchmark sit next to each other."
    table = r.styled(
        r.headline_frame(head),
        "headline",
        r.HEADLINE_FORMATS,
        shades={"% of peak": PEAK_SHADE},
        css={"correctness": r.outcome_css, "IQR / median": r.noise_css},
    )
    return _how(how) + table + errors.headline_html(data.runs)


def time_section(data: Data) -> str:
    """(a) Bar charts of the headline times."""
    head = tb.headline(data.df, data.checks)
    if head.empty:
        return _none("No benchmarks to chart.")
    if not (head["median_s"] > 0).any():
        return _none("No timings: the benchmarks were counted (--metric instructions), not timed; see the headline.")
    how = "lower is faster; bars are medians, whiskers the interquartile range; the axis is logarithmic, so equal gaps are equal ratios."
    imgs = [
        _img(plots.time_by_dtype(head[head["run"] == label]), _caption(data, label, "median time per case"))
        for label in data.labels
    ]
    return _how(how) + "".join(imgs)


def builtin_section(data: Data) -> str:
    """(b) Hand-written cells against their built-in counterparts."""
    pairs = tb.builtin_pairs(data.df)
    hand = tb.hand_written(data.df)
    if pairs.empty:
        why = (
            "no hand-written case ran"
            if hand.empty
            else "no hand-written benchmark has a built-in benchmark of the same shape"
        )
        return _none(f"No hand-written / built-in pairs: {why}.")
    summary = tb.first_seen_sort(tb.ratio_summary(pairs), ["case", "device", "dtype", "pass", "backend", "run"])
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
        _img(
            plots.builtin_ratio(summary[summary["run"] == label]),
            _caption(data, label, "hand-written time / built-in time"),
        )
        for label in data.labels
    ]
    return _how(how) + table + "".join(imgs)


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
    fits = tb.first_seen_sort(tb.sweep_fits(data.df), ["case", "device", "dtype", "pass", "backend", "run"])
    if rows.empty or fits[["t_points", "h_points"]].max().max() < 2:
        return _none("No sweep in the run(s) (run with --size sweep to get one).")
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
        dtype = "float32" if (sub["dtype"] == "float32").any() else plots.dtypes_of(sub)[0]
        name = {"fwd": "forward", "fwd_bwd": "forward + backward"}.get(str(key[2]), str(key[2]))
        title = f"{key[1]} · {name} · {key[3]} · {dtype}"
        imgs.append(_img(plots.sweep(sub[sub["dtype"] == dtype]), _caption(data, str(key[0]), title)))
    note = _how("the charts show float32 (or the one dtype swept); the table lists every dtype.")
    return _how(how) + r.styled(df, "sweep", formats) + note + "".join(imgs)


def efficiency_section(data: Data) -> str:
    """(d) Achieved GFLOP/s and fraction of the matmul peak."""
    best = tb.best_efficiency(data.df)
    if best.empty:
        return _none("No benchmark with a FLOP count and a time: nothing to compute GFLOP/s from.")
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
        _img(plots.efficiency(best[best["run"] == label]), _caption(data, label, "best GFLOP/s per case"))
        for label in data.labels
    ]
    return _how(how) + table + note + "".join(imgs)


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
    dtypes = plots.dtypes_of(best)
    text = text.reindex(pd.MultiIndex.from_frame(order))[dtypes]
    frac = frac.reindex(text.index)[dtypes]
    names = {d: f"{d}: GFLOP/s (% of peak)" for d in dtypes}
    shades = {names[d]: r.Shade("Greens", vmin=0.0, vmax=1.0, by=frac[d].tolist()) for d in dtypes}
    frame = r.drop_constant(text.reset_index(), ["run", "backend"]).rename(columns=names)
    return frame, {}, shades


def correctness_section(data: Data) -> str:
    """(e) Each check's outcome and errors, failures first; checks not tied to a case listed apart."""
    checks = data.checks
    crashes = errors.section_html(data.runs)
    if checks.empty:
        return crashes + _none("No correctness records in the run file(s).")
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
        + _how(how)
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


def compare_section(data: Data) -> str:
    """(f) Several runs side by side: each benchmark's median per run and its ratio to the first run, with intervals."""
    if len(data.runs) < 2:
        return _none("One run: nothing to compare (pass several run files to see them side by side).")
    if data.df.empty:
        return _none("No benchmarks in the runs.")
    wide = tb.side_by_side(data.df, data.labels)
    first, others = data.labels[0], data.labels[1:]
    lines = [_geomean_line(data, wide, label) for label in others]
    order = wide[[f"ratio[{label}]" for label in others]].apply(lambda c: np.abs(np.log(c))).max(axis=1)
    wide = wide.assign(_order=order).sort_values("_order", ascending=False, na_position="last").drop(columns="_order")
    shown = wide.head(MAX_COMPARE_ROWS).reset_index(drop=True)
    shades: dict[str, r.Shade] = {}
    formats: dict[str, r.Formatter] = {f"{x} (ms)": r.fmt_ms for x in data.labels}
    for label in others:
        found = [intervals.pair_interval(data.measures, (first, k), (label, k)) for k in shown["key"]]
        cols = intervals.columns(found)
        col = f"{label} vs {first}"
        shown[f"{col}: 95% interval"] = [intervals.ci_text(*v) for v in cols[["ci_low", "ci_high", "ci_basis"]].values]
        if cols["same_ops"].any():
            shown[f"{col}: same kernel ops"] = ["same ops" if v else "" for v in cols["same_ops"]]
        shades[col] = r.Shade("RdYlGn_r", vmin=-np.log(1.5), vmax=np.log(1.5), log=True,
                              by=intervals.shade_by(shown[f"ratio[{label}]"], cols["significant"]))  # fmt: skip
        formats[col] = r.ratio_text
    shown = r.drop_constant(shown.drop(columns="key"), ["backend"]).rename(
        columns={f"median_s[{x}]": f"{x} (ms)" for x in data.labels}
        | {f"ratio[{x}]": f"{x} vs {first}" for x in others}
    )
    shown = shown[
        [c for c in shown if not c.endswith(("interval", "kernel ops"))]
        + [c for c in shown if c.endswith(("interval", "kernel ops"))]
    ]
    more = len(wide) - len(shown)
    how = (
        f"each benchmark key in every run, median time in ms; the ratio is the run's median over {first}'s, with its "
        "95% bootstrap interval (over processes where both runs have several, over rounds otherwise: the basis is "
        "named). A ratio is coloured only when its interval excludes 1; 'same ops' marks rows where both runs ran the "
        "same aten ops. Sorted by the largest change; runs from different machines or torch builds differ for more "
        "than one reason."
        + (f" Showing the {len(shown)} largest changes of {len(wide)}; results.csv has every row." if more > 0 else "")
    )
    summary = "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
    return _how(how) + summary + r.styled(shown, "compare", formats, shades=shades)


def _geomean_line(data: Data, wide: pd.DataFrame, label: str) -> str:
    """``B vs A: 1.10x slower, 95% interval [1.04, 1.17] rounds (geometric mean over N benchmarks both ran)``."""
    first = data.labels[0]
    both = wide[wide[f"ratio[{label}]"] > 0]
    if both.empty:
        devices = {
            str(run.label): sorted(set(data.df.loc[data.df["run"] == run.label, "device"].dropna()))
            for run in data.runs
        }
        hint = " The runs share no benchmark key"
        if devices[first] != devices[label]:
            hint += f" ({first} ran on {', '.join(devices[first])}, {label} on {', '.join(devices[label])})"
        return f"{label} vs {first}: no benchmark both ran.{hint}; build with --by device (or torch, machine, allocator, kernel) to match them on case, dtype, pass, backend and shape."
    gm = float(np.exp(np.log(both[f"ratio[{label}]"]).mean()))
    ci = intervals.geomean_interval(
        [(data.measures.get((first, k)), data.measures.get((label, k))) for k in both["key"]]
    )
    return f"{label} vs {first}: {r.ratio_text(gm)}, 95% interval {ci.text()} (geometric mean over {len(both)} benchmarks both ran)"
