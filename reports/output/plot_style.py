"""What the report's charts share: colours, plain log ticks, a grid of panels, and PNG data URIs (no file, no network)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot (pandas' background_gradient does)

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from PIL import Image

from rnnsuite.vocabulary import DTYPES

# One colour per dtype of the vocabulary, in its order (widest first).
DTYPE_COLORS = dict(zip(DTYPES, ("#4c72b0", "#dd8452", "#55a868", "#c44e52"), strict=True))
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


def plain_log_ticks(ax: Axes, axis: str = "y") -> None:
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
    known = [d for d in DTYPES if d in set(df["dtype"])]
    return known + sorted(set(df["dtype"].dropna().astype(str)) - set(known))


def grid(n: int, ncols: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels, ``ncols`` a row, each ``height`` high; the unused cells of the last row hidden."""
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width, height * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]
