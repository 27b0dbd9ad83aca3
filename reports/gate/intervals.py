"""The interval of every ratio the report shows, and whether both sides ran the same kernel ops.

A ratio of two medians is a finding only when its interval excludes 1. The interval is the gate's
(``stats.ratio_bootstrap``: 95%, percentile bootstrap of the median ratio, each side resampled
on its own, fixed seed), over what the runs hold:

- **processes**: where both sides record several process medians (``extra_info.processes``,
  written by ``rnnsuite ab``), those are resampled. The rounds of one process share its
  offset (docs/gate.md), so only the process medians show how far two runs can sit apart.
- **rounds**: otherwise the rounds (``stats.data``). This interval is narrower than the truth
  between two processes: a ratio it calls significant may still be a process offset, and the
  tables say which basis each interval had.
- none: a side without two values of either (a one-round benchmark, a counted one).

A geometric mean over several benchmarks (section b over shapes, f over all keys) gets the
percentile interval of the geometric means of the benchmarks' bootstrap replicates.

``same_ops`` compares ``extra_info.kernel_ops`` (aten op -> calls in one profiled call): where both
sides ran the very same ops, a ratio far from 1 is an accident of the measurement (e.g. the vendor
kernel fell back to the native path) more often than a difference of kernels, and the row is marked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import stats
from rnnsuite.reports.runfile.run import RunFile

LEVEL = 0.95


@dataclass(frozen=True)
class Measure:
    """What an interval can resample of one benchmark of one run."""

    rounds: np.ndarray | None
    processes: np.ndarray | None
    kernel_ops: Mapping[str, Any] | None


@dataclass(frozen=True)
class Interval:
    """A ratio's interval, what it resampled, and whether both sides ran the same ops."""

    low: float
    high: float
    basis: str  # "processes", "rounds", or "" (none)
    same_ops: bool = False

    @property
    def excludes_one(self) -> bool:
        """The interval lies wholly above or below 1: the only ratios a table colours."""
        return bool(self.basis) and (self.low > 1 or self.high < 1)

    def text(self) -> str:
        """``[0.93, 1.10] rounds``, or ``—`` without an interval."""
        return f"[{self.low:.2f}, {self.high:.2f}] {self.basis}" if self.basis else "—"


NONE = Interval(math.nan, math.nan, "")


def _values(data: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        return None
    ok = arr.ndim == 1 and arr.size >= 2 and bool(np.all(np.isfinite(arr))) and float(np.median(arr)) > 0
    return arr if ok else None


def measures(runs: Sequence[RunFile]) -> dict[tuple[str, str], Measure]:
    """Each benchmark's rounds, process medians and kernel ops, by (run label, key).

    Args:
        runs: the loaded runs (labels already unique).

    Returns:
        The measures; a counted benchmark (``metric: instructions``) has no rounds of a timing.
    """
    out = {}
    for run in runs:
        for bench in run.benchmarks:
            extra = bench["extra_info"]
            timed = not run.counted(bench)
            ops = extra.get("kernel_ops")
            processes = run.processes(bench)
            out[(run.label, run.key(bench))] = Measure(
                _values(bench["stats"].get("data")) if timed else None,
                _values([p.median_s for p in processes]) if timed and processes is not None else None,
                ops if isinstance(ops, dict) and ops else None,
            )
    return out


def _sides(base: Measure, cand: Measure) -> tuple[np.ndarray, np.ndarray, str] | None:
    if base.processes is not None and cand.processes is not None:
        return base.processes, cand.processes, "processes"
    if base.rounds is not None and cand.rounds is not None:
        return base.rounds, cand.rounds, "rounds"
    return None


def _same_ops(base: Measure | None, cand: Measure | None) -> bool:
    return base is not None and cand is not None and base.kernel_ops is not None and base.kernel_ops == cand.kernel_ops


def geomean_interval(pairs: Sequence[tuple[Measure | None, Measure | None]]) -> Interval:
    """The interval of the geometric mean of the pairs' ratios (one pair: of its ratio).

    Args:
        pairs: (base, candidate) measures; a pair without values on both sides leaves the mean without an interval.

    Returns:
        The interval; its basis is ``processes`` only when every pair had processes.
    """
    sides = [s for b, c in pairs if b is not None and c is not None and (s := _sides(b, c)) is not None]
    if not sides or len(sides) != len(pairs):
        return NONE
    logs = [np.log(stats.ratio_bootstrap(b, c, LEVEL).bootstrap_distribution) for b, c, _ in sides]
    mean = np.exp(np.mean(logs, axis=0))  # one geometric mean per bootstrap replicate
    alpha = (1 - LEVEL) / 2
    low, high = np.quantile(mean, [alpha, 1 - alpha])
    basis = "processes" if all(s[2] == "processes" for s in sides) else "rounds"
    same = all(_same_ops(b, c) for b, c in pairs)
    return Interval(float(low), float(high), basis, same)


def pair_interval(found: Mapping[tuple[str, str], Measure], base: tuple[Any, Any], cand: tuple[Any, Any]) -> Interval:
    """The interval of one ratio ``cand / base``, each side named by (run label, key)."""
    b, c = found.get((str(base[0]), str(base[1]))), found.get((str(cand[0]), str(cand[1])))
    return geomean_interval([(b, c)])


def columns(intervals: Sequence[Interval]) -> pd.DataFrame:
    """The intervals as frame columns: ``ci_low, ci_high, ci_basis, same_ops, significant``."""
    return pd.DataFrame(
        {
            "ci_low": [i.low for i in intervals],
            "ci_high": [i.high for i in intervals],
            "ci_basis": [i.basis for i in intervals],
            "same_ops": [i.same_ops for i in intervals],
            "significant": [i.excludes_one for i in intervals],
        }
    )


def ci_text(low: Any, high: Any, basis: Any) -> str:
    """A frame row's interval as text (``Interval.text``)."""
    if not basis or pd.isna(low):
        return "—"
    return Interval(float(low), float(high), str(basis)).text()


def shade_by(ratios: Sequence[Any], significant: Sequence[Any]) -> list[float]:
    """The numbers a ratio column is shaded by: the ratio where its interval excludes 1, else NaN (no colour)."""
    return [float(r) if bool(s) and pd.notna(r) else math.nan for r, s in zip(ratios, significant, strict=True)]
