"""Number formats and styled tables shared by the HTML page, the markdown summary and the console."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps

from rnnsuite.reports.gate import stats

Formatter = Callable[[Any], str]


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def fmt_num(x: Any) -> str:
    """Three significant digits without an exponent in the usual range (146, 12.3, 0.712); '—' when missing."""
    if _missing(x):
        return "—"
    v = float(x)
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    if abs(v) >= 1e7 or abs(v) < 1e-3:
        return f"{v:.2e}"
    digits = max(0, 2 - math.floor(math.log10(abs(v))))
    return f"{v:,.{digits}f}"


def fmt_ms(seconds: Any) -> str:
    """Seconds shown as milliseconds."""
    return "—" if _missing(seconds) else fmt_num(float(seconds) * 1e3)


def fmt_pct(fraction: Any) -> str:
    """A fraction shown as a percentage (0.123 -> '12.3%')."""
    return "—" if _missing(fraction) else fmt_num(float(fraction) * 100) + "%"


def fmt_rate(x: Any) -> str:
    """A large rate with an SI prefix (1.23 M)."""
    if _missing(x):
        return "—"
    v = float(x)
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{fmt_num(v / scale)} {prefix}"
    return fmt_num(v)


def fmt_err(x: Any) -> str:
    """An error in scientific notation (3.1e-07)."""
    return "—" if _missing(x) else f"{float(x):.1e}"


def fmt_int(x: Any) -> str:
    """A whole number with thousands separators."""
    return "—" if _missing(x) else f"{int(x):,}"


def fmt_exp(x: Any) -> str:
    """A fitted exponent with two decimals."""
    return "—" if _missing(x) else f"{float(x):.2f}"


def ratio_text(ratio: Any) -> str:
    """A time ratio (new / old) as '1.23x slower' or '1.50x faster'.

    Args:
        ratio: the ratio of two times; above 1 means the first is slower.

    Returns:
        The text, '—' when missing.
    """
    if _missing(ratio) or not float(ratio) > 0:
        return "—"
    return stats.ratio_text(float(ratio))


def how_html(text: str) -> str:
    """The "How to read this" line that opens a section of the HTML page."""
    return f'<p class="how">How to read this: {html.escape(text)}</p>'


def none_html(text: str) -> str:
    """A one-line note standing in for a section that has no data."""
    return f'<p class="none">{html.escape(text)}</p>'


def figure_html(uri: str | None, caption: str) -> str:
    """A chart (a PNG data URI) under its caption; empty where there is no chart."""
    if uri is None:
        return ""
    text = html.escape(caption)
    return f'<figure><figcaption>{text}</figcaption><img src="{uri}" alt="{text}"></figure>'


BAD_CSS = "background-color:#f8d0d0;color:#7a0000;font-weight:600"
GOOD_CSS = "background-color:#dff0d8;color:#1e4620"
MUTED_CSS = "color:#777"


def outcome_css(text: Any) -> str:
    """The CSS of a correctness cell by its text."""
    t = str(text)
    if t.startswith(("failed", "crashed", "timed out")):
        return BAD_CSS
    return GOOD_CSS if t.startswith("passed") else MUTED_CSS


def noise_css(value: Any) -> str:
    """Orange text for a spread (IQR / median) above the gate's noise limit (``stats.MAX_NOISE``, 10%)."""
    return "color:#b35900;font-weight:600" if not _missing(value) and float(value) > stats.MAX_NOISE else ""


def drop_constant(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Drop those of ``cols`` that hold one value (e.g. ``run`` with one run), keeping tables narrow."""
    return df.drop(columns=[c for c in cols if c in df and df[c].nunique(dropna=False) <= 1])


@dataclass(frozen=True)
class Shade:
    """A background colour scale for one table column (missing values stay unshaded).

    ``vmin``/``vmax`` fix the scale (default: the column's range); ``log`` shades ``log(value)`` (ratios,
    symmetric around 1); ``by`` shades by these numbers instead of the column's own (a text column).
    """

    cmap: str
    vmin: float | None = None
    vmax: float | None = None
    log: bool = False
    by: Sequence[float] | None = None


def shade_css(values: Sequence[Any], shade: Shade) -> list[str]:
    """The CSS of each cell of a column under ``shade``; '' for a missing value or a flat column.

    Args:
        values: the column's numbers (or anything: ``shade.by`` replaces them).
        shade: the colour scale.

    Returns:
        One CSS string per value.
    """
    v = pd.to_numeric(pd.Series(list(shade.by if shade.by is not None else values)), errors="coerce").to_numpy(
        dtype=float
    )
    if shade.log:
        v = np.log(np.where(v > 0, v, np.nan))
    finite = v[np.isfinite(v)]
    lo = shade.vmin if shade.vmin is not None else (finite.min() if finite.size else 0.0)
    hi = shade.vmax if shade.vmax is not None else (finite.max() if finite.size else 0.0)
    if not finite.size or hi <= lo:
        return [""] * len(v)
    rgba = colormaps[shade.cmap](np.clip((np.nan_to_num(v) - lo) / (hi - lo), 0.0, 1.0))
    return ["" if not np.isfinite(x) else _cell_css(c) for x, c in zip(v, rgba, strict=True)]


def _cell_css(rgba: np.ndarray) -> str:
    luminance = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
    red, green, blue = (round(float(x) * 255) for x in rgba[:3])
    return f"background-color:#{red:02x}{green:02x}{blue:02x};color:{'#000' if luminance > 0.5 else '#fff'}"


def styled(
    df: pd.DataFrame,
    uid: str,
    formats: Mapping[str, Formatter],
    *,
    shades: Mapping[str, Shade] | None = None,
    css: Mapping[str, Callable[[Any], str]] | None = None,
    scroll_rows: int = 25,
) -> str:
    """An HTML table of ``df`` through pandas' Styler.

    Args:
        df: the rows to show, columns already named for the reader.
        uid: a stable id for the table's CSS (keeps reports reproducible).
        formats: a formatter per column; other columns are shown as text, HTML-escaped.
        shades: a background colour scale per column.
        css: a function per column from cell value to CSS.
        scroll_rows: above this many rows the table scrolls in a box (its header stays in view).

    Returns:
        The table's HTML (with its own <style> block).
    """
    sty = df.style.hide(axis="index").set_uuid(uid).set_table_attributes('class="data"')
    sty = sty.format(dict(formats), escape="html", na_rep="—")  # one call: a second one would drop the escaping
    # The headers too: a column can be named after a run's label or torch version (text from a run file).
    sty = sty.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    for col, shade in (shades or {}).items():
        sty = sty.apply(lambda s, shade=shade: shade_css(s, shade), subset=[col], axis=0)
    for col, func in (css or {}).items():
        sty = sty.map(func, subset=[col])
    table = sty.to_html()
    return f'<div class="scroll">{table}</div>' if len(df) > scroll_rows else table


HEADLINE = {
    "run": "run",
    "case": "case",
    "device": "device",
    "dtype": "dtype",
    "pass": "pass",
    "backend": "backend",
    "size": "size",
    "shape": "shape",
    "kernel_label": "kernel (aten ops that ran)",
    "median_s": "median (ms)",
    "instructions": "instructions / call",
    "minor_faults_per_call": "faults/call",
    "spread": "IQR / median",
    "gflops": "GFLOP/s",
    "peak_fraction": "% of peak",
    "tokens_per_s": "tokens/s",
    "memory_note": "memory",
    "correctness": "correctness",
}
HEADLINE_FORMATS: dict[str, Formatter] = {
    "median (ms)": fmt_ms,
    "instructions / call": fmt_rate,
    "faults/call": fmt_num,
    "IQR / median": fmt_pct,
    "GFLOP/s": fmt_num,
    "% of peak": fmt_pct,
    "tokens/s": fmt_rate,
}


def headline_frame(head: pd.DataFrame) -> pd.DataFrame:
    """The headline rows with readers' column names; run, backend, size and shape only where they vary.

    Args:
        head: the frame of ``table.headline``.

    Returns:
        The display frame (raw numbers; format with ``HEADLINE_FORMATS``).
    """
    df = head.assign(spread=head["iqr_s"] / head["median_s"])[list(HEADLINE)]
    df = drop_constant(df, ["run", "backend", "size"])
    df = df.drop(columns=[c for c in ("instructions", "minor_faults_per_call", "memory_note") if df[c].isna().all()])
    if "size" not in df and (df["shape"].nunique() <= 1 or head["size"].eq("seed").all()):
        df = df.drop(columns="shape")
    return df.rename(columns=HEADLINE)


def markdown_table(df: pd.DataFrame, formats: Mapping[str, Formatter]) -> str:
    """A GitHub-flavoured markdown table (numbers right-aligned), written without ``tabulate``.

    Args:
        df: the rows, columns named for the reader.
        formats: a formatter per numeric column.

    Returns:
        The table, one line per row.
    """

    def cell(col: str, value: Any) -> str:
        text = formats[col](value) if col in formats else ("—" if _missing(value) else str(value))
        return text.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---:" if c in formats else "---" for c in df.columns) + "|"
    body = [
        "| " + " | ".join(cell(c, v) for c, v in zip(df.columns, row, strict=True)) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])
