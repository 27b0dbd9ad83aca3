"""The numbers behind the gate: median ratio and its bootstrap interval, one-sided U tests, Holm, the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

ALPHA = 0.001  # family-wise; docs/gate.md says why, docs/notes/gate.md what it did in the gate's studies
THRESHOLD = 0.05  # median ratio beyond which a significant change counts, for medians >= 1 ms
SUB_MS = 1e-3  # below this base median the timer and per-call overhead make medians noisier ...
SUB_MS_FACTOR = 2.0  # ... so the threshold there is twice the main one (10% by default)
MAX_NOISE = 0.10  # IQR/median above this on either side: inconclusive (torch.utils.benchmark, pyperf)
MIN_SAMPLES = 5  # per side, below which a median is not a summary
SEED = 20240601  # fixed, so that two runs of the gate print the same intervals
N_RESAMPLES = 2000  # plenty for a 95% percentile interval; keeps large sample sets fast
BATCH_ELEMENTS = 5_000_000  # resampled values held in memory at once


def median_ratio(base: ArrayLike, cand: ArrayLike) -> float:
    """The candidate's median over the base's median.

    Args:
        base: raw samples of the base run (seconds).
        cand: raw samples of the candidate run (seconds).

    Returns:
        ``median(cand) / median(base)``; above 1 means the candidate is slower.
    """
    return float(np.median(np.asarray(cand, dtype=float)) / np.median(np.asarray(base, dtype=float)))


def _ratio_statistic(base: np.ndarray, cand: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(cand, axis=axis) / np.median(base, axis=axis)


def ratio_bootstrap(base: ArrayLike, cand: ArrayLike, level: float = 0.95) -> Any:
    """scipy's percentile bootstrap of the median ratio, each side resampled independently (fixed seed).

    Args:
        base: the base side's values (raw samples, or one median per process).
        cand: the candidate side's values.
        level: the confidence level.

    Returns:
        scipy's ``BootstrapResult``: ``confidence_interval`` and ``bootstrap_distribution``
        (``N_RESAMPLES`` ratios, which a geometric mean over benchmarks resamples further).
    """
    b, c = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    batch = max(1, BATCH_ELEMENTS // (b.size + c.size))
    return stats.bootstrap(
        (b, c),
        _ratio_statistic,
        n_resamples=N_RESAMPLES,
        batch=batch,
        vectorized=True,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )


def ratio_interval(base: ArrayLike, cand: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """Bootstrap confidence interval of the median ratio, resampling each side independently.

    The percentile method is used rather than BCa: BCa's jackknife is unstable for medians of
    samples with ties and undefined when a side is constant, where the percentile interval just
    collapses to the point estimate.

    Args:
        base: raw samples of the base run.
        cand: raw samples of the candidate run.
        level: the confidence level.

    Returns:
        ``(low, high)`` of the ratio ``median(cand) / median(base)``.
    """
    res = ratio_bootstrap(base, cand, level)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def u_test(base: ArrayLike, cand: ArrayLike, method: str = "auto") -> tuple[float, float]:
    """One-sided Mann-Whitney U tests of the candidate against the base.

    Args:
        base: raw samples of the base run.
        cand: raw samples of the candidate run.
        method: scipy's: ``"auto"`` (exact up to 8 samples a side without ties, else the normal
            approximation) for the samples; ``"exact"`` for the round medians, a few continuous
            values each, where the approximation is about ten times too conservative in the tail
            (separated sets of 9: exact 2.1e-5, approximated 2.1e-4).

    Returns:
        ``(p_slower, p_faster)``: p-values for "the candidate's times are stochastically greater"
        and "... smaller" (uncorrected).
    """
    slower = stats.mannwhitneyu(cand, base, alternative="greater", method=method)
    faster = stats.mannwhitneyu(cand, base, alternative="less", method=method)
    return float(slower.pvalue), float(faster.pvalue)


@lru_cache(maxsize=256)
def smallest_p(n_base: int, n_cand: int, method: str = "auto") -> float:
    """The smallest one-sided p-value the U test can give for these sample counts.

    It is the p-value of two completely separated samples (no ties), computed by the same
    scipy call the gate uses, so it matches its choice of exact or asymptotic method.

    Args:
        n_base: samples in the base run.
        n_cand: samples in the candidate run.
        method: as for ``u_test``.

    Returns:
        The p-value; when it is not below alpha, no data of these sizes can be significant.
    """
    base = np.arange(n_base, dtype=float)
    cand = np.arange(n_base, n_base + n_cand, dtype=float)
    return float(stats.mannwhitneyu(cand, base, alternative="greater", method=method).pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, family-wise error control).

    Args:
        pvalues: the raw p-values of one family of tests.

    Returns:
        Adjusted p-values in the same order; reject where adjusted p < alpha.
    """
    k = len(pvalues)
    order = sorted(range(k), key=lambda i: pvalues[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def ratio_text(ratio: float) -> str:
    """A ratio as pyperf prints it.

    Args:
        ratio: ``median(cand) / median(base)``.

    Returns:
        ``"1.23x slower"``, ``"1.10x faster"`` or ``"1.00x"`` when it rounds to no change.
    """
    if not np.isfinite(ratio) or ratio <= 0:
        return f"{ratio:.2f}x"
    if ratio > 1 and f"{ratio:.2f}" != "1.00":
        return f"{ratio:.2f}x slower"
    if ratio < 1 and f"{1 / ratio:.2f}" != "1.00":
        return f"{1 / ratio:.2f}x faster"
    return "1.00x"


def verdict(
    n: tuple[int, int],
    noise: tuple[float, float],
    ratio: float,
    p: tuple[float, float],
    thr: float,
    alpha: float,
    family: int = 1,
    processes: tuple[int, int] | None = None,
    p_processes: tuple[float, float] | None = None,
    max_noise: float = MAX_NOISE,
) -> tuple[str, str]:
    """One benchmark's verdict by the rules of docs/gate.md: enough samples, low noise, then significance and size.

    Args:
        n: samples in (base, cand).
        noise: IQR/median of (base, cand).
        ratio: ``median(cand) / median(base)``.
        p: Holm-adjusted one-sided p-values (slower, faster).
        thr: the relative threshold that applies (0.05 = 5%).
        alpha: the family-wise significance level.
        family: how many benchmarks Holm corrects over; no Holm-adjusted p can fall below
            ``family`` times the smallest raw p these sample counts allow.
        processes: processes in (base, cand) when both runs record them (``suite.ab``),
            else None.
        p_processes: Holm-adjusted one-sided p-values (slower, faster) of the exact U test on the
            process medians, given with ``processes``; a change must be significant across processes too,
            since the samples of one process share its offset and are not independent.
        max_noise: IQR/median above which a side is too noisy to judge (default 10%).

    Returns:
        ``(verdict, reason)``: one of slower, faster, unchanged, inconclusive, and why when not plain.
    """
    if (processes is None) != (p_processes is None):
        raise ValueError("processes and p_processes go together")
    holm = f" after Holm over {family} benchmarks" if family > 1 else ""
    if min(n) < MIN_SAMPLES:
        return "inconclusive", f"too few samples ({n[0]} base, {n[1]} cand; need {MIN_SAMPLES} a side)"
    if smallest_p(*n) * family >= alpha:
        return "inconclusive", f"too few samples ({n[0]} base, {n[1]} cand) for p < {alpha:g}{holm}"
    if processes is not None and smallest_p(*processes, method="exact") * family >= alpha:
        need = processes_needed(family, alpha)
        return "inconclusive", (
            f"too few processes ({processes[0]} base, {processes[1]} cand) for p < {alpha:g}{holm}; "
            f"rerun suite.ab with --processes {need}"
        )
    noisy = [f"{side} IQR/median {v:.0%}" for side, v in zip(("base", "cand"), noise, strict=True) if v > max_noise]
    if noisy:
        return "inconclusive", "noisy: " + ", ".join(noisy)
    pr = p_processes if p_processes is not None else (0.0, 0.0)  # without processes the samples decide alone
    slower, faster = ratio > 1 + thr, ratio < 1 / (1 + thr)
    if slower and p[0] < alpha and pr[0] < alpha:
        return "slower", ""
    if faster and p[1] < alpha and pr[1] < alpha:
        return "faster", ""
    if (slower and p[0] < alpha) or (faster and p[1] < alpha):  # only the processes held it back
        return "unchanged", "significant over the samples, not over the processes (a process offset?)"
    if slower or faster:
        return "unchanged", "beyond threshold but not significant"
    return "unchanged", ""


def processes_needed(family: int, alpha: float, limit: int = 100) -> int:
    """The fewest processes a side with which two fully separated sets of process medians reach p < alpha after Holm.

    Args:
        family: how many benchmarks are compared.
        alpha: the family-wise significance level.
        limit: the answer is capped here.

    Returns:
        ``r`` such that ``family * smallest_p(r, r, "exact") < alpha`` (exact: 1 / C(2r, r),
        which falls as r grows, so every larger r reaches alpha too).
    """
    r = 2
    while r < limit and smallest_p(r, r, "exact") * family >= alpha:
        r += 1
    return r


def sample_diff(base: Any, cand: Any) -> float | None:
    """Largest absolute difference between two runs' output samples.

    Args:
        base: the base record's ``sample`` (tensor name -> list of floats).
        cand: the candidate record's ``sample``.

    Returns:
        ``max |cand - base|`` over every tensor, or None unless both hold the same non-empty
        tensor names with lists of the same lengths.
    """
    if not isinstance(base, dict) or not isinstance(cand, dict) or not base or base.keys() != cand.keys():
        return None
    worst = 0.0
    for name in base:
        try:
            a, b = np.asarray(base[name], dtype=float), np.asarray(cand[name], dtype=float)
        except (TypeError, ValueError):
            return None
        if a.ndim != 1 or a.shape != b.shape:
            return None
        if a.size:
            diff = np.abs(b - a)
            if np.isnan(diff).any():  # NaN in one run's output: as different as it gets
                return float("inf")
            worst = max(worst, float(diff.max()))
    return worst
