"""``rnnsuite history STORE --out DIR``: each benchmark's trend over the runs of one machine, with its change points.

The model: a machine's runs in the store (``reports/runs/store.py``) ordered by torch version, then by
date (a torch-version matrix runs one commit under several versions; a commit series runs one
version at several commits). A benchmark's series is its key's value in each run of one kind: the
median time of runs written by ``rnnsuite ab`` (several processes a side: ``time
(processes)``), the median time of runs of one process (``time``: ``make report``), or the
instructions per call of a counted run (``instructions``, ``--metric instructions``). The kinds are
separate series, so each step compares like with like; runs of different machines are never
compared (pass ``--machine all`` to see each machine's own history, one after the other).

A change point is where the gate (``reports/gate/__init__.py``, docs/gate.md) judges a run slower or faster
than the run before it in the series, with the gate's own rule and nothing else:

- counted on both sides: the count ratio beyond ``--count-threshold`` (3%), the counts settled
  (``reports/gate/count_rule.py``);
- timed: the ratio beyond the threshold and the one-sided U tests significant over the samples
  and over the processes' medians (Holm over the benchmarks the two runs share). Runs written by
  ``rnnsuite ab`` hold several processes a side; a run of one process (``make report``)
  cannot tell an offset of its process from a change, and the gate calls its steps inconclusive.

The same rule judges the first run against the last ("first -> last"): that is the column a user
reads to see which cases moved between, say, torch 2.13 and 2.15.
"""

from __future__ import annotations

import argparse
import html
import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from rnnsuite.reports.command_line import OneLineParser, one_line_errors
from rnnsuite.reports.gate import compare_runs
from rnnsuite.reports.gate.count_rule import fmt_count
from rnnsuite.reports.gate.result import ComparisonResult
from rnnsuite.reports.output import comparison_plots
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.page import CSS, HEAD
from rnnsuite.reports.runfile.atomic import write_all_atomic
from rnnsuite.reports.runfile.run import RunFile, RunFileError
from rnnsuite.reports.runs.store import Stored, StoreError, load_store, machines

OUTPUTS = ("history.html", "history.csv", "history.md")
KINDS = ("time (processes)", "time", "instructions")
MOVED = ("slower", "faster")


@dataclass(frozen=True)
class Series:
    """One machine's runs of one metric, in order, and the gate's verdict on each step and on first -> last."""

    machine: str
    metric: str
    runs: list[RunFile]  # labels unique, in order
    steps: list[ComparisonResult]  # runs[i] -> runs[i + 1]
    overall: ComparisonResult | None  # runs[0] -> runs[-1], with three or more runs


def _version(text: object) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", str(text).split("+")[0])[:3])


def _label(run: RunFile, number: int) -> str:
    commit = str((run.data.get("commit_info") or {}).get("id") or "unknown")[:7]
    return f"torch {str(run.machine.get('torch', '?')).split('+')[0]} @ {commit} #{number}"


def series(stored: list[Stored]) -> list[Series]:
    """The series of one machine's runs, one per metric.

    Args:
        stored: the runs of one machine.

    Returns:
        A ``Series`` per kind present (``KINDS``' order).
    """
    ordered = sorted(
        stored, key=lambda s: (_version(s.run.machine.get("torch")), str(s.run.data.get("datetime")), s.number)
    )
    out = []
    for metric in KINDS:
        runs = [replace(s.run, label=_label(s.run, s.number)) for s in ordered if kind(s.run) == metric]
        if not runs:
            continue
        steps = [compare_runs(a, b) for a, b in itertools.pairwise(runs)]
        overall = compare_runs(runs[0], runs[-1]) if len(runs) > 2 else (steps[0] if steps else None)
        out.append(Series(stored[0].machine, metric, runs, steps, overall))
    return out


def kind(run: RunFile) -> str:
    """The run's series: ``instructions``, ``time (processes)`` (process medians recorded) or ``time``."""
    if run.metric == "instructions":
        return "instructions"
    return "time (processes)" if any(run.processes(b) is not None for b in run.benchmarks) else "time"


def frame(s: Series) -> pd.DataFrame:
    """One row per benchmark: its point, its value in each run, the change points and first -> last.

    Args:
        s: one series.

    Returns:
        Columns ``key``, ``tb.POINT``, ``family``, one per run label (seconds or instructions), ``changes``
        (the flagged steps as text), ``first_last`` (the gate's verdict), ``ratio`` (last / first) and
        ``moved`` (a step or first -> last was slower or faster).
    """
    df = tb.tidy(s.runs)
    value = "instructions" if s.metric == "instructions" else "median_s"
    points = df.drop_duplicates("key")[["key", "family", *tb.POINT]].set_index("key")
    wide = df.pivot_table(index="key", columns="run", values=value, aggfunc="first")
    wide = wide.reindex(columns=[run.label for run in s.runs])
    out = points.join(wide, how="left")
    changes: dict[str, list[str]] = {k: [] for k in out.index}
    for step in s.steps:
        for row in step.rows:
            if row.verdict in MOVED:
                changes[row.key].append(
                    f"{_short(step.base_label)} -> {_short(step.cand_label)}: {_ratio(row.ratio, s.metric)}"
                )
    out["changes"] = [("; ".join(changes[k])) for k in out.index]
    verdicts = {row.key: row for row in (s.overall.rows if s.overall else ())}
    out["first_last"] = [verdicts[k].verdict if k in verdicts else "—" for k in out.index]
    out["first_last_note"] = [verdicts[k].reason if k in verdicts else "" for k in out.index]
    out["ratio"] = [verdicts[k].ratio if k in verdicts else float("nan") for k in out.index]
    out["moved"] = out["changes"].astype(bool) | out["first_last"].isin(MOVED)
    rank = out["first_last"].map({"slower": 0, "faster": 1}).fillna(2) + (~out["moved"]) * 3
    return out.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index()


def _short(label: str) -> str:
    return label.split(" @ ")[0].removeprefix("torch ")


def _ratio(ratio: float, metric: str) -> str:
    """``1.27x slower`` of a time; ``1.08x slower (+8.0% instructions)`` of a count."""
    return r.ratio_text(ratio) + (f" ({ratio - 1:+.1%} instructions)" if metric == "instructions" else "")


def moved_lines(s: Series, df: pd.DataFrame) -> list[str]:
    """The headline: which benchmarks the gate calls slower or faster from the first run to the last."""
    if s.overall is None:
        return ["one run: no trend yet."]
    head = f"{_short(s.runs[0].label)} -> {_short(s.runs[-1].label)} ({s.metric}): {s.overall.headline()}"
    lines = [head]
    for verdict in MOVED:
        keys = df.loc[df["first_last"] == verdict, ["key", "ratio"]]
        if len(keys):
            items = ", ".join(f"{k} ({_ratio(x, s.metric)})" for k, x in keys.itertuples(index=False))
            lines.append(f"{verdict}: {items}")
    steps = int(df["changes"].astype(bool).sum())
    lines.append(f"{steps} benchmark(s) with a change point between consecutive runs.")
    return lines


def display(s: Series, df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, r.Formatter]]:
    """The table as shown: values in ms or instructions, the verdicts as text."""
    fmt: r.Formatter = (
        (lambda v: "—" if pd.isna(v) else fmt_count(float(v))) if s.metric == "instructions" else r.fmt_ms
    )
    labels = [run.label for run in s.runs]
    cols = ["case", "device", "dtype", "pass", "backend", "shape", *labels, "first_last", "changes", "first_last_note"]
    unit = "instructions / call" if s.metric == "instructions" else "ms"
    shown = r.drop_constant(df[cols], ["device", "backend", "shape"]).rename(
        columns={"first_last": "first -> last", "changes": "change points", "first_last_note": "why"}
        | {label: f"{label} ({unit})" for label in labels}
    )
    return shown, {f"{label} ({unit})": fmt for label in labels}


def verdict_css(text: object) -> str:
    """Red slower, green faster; nothing else is coloured."""
    return r.BAD_CSS if str(text) == "slower" else (r.GOOD_CSS if str(text) == "faster" else "")


def html_section(s: Series) -> str:
    """One series: the headline, the trend chart and the table."""
    df = frame(s)
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in moved_lines(s, df))
    how = r.how_html(
        f"{len(s.runs)} runs of metric {s.metric} on {s.machine}, by torch version then date; one row per benchmark, "
        "its value in each run. A change point is a step the gate (docs/gate.md) judges slower or faster: counts "
        "beyond the count threshold where both runs are counted, otherwise the time ratio beyond the threshold and "
        "significant over samples and processes (a run of one process makes its steps inconclusive). first -> last "
        "is the same rule between the first run and the last; moved benchmarks first."
    )
    band = s.overall.count_threshold if s.overall is not None and s.metric == "instructions" else None
    uri = comparison_plots.history(df, [run.label for run in s.runs], s.metric, band)
    chart = f'<figure><img src="{uri}" alt="trend"></figure>' if uri else ""
    shown, formats = display(s, df)
    uid = "history-" + re.sub(r"[^a-z]+", "-", s.metric)
    table = r.styled(shown, uid, formats, css={"first -> last": verdict_css})
    return f"<h2>{html.escape(s.metric)}: {html.escape(s.machine)}</h2>{how}<ul>{lines}</ul>{chart}{table}"


def markdown_section(s: Series) -> str:
    """One series for history.md."""
    df = frame(s)
    shown, formats = display(s, df)
    head = [f"## {s.metric}: {s.machine}", "", *(f"- {line}" for line in moved_lines(s, df)), ""]
    return "\n".join([*head, r.markdown_table(shown, formats), ""])


def long_csv(all_series: list[Series]) -> str:
    """Every value of every series, one row per run and benchmark (history.csv)."""
    parts = []
    for s in all_series:
        df = tb.tidy(s.runs)
        value = "instructions" if s.metric == "instructions" else "median_s"
        df = df.assign(
            machine=s.machine,
            metric=s.metric,
            value=df[value],
            order=df["run"].map({run.label: i for i, run in enumerate(s.runs)}),
        )
        parts.append(df[["machine", "metric", "order", "run", "torch", "key", *tb.POINT, "value"]])
    return pd.concat(parts).to_csv(index=False, float_format="%.6g")


def pick(stored: list[Stored], machine: str | None) -> dict[str, list[Stored]]:
    """The machines to show: ``machine`` (``all``: every one), else the machine of the newest run.

    Raises:
        StoreError: no such machine in the store.
    """
    by = machines(stored)
    if machine == "all":
        return by
    if machine is None:
        machine = max(stored, key=lambda s: str(s.run.data.get("datetime"))).machine
    if machine not in by:
        raise StoreError(f"no machine {machine!r} in the store; it holds {', '.join(by)}")
    return {machine: by[machine]}


def render(stored: list[Stored], machine: str | None) -> dict[str, str]:
    """history.html, history.csv and history.md of the chosen machines; ``_console`` for stdout."""
    chosen = pick(stored, machine)
    all_series = [s for runs in chosen.values() for s in series(runs)]
    others = sorted(set(machines(stored)) - set(chosen))
    note = (
        f'<p class="how">Other machines in the store (--machine ID or all): {html.escape(", ".join(others))}.</p>'
        if others
        else ""
    )
    body = note + "".join(html_section(s) for s in all_series)
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head>{HEAD}<title>RNN suite history</title>'
        f"<style>{CSS}</style></head><body><h1>RNN suite history: {len(stored)} runs in the store</h1>{body}</body></html>\n"
    )
    console = "\n".join(line for s in all_series for line in moved_lines(s, frame(s)))
    md = "# RNN suite history\n\n" + "\n".join(markdown_section(s) for s in all_series)
    return {"history.html": page, "history.csv": long_csv(all_series), "history.md": md, "_console": console}


def parser() -> argparse.ArgumentParser:
    """The command line of ``history``."""
    p = OneLineParser(prog="rnnsuite history", description="Each benchmark's trend over a store's runs.")
    p.add_argument("store", type=Path, metavar="STORE", help="a results store (rnnsuite store add)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for history.html, .csv and .md")
    p.add_argument(
        "--machine", metavar="ID", help="the machine (a folder of STORE), or all (default: the newest run's)"
    )
    p.add_argument("--force", action="store_true", help="replace a history already in DIR")
    return p


def main(argv: list[str]) -> int:
    """Build the history; returns 0, or 2 with a one-line error."""

    def body() -> int:
        args = parser().parse_args(argv)
        if args.out.exists() and not args.out.is_dir():
            raise StoreError(f"--out {args.out} is a file, not a folder")
        if (args.out / "history.html").exists() and not args.force:
            raise StoreError(f"{args.out} already holds a history; pass --force to replace it")
        files = render(load_store(args.store), args.machine)
        args.out.mkdir(parents=True, exist_ok=True)
        write_all_atomic({args.out / n: files[n] for n in OUTPUTS})
        print(files["_console"])
        print(f"\nhistory: {(args.out / 'history.html').resolve()}")
        return 0

    return one_line_errors(body, RunFileError, StoreError)
