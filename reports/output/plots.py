"""The report page's charts, sections (a) to (d): times, hand-written / built-in ratios, efficiency and the sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from rnnsuite.reports.output.plot_style import CASE_COLORS, dtype_color, dtypes_of, grid, plain_log_ticks, png_uri
from rnnsuite.reports.output.sections.sweep import fit_exponent, sweep_series

PANEL = ["device", "pass", "backend"]


def _panel_title(key: tuple[object, ...]) -> str:
    device, pass_, backend = (str(k) for k in key)
    name = {"fwd": "forward", "fwd_bwd": "forward + backward"}.get(pass_, pass_)
    return f"{device} · {name} · {backend}"


def _bar_panels(
    rows: pd.DataFrame, value: str, ylabel: str, baseline: float | None = None
) -> tuple[Figure, list[Axes], list[pd.DataFrame]]:
    """A panel per device, pass and backend; bars of ``value`` per case (x) and dtype (colour).

    ``ylabel`` may hold ``{log}``: ", log" on a log axis, else nothing.
    """
    groups = list(rows.groupby(PANEL, dropna=False, sort=True))
    dtypes, cases = dtypes_of(rows), list(dict.fromkeys(rows["case"]))
    fig, axes = grid(len(groups), 2, max(7.0, min(14.0, 3 + 1.1 * len(cases) * min(len(groups), 2))), 3.3)
    for ax, (key, sub) in zip(axes, groups, strict=True):
        log = _grouped_bars(ax, sub, value, dtypes, cases, baseline)
        ax.set_title(_panel_title(key), fontsize=10)
        ax.set_ylabel(ylabel.format(log=", log" if log else ""))
    handles = [Patch(color=dtype_color(d, dtypes), label=d) for d in dtypes]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), frameon=False, fontsize=9)
    return fig, axes, [sub for _, sub in groups]


def _grouped_bars(
    ax: Axes, rows: pd.DataFrame, value: str, dtypes: list[str], cases: list[str], baseline: float | None
) -> bool:
    """Bars of ``value`` per case and dtype on a log axis, IQR whiskers on times.

    With a ``baseline`` (a ratio's 1) bars start there, and the axis is linear when the values span under 3x.
    """
    width = 0.8 / max(len(dtypes), 1)
    for j, dtype in enumerate(dtypes):
        sub = rows[rows["dtype"] == dtype].drop_duplicates("case").set_index("case").reindex(cases)
        x = np.arange(len(cases)) + (j - (len(dtypes) - 1) / 2) * width
        y = sub[value].to_numpy(dtype=float)
        ok = np.isfinite(y) & (y > 0)
        yerr = None
        if value == "median_ms":
            lo, hi = sub["q1_s"].to_numpy(dtype=float) * 1e3, sub["q3_s"].to_numpy(dtype=float) * 1e3
            yerr = np.nan_to_num(np.clip(np.vstack([y - lo, hi - y])[:, ok], 0, None))
        bottom = baseline if baseline is not None else 0.0
        heights = y[ok] - bottom
        ax.bar(
            x[ok],
            heights,
            width,
            bottom=bottom,
            color=dtype_color(dtype, dtypes),
            yerr=yerr,
            ecolor="#333",
            capsize=1.5,
            linewidth=0,
        )
    ax.set_xticks(np.arange(len(cases)), cases, rotation=25, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(cases) - 0.4)
    values = rows[value].to_numpy(dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if baseline is None or (values.size and max(values.max(), baseline) / min(values.min(), baseline) >= 3):
        ax.set_yscale("log")  # times always; ratios only when they span 3x or more
        plain_log_ticks(ax)
    ax.grid(axis="y", which="major", alpha=0.3)
    return ax.get_yscale() == "log"


def time_by_dtype(rows: pd.DataFrame) -> str | None:
    """Median time per case, bars by dtype on a log axis, one panel per device, pass and backend.

    Args:
        rows: tidy rows of one run at one size (one shape per case).

    Returns:
        A PNG data URI, or None without data.
    """
    rows = rows[rows["median_s"] > 0].assign(median_ms=lambda d: d["median_s"] * 1e3)
    if rows.empty:
        return None
    fig, _, _ = _bar_panels(rows, "median_ms", "median time (ms{log})")
    return png_uri(fig)


def builtin_ratio(summary: pd.DataFrame) -> str | None:
    """Hand-written / built-in time ratio per case, bars by dtype from 1 on a log axis.

    Args:
        summary: rows of ``ratio_summary`` for one run.

    Returns:
        A PNG data URI, or None without data.
    """
    summary = summary[summary["ratio"] > 0]
    if summary.empty:
        return None
    fig, axes, _ = _bar_panels(summary, "ratio", "time / built-in's time{log}\nabove 1: slower", baseline=1.0)
    for ax in axes:
        ax.axhline(1.0, color="#222", linewidth=1)
    return png_uri(fig)


def efficiency(rows: pd.DataFrame) -> str | None:
    """Best achieved GFLOP/s per case, bars by dtype, with each dtype's matmul peak as a dashed line.

    Args:
        rows: rows of ``best_efficiency`` for one run.

    Returns:
        A PNG data URI, or None without data.
    """
    rows = rows[rows["gflops"] > 0]
    if rows.empty:
        return None
    dtypes = dtypes_of(rows)
    fig, axes, groups = _bar_panels(rows, "gflops", "GFLOP/s{log}\ndashed: matmul peak")
    for ax, sub in zip(axes, groups, strict=True):
        for dtype, peak in sub.groupby("dtype")["peak_gflops"].max().items():
            if np.isfinite(peak) and peak > 0:
                ax.axhline(peak, color=dtype_color(str(dtype), dtypes), linestyle="--", linewidth=1)
    return png_uri(fig)


def sweep(rows: pd.DataFrame) -> str | None:
    """Time against sequence length and against hidden size on log-log axes, one line per case.

    Args:
        rows: sweep rows of one run, device, dtype, pass and backend.

    Returns:
        A PNG data URI, or None when neither series has two sizes.
    """
    series = {
        case: (sweep_series(g, "seq_len"), sweep_series(g, "hidden_size"))
        for case, g in rows.groupby("case", sort=False)
    }
    if not any(len(t) or len(h) for t, h in series.values()):
        return None
    fig, (ax_t, ax_h) = grid(2, 2, 12.0, 3.8)
    sizes: dict[Axes, set[float]] = {ax_t: set(), ax_h: set()}
    for i, (case, (t, h)) in enumerate(series.items()):
        color = CASE_COLORS[i % len(CASE_COLORS)]
        sizes[ax_t] |= _fit_line(ax_t, t, "seq_len", str(case), "T", color)
        sizes[ax_h] |= _fit_line(ax_h, h, "hidden_size", str(case), "H", color)
    titles = ("time vs sequence length T, hidden size fixed", "time vs hidden size H (= input size), T fixed")
    for ax, what, ref, title in ((ax_t, "sequence length T", 1, titles[0]), (ax_h, "hidden size H", 2, titles[1])):
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_ticks(ax)
        plain_log_ticks(ax, "x")
        ax.xaxis.set_minor_locator(NullLocator())
        if sizes[ax]:
            ax.set_xticks(sorted(sizes[ax]))
        ax.set_xlabel(f"{what} (log)")
        ax.set_ylabel("median time (ms, log)")
        ax.set_title(title, fontsize=10)
        ax.grid(which="major", alpha=0.3)
        handles = ax.get_legend_handles_labels()[0]
        if handles:
            handles.append(Line2D([], [], color="#999", linestyle=":", label=f"dotted: fit (expect ~{ref})"))
            ax.legend(handles=handles, fontsize=8, title="fitted exponent", title_fontsize=8)
    return png_uri(fig)


def _fit_line(ax: Axes, rows: pd.DataFrame, axis: str, case: str, symbol: str, color: str) -> set[float]:
    """Plot one series and its fitted power law; returns the sizes plotted."""
    if rows.empty:
        return set()
    x, y = rows[axis].to_numpy(dtype=float), rows["median_s"].to_numpy(dtype=float) * 1e3
    k = fit_exponent(x, y)
    ax.plot(x, y, "o-", color=color, label=f"{case}: {symbol}^{k:.2f}", markersize=4)
    c = np.exp(np.mean(np.log(y) - k * np.log(x)))
    ax.plot(x, c * x**k, ":", color=color, linewidth=1)
    return {float(v) for v in x}
