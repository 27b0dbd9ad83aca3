"""The scaling sweep (``--size sweep``, section c): one-variable series of a case's sizes and their fitted exponents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rnnsuite.reports.output.table import GROUP


def fit_exponent(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """The slope of ``log y`` against ``log x`` by least squares (``y ~ x**slope``).

    Args:
        x: the sizes (positive, at least two distinct).
        y: the times (positive).

    Returns:
        The fitted exponent, or NaN when fewer than two distinct sizes are given.
    """
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(np.unique(lx)) < 2:
        return float("nan")
    slope, _ = np.polyfit(lx, ly, 1)
    return float(slope)


def sweep_series(rows: pd.DataFrame, axis: str) -> pd.DataFrame:
    """The longest one-variable series of one case's sweep rows along ``seq_len`` or ``hidden_size``.

    Args:
        rows: one case's sweep rows (one run, device, dtype, pass, backend).
        axis: ``seq_len`` (others fixed) or ``hidden_size`` (seq_len, batch and layers fixed).

    Returns:
        The rows of the series sorted by ``axis``; empty when no series has two sizes.
    """
    fixed = (
        ["hidden_size", "input_size", "batch", "num_layers"]
        if axis == "seq_len"
        else ["seq_len", "batch", "num_layers"]
    )
    ok = rows[(rows["median_s"] > 0) & rows[axis].notna()]
    best = ok.iloc[:0]
    for _, group in ok.groupby(fixed, dropna=False, sort=True):
        if group[axis].nunique() >= 2 and group[axis].nunique() > best[axis].nunique():
            best = group
    return best.sort_values(axis)


def sweep_fits(df: pd.DataFrame) -> pd.DataFrame:
    """Fitted exponents of time in sequence length and in hidden size, from the sweep rows.

    Args:
        df: the tidy frame.

    Returns:
        One row per ``GROUP`` with ``t_exponent, t_points, t_at_hidden, h_exponent, h_points, h_at_seq_len``.
    """
    out = []
    for key, rows in df[df["size"] == "sweep"].groupby(GROUP, dropna=False, sort=False):
        t, h = sweep_series(rows, "seq_len"), sweep_series(rows, "hidden_size")
        out.append(
            dict(zip(GROUP, key, strict=True))
            | {
                "t_exponent": fit_exponent(t["seq_len"].astype("float64"), t["median_s"]) if len(t) else np.nan,
                "t_points": len(t),
                "t_at_hidden": t["hidden_size"].iloc[0] if len(t) else pd.NA,
                "h_exponent": fit_exponent(h["hidden_size"].astype("float64"), h["median_s"]) if len(h) else np.nan,
                "h_points": len(h),
                "h_at_seq_len": h["seq_len"].iloc[0] if len(h) else pd.NA,
            }
        )
    cols = [*GROUP, "t_exponent", "t_points", "t_at_hidden", "h_exponent", "h_points", "h_at_seq_len"]
    return pd.DataFrame(out, columns=cols)
