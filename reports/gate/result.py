"""What the regression gate decided about two runs: a row per benchmark and per check, and the whole result.

The records only (pyperf's ``CompareResult``): ``reports/gate/__init__.py`` computes them, ``reports/gate/text.py`` and
``reports/output/sections/ab_sections.py`` render them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnsuite.reports.gate.count_rule import COUNT_THRESHOLD
from rnnsuite.reports.gate.stats import MAX_NOISE

VERDICTS = ("slower", "faster", "unchanged", "inconclusive")
EXIT_INCONCLUSIVE = 3  # no benchmark slower, but one could not be judged: never a pass in CI


@dataclass(frozen=True, kw_only=True)
class BenchRow:
    """One benchmark found in both runs."""

    key: str
    base_median: float
    cand_median: float
    n_base: int
    n_cand: int
    ratio: float
    ci: tuple[float, float] | None  # 95% bootstrap interval of the ratio; None without raw samples
    p_slower: float  # one-sided U test, Holm-adjusted over all benchmarks compared
    p_faster: float
    threshold: float  # the fraction that applied (depends on the base median)
    verdict: str  # one of VERDICTS
    reason: str = ""
    processes: tuple[int, int] | None = None  # processes a side, when both runs record process medians (suite.ab)
    p_processes: tuple[float, float] | None = None  # the same U tests on the process medians, Holm-adjusted
    noise: tuple[float, float] | None = None  # IQR/median of (base, cand), as the noise limit judged it
    metric: str = "time"  # "instructions": medians are instructions per call, judged by counts.count_verdict

    @property
    def p(self) -> float:
        """The adjusted p-value in the direction of the observed change."""
        return self.p_slower if self.ratio >= 1 else self.p_faster

    @property
    def p_process(self) -> float | None:
        """The adjusted process-level p-value in the direction of the observed change; None without processes."""
        if self.p_processes is None:
            return None
        return self.p_processes[0] if self.ratio >= 1 else self.p_processes[1]


@dataclass(frozen=True)
class DriftRow:
    """One correctness check, matched by (key, check), found in both runs."""

    key: str
    check: str
    base_outcome: str
    cand_outcome: str
    base_max_abs: float | None
    cand_max_abs: float | None
    sample_diff: float | None  # largest |cand - base| over the forward samples; None if not comparable

    @property
    def factor(self) -> float | None:
        """``cand max_abs / base max_abs``, or None when it is not defined."""
        if self.base_max_abs is None or self.cand_max_abs is None or self.base_max_abs == 0:
            return None
        return self.cand_max_abs / self.base_max_abs

    @property
    def status(self) -> str:
        """``regression`` (passed -> failed), ``failed in both``, ``fixed``, else the candidate's outcome."""
        if self.cand_outcome == "failed":
            return "regression" if self.base_outcome == "passed" else "failed in both"
        if self.base_outcome == "failed" and self.cand_outcome == "passed":
            return "fixed"
        return self.cand_outcome


@dataclass(frozen=True)
class ComparisonResult:
    """Everything the gate decided about two runs."""

    base_label: str
    cand_label: str
    alpha: float
    threshold: float
    sub_ms_threshold: float
    rows: tuple[BenchRow, ...]
    only_base: tuple[str, ...]
    only_cand: tuple[str, ...]
    drift: tuple[DriftRow, ...]
    drift_only_base: tuple[str, ...]
    drift_only_cand: tuple[str, ...]
    notes: tuple[str, ...]
    max_noise: float = MAX_NOISE
    count_threshold: float = COUNT_THRESHOLD
    crashed: tuple[tuple[str, str, str], ...] = ()  # (key, "A" or "B", error): a side's benchmark that crashed

    def counts(self) -> dict[str, int]:
        """Benchmarks per verdict, in the order of ``VERDICTS``."""
        return {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}

    @property
    def failures(self) -> tuple[DriftRow, ...]:
        """Checks that passed in the base and failed in the candidate."""
        return tuple(d for d in self.drift if d.status == "regression")

    @property
    def exit_code(self) -> int:
        """1 when a benchmark is slower, crashed on a side, or a check regressed; else 3 when one is inconclusive; else 0."""
        if any(r.verdict == "slower" for r in self.rows) or self.failures or self.crashed:
            return 1
        return EXIT_INCONCLUSIVE if any(r.verdict == "inconclusive" for r in self.rows) else 0

    def headline(self) -> str:
        """``N slower / N faster / N unchanged / N inconclusive`` (+ correctness regressions)."""
        text = " / ".join(f"{n} {v}" for v, n in self.counts().items())
        text += "".join(f"; crashed on {side}: {key}" for key, side, _ in self.crashed)
        return text + (f"; {len(self.failures)} correctness regression(s)" if self.failures else "")
