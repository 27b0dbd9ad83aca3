"""The gate's verdicts as text (the terminal) and markdown (a CI job summary); see reports/gate/__init__.py."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from rnnsuite.reports.gate import count_rule, stats
from rnnsuite.reports.gate.result import BenchRow, ComparisonResult, DriftRow


def fmt_time(seconds: float) -> str:
    """A duration with a unit chosen for it (``1.23 ms``).

    Args:
        seconds: the duration.

    Returns:
        The text.
    """
    units = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))
    unit, scale = next(((u, sc) for u, sc in units if seconds >= sc), ("ns", 1e-9))
    value = seconds / scale
    digits = max(0, 2 - math.floor(math.log10(value))) if value > 0 else 0
    return f"{value:.{digits}f} {unit}"


def fmt_p(p: float) -> str:
    """A p-value: scientific below 0.001, three decimals above."""
    return f"{p:.1e}" if p < 0.001 else f"{p:.3f}"


def _fmt_opt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _bench_cells(r: BenchRow) -> list[str]:
    ci = "-" if r.ci is None else f"[{r.ci[0]:.3f}, {r.ci[1]:.3f}]"
    fmt: Callable[[float], str]
    if r.metric == "instructions":
        verdict = r.verdict + (f" (> {r.threshold:.1%} instr)" if r.verdict in ("slower", "faster") else "")
        fmt, p = count_rule.fmt_count, "-"
    else:
        verdict = r.verdict + (f" (> {r.threshold:.0%})" if r.verdict in ("slower", "faster") else "")
        fmt, p = fmt_time, fmt_p(r.p)
    return [
        r.key,
        fmt(r.base_median) if r.base_median > 0 else "-",
        fmt(r.cand_median) if r.cand_median > 0 else "-",
        stats.ratio_text(r.ratio),
        ci,
        p,
        processes_cell(r),
        verdict,
        r.reason,
    ]


def processes_cell(r: BenchRow) -> str:
    """``8/8: 7.8e-05``: processes a side and the process-level p in the direction of the change."""
    if r.processes is None or r.p_process is None:
        return "-"
    return f"{r.processes[0]}/{r.processes[1]}: {fmt_p(r.p_process)}"


def _drift_cells(d: DriftRow) -> list[str]:
    factor = "-" if d.factor is None else f"{d.factor:.3g}x"
    return [
        d.key,
        d.check,
        f"{d.base_outcome} -> {d.cand_outcome}",
        _fmt_opt(d.base_max_abs, ".2e"),
        _fmt_opt(d.cand_max_abs, ".2e"),
        factor,
        _fmt_opt(d.sample_diff, ".2e"),
        d.status,
    ]


BENCH_HEAD = [
    "benchmark",
    "base",
    "cand",
    "ratio",
    "95% CI of ratio",
    "p (Holm)",
    "processes: p (Holm)",
    "verdict",
    "note",
]
DRIFT_HEAD = ["key", "check", "outcome", "base max_abs", "cand max_abs", "change", "sample diff", "status"]


def _rules(res: ComparisonResult) -> str:
    return (
        f"rules: slower/faster when one-sided Mann-Whitney U p < {res.alpha:g} (Holm over {len(res.rows)}) "
        f"and median ratio beyond {res.threshold:.0%} (base median >= 1 ms) or {res.sub_ms_threshold:.0%} "
        f"(< 1 ms), and, where the runs record processes (suite.ab), the same test on the process medians "
        f"p < {res.alpha:g}; inconclusive when IQR/median > {res.max_noise:.0%} or too few samples or processes"
    )


def _text_table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    body = [head, *rows]
    widths = [max(len(r[i]) for r in body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def to_text(res: ComparisonResult) -> str:
    """The comparison as a plain-text report for a terminal.

    Args:
        res: the comparison.

    Returns:
        The text, ending with the headline.
    """
    out = [f"base: {res.base_label}  candidate: {res.cand_label}", _rules(res), *(f"note: {n}" for n in res.notes)]
    out += ["", *_text_table(BENCH_HEAD, (_bench_cells(r) for r in res.rows))] if res.rows else ["no common benchmarks"]
    out += [f"only in base: {k}" for k in res.only_base] + [f"only in candidate: {k}" for k in res.only_cand]
    out += [f"crashed on {side}: {key} ({error})" for key, side, error in res.crashed]
    if res.drift or res.drift_only_base or res.drift_only_cand:
        out += ["", "numerical drift (correctness checks):", *_text_table(DRIFT_HEAD, map(_drift_cells, res.drift))]
        out += [f"only in base: {k}" for k in res.drift_only_base]
        out += [f"only in candidate: {k}" for k in res.drift_only_cand]
    out += [f"FAILED in candidate, passed in base: {d.key} {d.check}" for d in res.failures]
    return "\n".join([*out, "", res.headline()]) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]


def to_markdown(res: ComparisonResult) -> str:
    """The comparison as markdown for a GitHub job summary: headline, table, drift section.

    Args:
        res: the comparison.

    Returns:
        The document.
    """
    out = [f"## Benchmark comparison: `{res.base_label}` -> `{res.cand_label}`", "", f"**{res.headline()}**", ""]
    out += [f"> note: {n}" for n in res.notes] + ([""] if res.notes else []) + [_rules(res), ""]
    out += _md_table(BENCH_HEAD, (_bench_cells(r) for r in res.rows)) if res.rows else ["No common benchmarks."]
    out += (
        [""]
        + [f"- only in base: `{k}`" for k in res.only_base]
        + [f"- only in candidate: `{k}`" for k in res.only_cand]
        + [f"- **crashed on {side}: `{key}`** ({error})" for key, side, error in res.crashed]
    )
    out += ["", "### Numerical drift", ""]
    out += _md_table(DRIFT_HEAD, map(_drift_cells, res.drift)) if res.drift else ["No correctness checks in both runs."]
    out += [""] + [f"- only in base: `{k}`" for k in res.drift_only_base]
    out += [f"- only in candidate: `{k}`" for k in res.drift_only_cand]
    out += [f"- **FAILED in candidate, passed in base: `{d.key}` {d.check}**" for d in res.failures]
    return "\n".join(out).rstrip() + "\n"
