"""What the layers' options and kernels cost: each variant against its plain layer, native against vendor kernels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.sections import baselines

ON = ["run", "device", "dtype", "pass", "size", "shape"]
COST_COLUMNS = [
    "run", "case", "against", "device", "dtype", "pass", "backend", "size", "shape",
    "kernel_label", "against_kernel", "median_s", "against_s", "ratio", "key", "against_key",
]  # fmt: skip


def _pairs(rows: pd.DataFrame, others: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    keep = [*on, "case", "backend", "kernel_label", "median_s", "key"]
    base = others[keep].rename(
        columns={"case": "against", "kernel_label": "against_kernel", "median_s": "against_s", "backend": "b_backend",
                 "key": "against_key"}
    )  # fmt: skip
    out = rows.merge(base.drop_duplicates([*on, "against"]), on=on, how="inner")
    out["ratio"] = out["median_s"] / out["against_s"]
    return out


def variant_costs(df: pd.DataFrame) -> pd.DataFrame:
    """Each variant (``nn_lstm[bidir]``) against its plain layer at the same run, point, backend and shape.

    Args:
        df: the tidy frame (``table.tidy``).

    Returns:
        Columns ``COST_COLUMNS``; ``ratio`` is variant time / plain time (above 1: the option costs time).
    """
    rows = baselines.variants(df)
    if rows.empty:
        return pd.DataFrame(columns=COST_COLUMNS)
    out = _pairs(rows, df, ON)
    out = out[out["against"] == out["baseline"]]
    out = out[out["backend"] == out["b_backend"]]
    return tb.first_seen_sort(out, ["case", "device", "dtype", "pass", "backend", "shape", "run"])[COST_COLUMNS]


def kernel_costs(df: pd.DataFrame) -> pd.DataFrame:
    """Each benchmark run with the native kernel against the same benchmark with the vendor kernel.

    Args:
        df: the tidy frame.

    Returns:
        Columns ``COST_COLUMNS`` (``against`` is the same case); ``ratio`` is native time / vendor time.
    """
    if "kernel" not in df or not (df["kernel"] == "native").any():
        return pd.DataFrame(columns=COST_COLUMNS)
    native = df[df["kernel"] == "native"].assign(b_key=lambda d: d["backend"].str.removesuffix("_native"))
    vendor = df[df["kernel"] == "vendor"].assign(b_key=lambda d: d["backend"])
    out = _pairs(native, vendor, [*ON, "b_key"])
    out = out[out["against"] == out["case"]]
    return tb.first_seen_sort(out, ["case", "device", "dtype", "pass", "backend", "shape", "run"])[COST_COLUMNS]


NAMES = {
    "interval": "95% interval",
    "same": "kernel ops",
    "against": "against",
    "kernel_label": "kernel",
    "against_kernel": "its kernel",
    "median_s": "median (ms)",
    "against_s": "against (ms)",
    "ratio": "time ratio",
}


def section(df: pd.DataFrame, measures: Mapping[tuple[str, str], intervals.Measure] | None = None) -> str:
    """The report's section: the two tables of costs, or why there is none.

    Args:
        df: the tidy frame.
        measures: what the ratios' intervals resample (``intervals.measures``); none: no intervals, no colour.
    """
    parts = []
    for title, frame, what in (
        ("Options of the layers", variant_costs(df), "variant time / plain layer time, same run, point and shape"),
        ("Kernels", kernel_costs(df), "native-kernel time / vendor-kernel (oneDNN, cuDNN) time, same benchmark"),
    ):
        if frame.empty:
            parts.append(r.none_html(f"{title}: no pairs in the run file(s)."))
            continue
        found = intervals.columns(
            [
                intervals.pair_interval(measures or {}, (run, b), (run, a))
                for run, a, b in zip(frame["run"], frame["key"], frame["against_key"], strict=True)
            ]
        )
        shown = frame.drop(columns=["key", "against_key"]).assign(
            interval=[intervals.ci_text(*v) for v in found[["ci_low", "ci_high", "ci_basis"]].to_numpy()],
            same=["same ops" if v else "" for v in found["same_ops"]],
        )
        shown = r.drop_constant(shown, ["run", "backend", "size"])
        if title == "Kernels":  # the same case on both sides
            shown = shown.drop(columns="against")
        shown = shown.rename(columns=NAMES)
        by = intervals.shade_by(frame["ratio"], found["significant"])  # coloured only where the interval excludes 1
        shade = r.Shade("RdYlGn_r", vmin=-np.log(4), vmax=np.log(4), log=True, by=by)
        formats = {"median (ms)": r.fmt_ms, "against (ms)": r.fmt_ms, "time ratio": r.ratio_text}
        parts.append(
            f"<h3>{title}</h3>"
            + r.how_html(
                f"{what}; the kernel columns name the aten ops that ran (profiled once per benchmark), and 'same ops' "
                "marks rows whose two sides ran the very same aten ops (extra_info.kernel_ops). The 95% interval of "
                "the ratio is a bootstrap over processes where both sides have several, over rounds otherwise (named); "
                "a ratio is coloured only when its interval excludes 1."
            )
            + r.styled(shown, f"costs-{title.split()[0].lower()}", formats, shades={"time ratio": shade})
        )
    return "".join(parts)
