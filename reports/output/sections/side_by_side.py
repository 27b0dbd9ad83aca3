"""The report's section (f): several runs side by side, each benchmark's ratio to the first run with its interval."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data

MAX_COMPARE_ROWS = 40


def compare_section(data: Data) -> str:
    """(f) Several runs side by side: each benchmark's median per run and its ratio to the first run, with intervals."""
    if len(data.runs) < 2:
        return r.none_html("One run: nothing to compare (pass several run files to see them side by side).")
    if data.df.empty:
        return r.none_html("No benchmarks in the runs.")
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
    return r.how_html(how) + summary + r.styled(shown, "compare", formats, shades=shades)


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
