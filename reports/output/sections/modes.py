"""A case's modes side by side: each forward's error at positions 1, 10, 100 and 1,000 and its time.

A case declared with ``modes=`` (cases/api.py) is one case per mode, ``NAME.MODE``; each forward check
record names its mode (``case_mode``) and holds the output's norm-wise error in u at those positions
(``err_at``, where the sequence is that long). This module gathers them, by case group and dtype, beside
each mode's median forward time from a run file; the renderers (the zoo report, the main report's
markdown) print the rows. Torch-free, like everything in reports/.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rnnsuite.reports.output.render import how_html, none_html
from rnnsuite.vocabulary import DTYPES

if TYPE_CHECKING:
    from rnnsuite.reports.runfile.run import RunFile

POSITIONS = (1, 10, 100, 1000)


@dataclass(frozen=True)
class ModeRow:
    """One mode of one case in one dtype: its forward check's verdict, errors and time."""

    group: str
    mode: str
    device: str
    dtype: str
    outcome: str
    err_u: float | None
    budget_u: float | None
    err_at: Mapping[int, float | None]
    fwd_s: float | None  # median seconds per forward call (None: not timed)


def group_of(case: str, mode: str | None) -> str:
    """The case group of a mode's case name (``min_gru.parallel`` -> ``min_gru``)."""
    return case[: -len(mode) - 1] if mode and case.endswith(f".{mode}") else case


def forward_times(benchmarks: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], float]:
    """Median forward seconds by (case, device, dtype), from a run file's benchmarks (eager, first size)."""
    out: dict[tuple[str, str, str], float] = {}
    for b in benchmarks:
        info = b.get("extra_info", {})
        if info.get("pass") != "fwd" or info.get("backend", "eager") != "eager":
            continue
        key = (str(info.get("case")), str(info.get("device")), str(info.get("dtype")))
        out.setdefault(key, float(b["stats"]["median"]))
    return out


def _err_at(record: Mapping[str, Any]) -> dict[int, float | None]:
    raw = record.get("err_at") or {}
    return {p: (float(raw[str(p)]) if raw.get(str(p)) is not None else None) for p in POSITIONS}


def mode_rows(checks: Iterable[Mapping[str, Any]], times: Mapping[tuple[str, str, str], float]) -> list[ModeRow]:
    """The forward records of mode cases as rows, ordered by group, dtype and mode (as declared)."""
    rows = []
    for c in checks:
        mode = c.get("case_mode")
        if c.get("check") != "forward" or not mode or not c.get("case"):
            continue
        case, device, dtype = str(c["case"]), str(c.get("device")), str(c.get("dtype"))
        rows.append(
            ModeRow(
                group=group_of(case, mode),
                mode=str(mode),
                device=device,
                dtype=dtype,
                outcome=str(c.get("outcome")),
                err_u=c.get("err_u"),
                budget_u=c.get("budget_u"),
                err_at=_err_at(c),
                fwd_s=times.get((case, device, dtype)),
            )
        )
    order = {d: i for i, d in enumerate(DTYPES)}
    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        first.setdefault((r.group, r.mode), i)
    return sorted(rows, key=lambda r: (r.group, r.device, order.get(r.dtype, 9), first[(r.group, r.mode)]))


def _u(x: float | None) -> str:
    return "" if x is None else f"{x:.3g}u"


def _ms(s: float | None) -> str:
    return "" if s is None else f"{s * 1e3:.3g} ms"


def markdown(rows: Iterable[ModeRow]) -> str:
    """The rows as one markdown table (empty string: no mode case)."""
    rows = list(rows)
    if not rows:
        return ""
    head = ["case", "device", "dtype", "mode", "verdict", *(f"err at {p:,}" for p in POSITIONS), "worst", "fwd time"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.group, r.device, r.dtype, r.mode, r.outcome, *(_u(r.err_at[p]) for p in POSITIONS), _u(r.err_u)]
        lines.append("| " + " | ".join([*cells, _ms(r.fwd_s)]) + " |")
    return "\n".join(lines) + "\n"


def run_rows(runs: Sequence[RunFile]) -> list[tuple[str, ModeRow]]:
    """Each run's mode rows, with the run's label: its checks beside its own forward times."""
    return [(run.label, row) for run in runs for row in mode_rows(run.correctness, forward_times(run.benchmarks))]


def section_html(runs: Sequence[RunFile]) -> str:
    """The main report's section: per run, each mode case's modes side by side (a note where there is none)."""
    rows = run_rows(runs)
    if not rows:
        return none_html("No case with several forwards (case(..., modes=...)) in the run(s).")
    how = (
        "a case declared with modes= gives one model several forwards (a parallel scan and a recurrent "
        "step, say), each checked against the one reference. Per dtype the modes stand side by side: the output's "
        "norm-wise error in units of the dtype's rounding (u) at sequence positions 1, 10, 100 and 1,000 (where the "
        "sequence is that long), the worst error against its budget, and the median forward time."
    )
    head = ["run", "case", "device", "dtype", "mode", "verdict", *(f"err at {p:,}" for p in POSITIONS)]
    head += ["worst / budget", "fwd time"]
    body = []
    for label, r in rows:
        worst = f"{_u(r.err_u)} / {_u(r.budget_u)}" if r.err_u is not None else ""
        cells = [label, r.group, r.device, r.dtype, r.mode, r.outcome, *(_u(r.err_at[p]) for p in POSITIONS)]
        body.append(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in [*cells, worst, _ms(r.fwd_s)]) + "</tr>"
        )
    thead = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    return f'{how_html(how)}\n<table class="modes">\n<thead>{thead}</thead>\n<tbody>{"".join(body)}</tbody>\n</table>'
