"""The charts that set runs against each other: the benchmarks along one axis (``reports build --by``) and a
store's history (``reports history``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rnnsuite.reports.output.plot_style import OTHER_COLORS, grid, plain_log_ticks, png_uri


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
    plain_log_ticks(ax)
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
    fig, axes = grid(len(families), 2, 13.0, 3.6)
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
        plain_log_ticks(ax)
        ax.set_xticks(x, [lab.replace(" @ ", "\n@ ") for lab in labels], fontsize=7)
        ax.set_title(f"family {family}" + (f" (dotted: the gate's {band:.0%} threshold)" if band else ""), fontsize=10)
        ax.set_ylabel(("instructions" if metric == "instructions" else "time") + " / first run's (log)")
        ax.grid(axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, title="moved (red slower, green faster)", title_fontsize=7)
    return png_uri(fig)
