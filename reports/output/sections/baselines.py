"""The rows timed against a baseline: hand-written cases next to their built-in layers (section b),
and the layers' variants (section h)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnsuite.reports.output.table import GROUP


def _variant(df: pd.DataFrame) -> pd.Series:
    """Whether a row's case is a layer's variant (``nn_lstm[bidir]``, cases/variants.py names them so)."""
    return df["case"].astype("string").str.contains("[", regex=False).fillna(False).astype(bool)


def hand_written(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of hand-written cases timed against a baseline (their built-in): section (b)."""
    return df[df["baseline"].notna() & ~_variant(df)]


def variants(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of variants timed against a baseline (their plain layer): section (h)."""
    return df[df["baseline"].notna() & _variant(df)]


def builtin_pairs(df: pd.DataFrame) -> pd.DataFrame:
    """Each hand-written benchmark next to its built-in counterpart at the same shape.

    Args:
        df: the tidy frame.

    Returns:
        One row per pair: the hand-written row's ``GROUP``, ``size``, ``shape``, ``key``, ``builtin``, ``median_s``,
        the built-in's ``builtin_key``, ``builtin_s`` and ``ratio`` (hand-written / built-in: above 1 is slower).
    """
    on = ["run", "device", "dtype", "pass", "backend", "shape"]
    hand = hand_written(df)[[*GROUP, "size", "shape", "key", "baseline", "median_s"]].rename(
        columns={"baseline": "builtin"}
    )
    base = df.loc[:, [*on, "case", "key", "median_s"]].rename(
        columns={"case": "builtin", "key": "builtin_key", "median_s": "builtin_s"}
    )
    pairs = hand.merge(base.drop_duplicates([*on, "builtin"]), on=[*on, "builtin"], how="inner")
    pairs["ratio"] = pairs["median_s"] / pairs["builtin_s"]
    return pairs.reset_index(drop=True)


def ratio_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs from ``builtin_pairs`` summarised per case, device, dtype, pass and backend.

    Args:
        pairs: the frame of ``builtin_pairs``.

    Returns:
        Columns ``GROUP, builtin, shapes, ratio`` (geometric mean over shapes), ``ratio_min``, ``ratio_max``.
    """
    cols = [*GROUP, "builtin", "shapes", "ratio", "ratio_min", "ratio_max"]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    log = pairs.assign(log_ratio=np.log(pairs["ratio"]))
    agg = log.groupby([*GROUP, "builtin"], dropna=False, sort=False).agg(
        shapes=("shape", "nunique"),
        log_ratio=("log_ratio", "mean"),
        ratio_min=("ratio", "min"),
        ratio_max=("ratio", "max"),
    )
    agg["ratio"] = np.exp(agg.pop("log_ratio"))
    return agg.reset_index()[cols]
