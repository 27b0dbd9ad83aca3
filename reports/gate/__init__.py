"""The regression gate's rules: how two run files' benchmarks and checks are compared (docs/gate.md).

``compare_runs`` and its helpers decide; the records they return are in ``reports/gate/result.py``,
``reports/gate/text.py`` renders them as text and markdown, ``reports/gate/compare_command.py`` is the command line,
and ``reports/gate/settings.py`` declares the gate's options once for it and for ``rnnsuite ab``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnsuite.reports.gate import count_rule, stats
from rnnsuite.reports.gate.count_rule import COUNT_THRESHOLD
from rnnsuite.reports.gate.result import BenchRow, ComparisonResult, DriftRow
from rnnsuite.reports.gate.stats import ALPHA, MAX_NOISE, THRESHOLD, sample_diff
from rnnsuite.reports.runfile.run import RunFile


def compare_runs(
    base: RunFile,
    cand: RunFile,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
    sub_ms_threshold: float | None = None,
    max_noise: float = MAX_NOISE,
    count_threshold: float = COUNT_THRESHOLD,
) -> ComparisonResult:
    """Compare a candidate run with a base run.

    Args:
        base: the reference run.
        cand: the run under test.
        threshold: smallest relative change that counts, for base medians >= 1 ms (0.05 = 5%).
        alpha: family-wise significance level of each one-sided family (Holm-Bonferroni).
        sub_ms_threshold: the same for base medians below 1 ms; default ``2 * threshold``.
        max_noise: IQR/median above which a side is inconclusive (0.10 = 10%).
        count_threshold: the relative change of instructions per call that counts, for
            benchmarks counted on both sides (0.01 = 1%).

    Returns:
        The verdict of every benchmark and the numerical drift of every correctness check.

    Raises:
        RunFileError: a run holds the same benchmark key twice or malformed samples.
    """
    sub_ms = stats.SUB_MS_FACTOR * threshold if sub_ms_threshold is None else sub_ms_threshold
    b_index, c_index = base.by_key(), cand.by_key()
    common = [k for k in b_index if k in c_index]
    triples = [(k, b_index[k], c_index[k]) for k in common]
    timed = [t for t in triples if not _counted(t)]
    by_key = {r.key: r for r in _bench_rows(timed, threshold, sub_ms, alpha, (base, cand), max_noise)}
    by_key |= {t[0]: count_row(t, count_threshold) for t in triples if _counted(t)}
    rows = tuple(by_key[k] for k in common)
    b_checks, c_checks = _checks(base), _checks(cand)
    drift = tuple(_drift_row(b_checks[k], c_checks[k]) for k in b_checks if k in c_checks)
    crashed = tuple((key, side, error) for side, run in (("A", base), ("B", cand)) for key, error in _crashed(run))
    gone = {key for key, _, _ in crashed}  # named as crashed, not as only in the other run
    return ComparisonResult(
        base.label,
        cand.label,
        alpha,
        threshold,
        sub_ms,
        rows,
        tuple(k for k in b_index if k not in c_index and k not in gone),
        tuple(k for k in c_index if k not in b_index and k not in gone),
        drift,
        tuple(" ".join(k) for k in b_checks if k not in c_checks),
        tuple(" ".join(k) for k in c_checks if k not in b_checks),
        _machine_notes(base, cand) + _processes_notes(common, b_index, c_index),
        max_noise,
        count_threshold,
        crashed,
    )


def _crashed(run: RunFile) -> list[tuple[str, str]]:
    """(key, error) of each benchmark of a run that crashed or timed out (``rnnsuite.errors``, schema 4)."""
    return [(str(e.key), e.error) for e in run.errors if e.test == "benchmark"]


def _noise(bench: dict[str, Any], samples: np.ndarray) -> float:
    """IQR/median as the run file records it (pytest-benchmark's quartiles); from the samples if absent."""
    st = bench["stats"]
    iqr = st.get("iqr")
    if not isinstance(iqr, (int, float)):
        q1, q3 = np.percentile(samples, [25, 75])
        iqr = q3 - q1
    return float(iqr) / float(st["median"]) if st["median"] else float("inf")


def _bench_rows(
    triples: Sequence[tuple[str, dict[str, Any], dict[str, Any]]],
    threshold: float,
    sub_ms: float,
    alpha: float,
    runs: tuple[RunFile, RunFile],
    max_noise: float,
) -> tuple[BenchRow, ...]:
    samples = [(runs[0].samples(b), runs[1].samples(c)) for _, b, c in triples]
    raw = [stats.u_test(x, y) for x, y in samples]
    p_slow, p_fast = stats.holm([p[0] for p in raw]), stats.holm([p[1] for p in raw])
    per_round = [(runs[0].process_medians(b), runs[1].process_medians(c)) for _, b, c in triples]
    raw_r = [stats.u_test(x, y, "exact") if x is not None and y is not None else (1.0, 1.0) for x, y in per_round]
    pr_slow, pr_fast = stats.holm([p[0] for p in raw_r]), stats.holm([p[1] for p in raw_r])
    rows = []
    for i, (key, b, c) in enumerate(triples):
        x, y = samples[i]
        ratio = stats.median_ratio(x, y)
        thr = threshold if float(np.median(x)) >= stats.SUB_MS else sub_ms
        noise = (_noise(b, x), _noise(c, y))
        rb, rc = per_round[i]
        processes = (rb.size, rc.size) if rb is not None and rc is not None else None
        p_processes = (pr_slow[i], pr_fast[i]) if processes else None
        # The interval resamples processes (process medians), not the samples of one process.
        ci = stats.ratio_interval(rb, rc) if rb is not None and rc is not None and min(rb.size, rc.size) > 1 else None
        verdict, reason = stats.verdict(
            (x.size, y.size),
            noise,
            ratio,
            (p_slow[i], p_fast[i]),
            thr,
            alpha,
            len(triples),
            processes,
            p_processes,
            max_noise,
        )
        verdict, reason = time_verdict_text(verdict, reason, processes, thr, alpha, len(triples))
        rows.append(
            BenchRow(
                key=key,
                base_median=float(np.median(x)),
                cand_median=float(np.median(y)),
                n_base=x.size,
                n_cand=y.size,
                ratio=ratio,
                ci=ci,
                p_slower=p_slow[i],
                p_faster=p_fast[i],
                threshold=thr,
                verdict=verdict,
                reason=reason,
                processes=processes,
                p_processes=p_processes,
                noise=noise,
            )
        )
    return tuple(rows)


NO_ROUNDS = (
    "no process medians on both sides (one process a side): a process offset cannot be told from a change; "
    "run both sides with suite.ab, or use --metric instructions"
)


def time_verdict_text(
    verdict: str, reason: str, processes: tuple[int, int] | None, thr: float, alpha: float, family: int
) -> tuple[str, str]:
    """The wall-time verdict as the gate gives it: inconclusive without processes, and what a change was tested by.

    Without process medians on both sides the samples of one process are all there is, and the
    pooled test false-alarmed on A/A runs (docs/notes/gate.md, study 1); such a benchmark is inconclusive.
    """
    if processes is None:
        return "inconclusive", NO_ROUNDS
    if verdict in ("slower", "faster") and not reason:
        holm = f", Holm over {family}" if family > 1 else ""
        side = "greater" if verdict == "slower" else "smaller"
        reason = (
            f"tested: median ratio beyond {thr:.0%}, and one-sided U test (times {side}) p < {alpha:g} over "
            f"the samples and over {processes[0]}/{processes[1]} processes' medians{holm}"
        )
    return verdict, reason


def _counted(triple: tuple[str, dict[str, Any], dict[str, Any]]) -> bool:
    """Whether either side of a benchmark was measured with ``--metric instructions``."""
    return any(RunFile.counted(b) for b in triple[1:])


def count_row(triple: tuple[str, dict[str, Any], dict[str, Any]], thr: float) -> BenchRow:
    """The row of a counted benchmark: the count ratio against ``thr`` (reports/count_rule.py).

    A benchmark counted on one side only is inconclusive: a count and a time do not compare.
    """
    key, b, c = triple
    nb, nc = RunFile.counts(b), RunFile.counts(c)
    sides: dict[str, Any] = {
        "n_base": nb.repeats if nb else 0,
        "n_cand": nc.repeats if nc else 0,
        "ci": None,
        "threshold": thr,
    }
    sides |= {"p_slower": 1.0, "p_faster": 1.0, "metric": "instructions"}
    if nb is None or nc is None:
        side = "base" if nb is None else "candidate"
        reason = f"the {side} has no instruction count (compare runs of the same --metric)"
        base, cand = nb.instructions if nb else 0.0, nc.instructions if nc else 0.0
        return BenchRow(key=key, base_median=base, cand_median=cand, ratio=math.nan, verdict="inconclusive",
                        reason=reason, **sides)  # fmt: skip
    spread = (nb.spread, nc.spread)
    verdict, reason = count_rule.count_verdict(nb.instructions, nc.instructions, spread, thr)
    return BenchRow(key=key, base_median=nb.instructions, cand_median=nc.instructions,
                    ratio=nc.instructions / nb.instructions, verdict=verdict, reason=reason, noise=spread,
                    **sides)  # fmt: skip


def _checks(run: RunFile) -> dict[tuple[str, str], dict[str, Any]]:
    """Correctness records by (key, check); of duplicates a failed one wins, so none is hidden."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in run.correctness:  # load_run has checked that each has key and check
        k = (str(rec["key"]), str(rec["check"]))
        if k not in out or rec.get("outcome") == "failed":
            out[k] = rec
    return out


def _drift_row(b: dict[str, Any], c: dict[str, Any]) -> DriftRow:
    return DriftRow(
        str(b["key"]),
        str(b["check"]),
        str(b.get("outcome")),
        str(c.get("outcome")),
        _num(b.get("max_abs")),
        _num(c.get("max_abs")),
        sample_diff(b.get("sample"), c.get("sample")),
    )


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _processes_notes(common: list[str], b_index: dict[str, Any], c_index: dict[str, Any]) -> tuple[str, ...]:
    """A note when only one run records process medians: the process-level test cannot run."""
    has = [any(RunFile.processes(idx[k]) is not None for k in common) for idx in (b_index, c_index)]
    if has[0] == has[1]:
        return ()
    side = "base" if has[0] else "candidate"
    return (f"only the {side} records process medians: its timed benchmarks are inconclusive (run both with suite.ab)",)


def _machine_notes(base: RunFile, cand: RunFile) -> tuple[str, ...]:
    fields = ("cpu_model", "cores", "threads", "gpu")
    diffs = [
        f"{f} {base.machine.get(f)!r} vs {cand.machine.get(f)!r}"
        for f in fields
        if base.machine.get(f) != cand.machine.get(f)
    ]
    if not diffs:
        return ()
    return (f"the runs differ in {', '.join(diffs)}: timings from different machines are not comparable",)
