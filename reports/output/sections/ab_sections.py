"""The A/B and numerical-drift sections of the report page (`reports build --ab`, several runs side by side)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from rnnsuite.reports.gate import compare_runs, stats
from rnnsuite.reports.gate.result import VERDICTS, BenchRow, ComparisonResult
from rnnsuite.reports.gate.text import BENCH_HEAD, fmt_p, processes_cell
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFile

DRIFT_KEYS = ["case", "device", "dtype", "check"]
MAX_LISTED = 10  # benchmark keys named when listing those in one A/B file only
RATIO_SHADE = r.Shade("RdYlGn_r", vmin=-np.log(1.5), vmax=np.log(1.5), log=True)  # saturates at 1.5x either way


@dataclass(frozen=True)
class AB:
    """Two interleaved A/B run files judged by the regression gate (B is the candidate)."""

    result: ComparisonResult
    points: pd.DataFrame  # one row per benchmark key: ``key`` and ``table.POINT``, from A then B

    @property
    def title(self) -> str:
        """The section title, ``A/B: <label A> vs <label B>``."""
        return f"A/B: {self.result.base_label} vs {self.result.cand_label}"


def load_ab(paths: Sequence[str]) -> AB:
    """Load the two run files of ``--ab`` and compare B with A by the gate's rules (docs/gate.md).

    Args:
        paths: the A (base) and B (candidate) run files.

    Returns:
        The gate's result and the benchmarks' identifying columns.

    Raises:
        RunFileError: a file is missing, unreadable or not a run file, or holds malformed benchmarks.
    """
    a, b = (load_run(path) for path in paths)
    label_a, label_b = tb.unique_labels([a.label, b.label])
    a, b = replace(a, label=label_a), replace(b, label=label_b)
    points = tb.tidy([a, b]).drop_duplicates("key")[["key", *tb.POINT]]
    return AB(compare_runs(a, b), points.reset_index(drop=True))


# ------------------------------------------------------------------------------------------------ A/B


def ab_frame(ab: AB) -> pd.DataFrame:
    """One row per benchmark in both files, slower first: medians, ratio, interval, corrected p, verdict.

    Args:
        ab: the comparison.

    Returns:
        The display frame; the median columns are seconds (format with ``ab_formats``), the rest text.
        ``ratio_value`` (the raw ratio where its interval excludes 1, else NaN: what the ratio is shaded by) is the
        last column.
    """
    res = ab.result
    a_col, b_col = f"{res.base_label} (ms)", f"{res.cand_label} (ms)"
    rows = [_ab_row(row, a_col, b_col) for row in res.rows]
    cols = ["key", a_col, b_col, *BENCH_HEAD[3:], "ratio_value"]  # the gate's columns after the medians
    df = pd.DataFrame(rows, columns=cols)
    df = ab.points.merge(df, on="key", how="right").drop(columns="key")
    rank = df["verdict"].str.split(" ").str[0].map({v: i for i, v in enumerate(VERDICTS)})
    df = df.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")
    df = r.drop_constant(df, ["device", "backend", "size", "shape"])
    return df.drop(columns=[] if df["note"].astype(bool).any() else ["note"]).reset_index(drop=True)


def _ab_row(row: BenchRow, a_col: str, b_col: str) -> dict[str, Any]:
    ci = "—" if row.ci is None else f"[{row.ci[0]:.3f}, {row.ci[1]:.3f}]"
    verdict = row.verdict + (f" (> {row.threshold:.0%})" if row.verdict in ("slower", "faster") else "")
    return {
        "key": row.key,
        a_col: row.base_median,
        b_col: row.cand_median,
        "ratio": stats.ratio_text(row.ratio),
        "95% CI of ratio": ci,
        "p (Holm)": fmt_p(row.p),
        "processes: p (Holm)": processes_cell(row),
        "verdict": verdict,
        "note": row.reason,
        "ratio_value": row.ratio if row.ci is not None and (row.ci[0] > 1 or row.ci[1] < 1) else float("nan"),
    }


def ab_formats(ab: AB) -> dict[str, r.Formatter]:
    """The formatters of the median columns of ``ab_frame``."""
    return {f"{ab.result.base_label} (ms)": r.fmt_ms, f"{ab.result.cand_label} (ms)": r.fmt_ms}


def verdict_css(text: Any) -> str:
    """The CSS of a verdict cell: red slower, green faster, grey inconclusive."""
    t = str(text)
    if t.startswith("slower"):
        return r.BAD_CSS
    if t.startswith("faster"):
        return r.GOOD_CSS + ";font-weight:600"
    return r.MUTED_CSS if t.startswith("inconclusive") else ""


def _ab_how(ab: AB) -> str:
    res = ab.result
    return (
        f"{res.cand_label} (B) against {res.base_label} (A), two run files of the interleaved runner "
        "(rnnsuite ab); the gate's rules (docs/gate.md): ratio = median(B) / median(A), 95% bootstrap interval "
        f"of the ratio, one-sided Mann-Whitney U p Holm-corrected over {len(res.rows)} benchmark(s); slower / faster "
        f"when p < {res.alpha:g} and the ratio is beyond {res.threshold:.0%} ({res.sub_ms_threshold:.0%} below 1 ms), "
        f"and the same test on the rounds' medians (one per process) gives p < {res.alpha:g} too; "
        f"inconclusive when a side is noisy (IQR/median > {res.max_noise:.0%}) or has too few samples or rounds. "
        "Slower first."
    )


def _ab_extras(ab: AB) -> list[str]:
    res = ab.result
    lines = [f"note: {n}" for n in res.notes]
    for label, keys in ((res.base_label, res.only_base), (res.cand_label, res.only_cand)):
        if keys:
            more = f", ... ({len(keys) - MAX_LISTED} more)" if len(keys) > MAX_LISTED else ""
            lines.append(f"{len(keys)} benchmark(s) only in {label}: {', '.join(keys[:MAX_LISTED])}{more}")
    lines += [f"crashed on {side}: {key} ({error})" for key, side, error in res.crashed]
    lines += [
        f"correctness check passed in {res.base_label}, failed in {res.cand_label}: {d.key} {d.check}"
        for d in res.failures
    ]
    return lines


def ab_section(ab: AB) -> str:
    """The A/B section of the HTML page: the gate's headline, then one row per benchmark."""
    head = f"<p><strong>{html.escape(ab.result.headline())}</strong></p>"
    extras = "".join(f'<p class="how">{html.escape(line)}</p>' for line in _ab_extras(ab))
    if not ab.result.rows:
        return head + r.how_html(_ab_how(ab)) + extras + r.none_html("No benchmark key is in both A/B files.")
    df = ab_frame(ab)
    shade = replace(RATIO_SHADE, by=df["ratio_value"].tolist())  # the ratio column is text; coloured only past 1
    table = r.styled(
        df.drop(columns="ratio_value"), "ab", ab_formats(ab), shades={"ratio": shade}, css={"verdict": verdict_css}
    )
    return head + r.how_html(_ab_how(ab)) + extras + table


def ab_markdown(ab: AB) -> str:
    """The A/B section of summary.md: title, the gate's headline, notes and the table."""
    extras = [f"- {line}" for line in _ab_extras(ab)]
    lines = [f"### {ab.title}", "", f"**{ab.result.headline()}**", "", *extras, *([""] if extras else [])]
    if not ab.result.rows:
        return "\n".join([*lines, "No benchmark key is in both A/B files."])
    return "\n".join([*lines, r.markdown_table(ab_frame(ab).drop(columns="ratio_value"), ab_formats(ab))])


# ---------------------------------------------------------------------------------------------- drift


def drift_frame(runs: Sequence[RunFile]) -> pd.DataFrame:
    """Each run's largest error per case, device, dtype and check, and the output difference to the first run.

    Only runs with correctness records take part; the first of them is the reference.

    Args:
        runs: the loaded runs, in order.

    Returns:
        One row per case x device x dtype x check (first-seen order) with ``max_abs <run>`` per run and, on the
        forward rows, ``sample diff <run> vs <first>`` per later run: the largest ``|run - first|`` over the
        forward ``sample`` values of the tensors both hold with lists of the same length (NaN when none).
        Empty when fewer than two runs have correctness records.
    """
    runs = [run for run in runs if run.correctness]
    if len(runs) < 2:
        return pd.DataFrame(columns=DRIFT_KEYS)
    checks = tb.checks(runs).fillna(dict.fromkeys(DRIFT_KEYS, "—"))
    order = tb.first_seen_sort(checks[DRIFT_KEYS].drop_duplicates(), DRIFT_KEYS)
    errors = checks.groupby([*DRIFT_KEYS, "run"], sort=False)["max_abs"].max().unstack("run")
    errors = errors.reindex(columns=[run.label for run in runs])
    errors.columns = [f"max_abs {label}" for label in errors.columns]
    wide = order.merge(errors.reset_index(), on=DRIFT_KEYS, how="left")
    first = _forward_samples(runs[0])
    for run in runs[1:]:
        other = _forward_samples(run)
        diffs = [
            largest_sample_diff(first.get(k[:3]), other.get(k[:3])) if k[3] == "forward" else None
            for k in wide[DRIFT_KEYS].itertuples(index=False, name=None)
        ]
        wide[f"sample diff {run.label} vs {runs[0].label}"] = pd.Series(diffs, dtype="float64")
    return wide


def _forward_samples(run: RunFile) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The first non-empty forward ``sample`` per (case, device, dtype)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in run.correctness:
        sample = rec.get("sample")
        if rec.get("check") == "forward" and isinstance(sample, dict) and sample:
            key = tuple(str(rec.get(k) if rec.get(k) is not None else "—") for k in DRIFT_KEYS[:3])
            out.setdefault((key[0], key[1], key[2]), sample)
    return out


def largest_sample_diff(base: dict[str, Any] | None, cand: dict[str, Any] | None) -> float | None:
    """The largest absolute difference between two runs' forward samples, tensor by tensor.

    Unlike the gate's ``stats.sample_diff`` on a whole record, a tensor only one run holds, or whose lists
    differ in length, is skipped rather than making the records incomparable.

    Args:
        base: the first run's ``sample`` (tensor name -> up to 64 floats), or None.
        cand: the other run's ``sample``, or None.

    Returns:
        The max over the comparable, non-empty tensors of ``max |cand - base|``; None when there is none.
    """
    if not base or not cand:
        return None
    found = []
    for name in base.keys() & cand.keys():
        if not (isinstance(base[name], list) and base[name]):
            continue
        diff = stats.sample_diff({name: base[name]}, {name: cand[name]})  # None: lengths or values differ in kind
        if diff is not None:
            found.append(diff)
    return float(np.max(found)) if found else None


def drift_formats(frame: pd.DataFrame) -> dict[str, r.Formatter]:
    """The formatters of ``drift_frame``'s number columns."""
    return {c: r.fmt_err for c in frame.columns if c not in DRIFT_KEYS}


def _drift_how(frame: pd.DataFrame) -> str:
    runs = [c.removeprefix("max_abs ") for c in frame.columns if c.startswith("max_abs ")]
    return (
        f"the correctness records of {len(runs)} runs ({', '.join(runs)}) side by side, one row per case, device, "
        "dtype and check: max_abs is each run's largest absolute error against the float64 reference; sample diff is "
        f"the largest |difference| between the forward outputs of a run and of {runs[0]} (up to 64 values per output "
        "tensor at the same positions; tensors whose sample lengths differ are skipped; — when none is comparable)."
    )


def drift_section(frame: pd.DataFrame) -> str:
    """The drift section of the HTML page."""
    return r.how_html(_drift_how(frame)) + r.styled(frame, "drift", drift_formats(frame))


def drift_markdown(frame: pd.DataFrame) -> str:
    """The drift section of summary.md."""
    return "\n".join(["### Numerical drift between runs", "", r.markdown_table(frame, drift_formats(frame))])
