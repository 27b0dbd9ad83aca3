"""The report's charts: matplotlib figures rendered to PNG data URIs (no file, no network)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot (pandas' background_gradient does)

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator
from PIL import Image

from reports.sweep import fit_exponent, sweep_series

DTYPE_COLORS = {"float64": "#4c72b0", "float32": "#dd8452", "bfloat16": "#55a868", "float16": "#c44e52"}
OTHER_COLORS = ("#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
CASE_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
PANEL = ["device", "pass", "backend"]


def png_uri(fig: Figure) -> str:
    """Render a figure as a ``data:image/png;base64,...`` URI, reduced to a 128-colour palette (a third the size).

    Args:
        fig: the figure (a bare ``Figure``: pyplot never holds it, so there is nothing to close).

    Returns:
        The data URI.
    """
    raw, small = io.BytesIO(), io.BytesIO()
    fig.savefig(raw, format="png", dpi=96)
    raw.seek(0)
    with Image.open(raw) as image:
        image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            small, format="PNG", optimize=True
        )
    return "data:image/png;base64," + base64.b64encode(small.getvalue()).decode("ascii")


def _plain_log_ticks(ax: Axes, axis: str = "y") -> None:
    """Log-axis ticks as plain numbers (0.5, 2, 30); minor ticks labelled on an axis under a decade, 2 and 5 under two."""

    def major(value: float, _pos: int) -> str:
        return f"{value:g}"

    def minor(value: float, _pos: int) -> str:
        lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
        if not (lo > 0 and hi > lo and value > 0):
            return ""
        majors = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1  # labelled powers of ten in view
        lead = round(value / 10 ** np.floor(np.log10(value)), 6)
        if hi / lo < 10 or (majors <= 1 and lead in (2.0, 5.0)):
            return f"{value:g}"
        return ""

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(major))
    target.set_minor_formatter(FuncFormatter(minor))


def dtype_color(dtype: str, order: list[str]) -> str:
    """A dtype's colour, the same in every chart."""
    return DTYPE_COLORS.get(dtype) or OTHER_COLORS[order.index(dtype) % len(OTHER_COLORS)]


def dtypes_of(df: pd.DataFrame) -> list[str]:
    """The dtypes present, widest first (float64, float32, bfloat16, float16, then others)."""
    known = [d for d in DTYPE_COLORS if d in set(df["dtype"])]
    return known + sorted(set(df["dtype"].dropna().astype(str)) - set(known))


def _grid(n: int, ncols: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width, height * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


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
    fig, axes = _grid(len(groups), 2, max(7.0, min(14.0, 3 + 1.1 * len(cases) * min(len(groups), 2))), 3.3)
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
        _plain_log_ticks(ax)
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
    fig, (ax_t, ax_h) = _grid(2, 2, 12.0, 3.8)
    sizes: dict[Axes, set[float]] = {ax_t: set(), ax_h: set()}
    for i, (case, (t, h)) in enumerate(series.items()):
        color = CASE_COLORS[i % len(CASE_COLORS)]
        sizes[ax_t] |= _fit_line(ax_t, t, "seq_len", str(case), "T", color)
        sizes[ax_h] |= _fit_line(ax_h, h, "hidden_size", str(case), "H", color)
    titles = ("time vs sequence length T, hidden size fixed", "time vs hidden size H (= input size), T fixed")
    for ax, what, ref, title in ((ax_t, "sequence length T", 1, titles[0]), (ax_h, "hidden size H", 2, titles[1])):
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        _plain_log_ticks(ax, "x")
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


def along(rows: pd.DataFrame, values: list[str], names: dict[str, str]) -> str | None:
    """Median time per benchmark of one family, a bar per axis value (``reports build --by``), log axis.

    Args:
        rows: rows of ``axis.Along.wide`` of one family.
        values: the axis values in order.
        names: a short name per value (A, B, ...), the legend says what each is.

    Returns:
        A PNG data URI, or None without data.
    """
    labels = [" · ".join(str(x) for x in t) for t in rows[["case", "dtype", "pass"]].itertuples(index=False)]
    if not labels:
        return None
    width = 0.8 / len(values)
    fig = Figure(figsize=(min(14.0, 3 + 0.55 * len(labels) * len(values) ** 0.5), 4.2), layout="constrained")
    ax = fig.subplots()
    for j, v in enumerate(values):
        y = rows[f"median_s[{v}]"].to_numpy(dtype=float) * 1e3
        x = np.arange(len(labels)) + (j - (len(values) - 1) / 2) * width
        ok = np.isfinite(y) & (y > 0)
        ax.bar(
            x[ok], y[ok], width, color=OTHER_COLORS[j % len(OTHER_COLORS)] if j else "#4c72b0", label=f"{names[v]}: {v}"
        )
    ax.set_xticks(np.arange(len(labels)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set_ylabel("median time (ms, log)")
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside upper center", ncols=len(values), frameon=False, fontsize=8)  # never over the bars
    return png_uri(fig)


def history(df: pd.DataFrame, labels: list[str], metric: str, band: float | None = None) -> str | None:
    """Each benchmark's value over the runs, relative to its first, one panel per family (``reports history``).

    Lines the gate calls slower from first to last are red, faster green, the rest grey; moved ones are named.

    Args:
        df: the frame of ``history.frame`` (a column per run label, ``family``, ``first_last``).
        labels: the run labels in order.
        metric: the series' kind (``instructions``, ``time``, ``time (processes)``).
        band: the gate's threshold (0.03: dotted lines at 1.03 and 1 / 1.03), if one applies to every benchmark.

    Returns:
        A PNG data URI, or None with fewer than two runs.
    """
    if len(labels) < 2 or df.empty:
        return None
    families = list(dict.fromkeys(df["family"].fillna("other")))
    fig, axes = _grid(len(families), 2, 13.0, 3.6)
    colors = {"slower": "#c0392b", "faster": "#27ae60"}
    x = np.arange(len(labels))
    for ax, family in zip(axes, families, strict=True):
        rows = df[df["family"].fillna("other") == family]
        for _, row in rows.iterrows():
            y = row[labels].to_numpy(dtype=float)
            base = y[np.isfinite(y)][0] if np.isfinite(y).any() else np.nan
            moved = row["first_last"] in colors
            ax.plot(x, y / base, "o-" if moved else "-", color=colors.get(row["first_last"], "#bbb"),
                    linewidth=1.6 if moved else 0.8, markersize=3, zorder=3 if moved else 1,
                    label=f"{row['case']} {row['dtype']} {row['pass']}" if moved else None)  # fmt: skip
        ax.axhline(1.0, color="#222", linewidth=0.8)
        for edge in (1 + band, 1 / (1 + band)) if band else ():
            ax.axhline(edge, color="#555", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.95), max(hi, 1.05))  # a flat series stays flat: no axis narrower than +-5%
        _plain_log_ticks(ax)
        ax.set_xticks(x, [lab.replace(" @ ", "\n@ ") for lab in labels], fontsize=7)
        ax.set_title(f"family {family}" + (f" (dotted: the gate's {band:.0%} threshold)" if band else ""), fontsize=10)
        ax.set_ylabel(("instructions" if metric == "instructions" else "time") + " / first run's (log)")
        ax.grid(axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, title="moved (red slower, green faster)", title_fontsize=7)
    return png_uri(fig)
