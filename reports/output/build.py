"""``rnnsuite build RUN.json ... --out DIR``: results.csv, report.html and summary.md, written atomically."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rnnsuite.reports.command_line import USAGE, OneLineParser, UsageError
from rnnsuite.reports.output import page
from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import ab_sections, axis, errors
from rnnsuite.reports.runfile.atomic import write_all_atomic
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFile, RunFileError
from rnnsuite.vocabulary import DTYPES

OUTPUTS = ("results.csv", "report.html", "summary.md")


class BuildError(Exception):
    """A problem with the command line or the output folder; the message is one line."""


def parser() -> argparse.ArgumentParser:
    """The command line of ``build``."""
    p = OneLineParser(
        prog="rnnsuite build", description="Build results.csv, report.html and summary.md from run files."
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN.json",
        help="run files (pytest --benchmark-json) or journals (RUN.journal.jsonl, docs/crashes.md); several are "
        "shown side by side",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the report (created if missing)")
    p.add_argument("--force", action="store_true", help="replace a report already in DIR")
    p.add_argument(
        "--label",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="a name per run file, in order (default: the run's own label)",
    )
    p.add_argument(
        "--ab",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="two run files of rnnsuite ab (e.g. out/ab/a.json out/ab/b.json): adds the gate's verdicts, B vs A",
    )
    p.add_argument(
        "--by",
        metavar="AXIS",
        help=f"set the runs side by side along one axis ({', '.join(axis.AXES)}): benchmarks matched on case, dtype, "
        "pass, backend and shape, leaving out the axis; adds a section and by-AXIS.csv",
    )
    return p


def main(argv: list[str]) -> int:
    """Build the report; returns the exit code (0 done, 2 bad input or output folder, 4 bad command line).

    Args:
        argv: the arguments after ``build``.

    Returns:
        The exit code.
    """
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    try:
        out = _check_out(args.out, args.force)
        runs = load_runs(args.runs, args.label)
        _check_not_inputs(out, [run.path for run in runs] + [Path(p) for p in args.ab or ()])
        ab = ab_sections.load_ab(args.ab) if args.ab else None
        if args.by is not None and args.by not in axis.AXES:
            raise UsageError(f"--by {args.by!r}: choose one of {', '.join(axis.AXES)}")
        files = render_all(runs, ab, args.by)
        write_atomically(out, files)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except (BuildError, RunFileError, axis.AxisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the report to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(files["_console"])
    print(f"\nreport: {(out / 'report.html').resolve()}")
    return 0


def load_runs(paths: Sequence[str], labels: Sequence[str]) -> list[RunFile]:
    """Load the run files and give each a distinct label.

    Args:
        paths: the run files.
        labels: names from ``--label`` (none, or one per file).

    Returns:
        The runs, labels made unique (a repeated one gets `` (2)``).
    """
    if labels and len(labels) != len(paths):
        raise UsageError(f"got {len(labels)} --label name(s) for {len(paths)} run file(s); give one per file or none")
    runs = [load_run(path, labels[i] if labels else None) for i, path in enumerate(paths)]
    unique = tb.unique_labels([run.label for run in runs])
    return [replace(run, label=label) for run, label in zip(runs, unique, strict=True)]


def _check_out(out: Path, force: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} is a file, not a folder")
    held = [name for name in ("report.html", "results.csv") if (out / name).exists()]
    if held and not force:
        raise BuildError(
            f"{out} already holds a report ({', '.join(held)}); pass --force to replace it or choose another --out"
        )
    return out


def _check_not_inputs(out: Path, inputs: Sequence[Path]) -> None:
    targets = {(out / name).resolve() for name in OUTPUTS}
    for path in inputs:
        if path.resolve() in targets:
            raise BuildError(f"{path} is a run file; it would be overwritten by the report: choose another --out")


def render_all(runs: Sequence[RunFile], ab: ab_sections.AB | None = None, by: str | None = None) -> dict[str, str]:
    """Every output's text, in memory (nothing is written).

    Args:
        runs: the loaded runs.
        ab: the gate's comparison of the ``--ab`` files (``ab_sections.load_ab``), if any.
        by: ``--by``: the axis to set the runs side by side along (``axis.AXES``), if any.

    Returns:
        File name -> text for ``OUTPUTS`` (and ``by-<axis>.csv`` with ``by``), plus ``_console``: the summary
        printed to stdout.

    Raises:
        axis.AxisError: the runs have one value of the axis.
    """
    data = Data(runs, tb.tidy(runs), tb.checks(runs), ab, by)
    files = {
        "results.csv": data.df.to_csv(index=False, float_format="%.6g"),
        "report.html": page.page(data),
        "summary.md": summary_markdown(data),
        "_console": console_summary(data),
    }
    if data.along is not None:
        files[f"by-{data.along.axis}.csv"] = data.along.wide.to_csv(index=False, float_format="%.6g")
    return files


def write_atomically(out: Path, files: dict[str, str]) -> None:
    """Write the report's files into ``out`` (created if missing) through the one atomic writer.

    All files are staged before any is moved into place: a failure while writing leaves the previous
    report as it was, and no temporary file behind.

    Args:
        out: the report folder.
        files: file name -> text; names starting with ``_`` are not files.
    """
    out.mkdir(parents=True, exist_ok=True)
    write_all_atomic({out / name: text for name, text in files.items() if not name.startswith("_")})


def summary_markdown(data: Data) -> str:
    """The headline as markdown for ``$GITHUB_STEP_SUMMARY``: a table, the correctness count, A/B and drift.

    Args:
        data: the runs and their tables.

    Returns:
        The markdown text.
    """
    lines = [f"## RNN suite: {', '.join(data.labels)}", ""]
    for run in data.runs:
        m = run.machine
        lines.append(
            f"- **{run.label}**: torch {m.get('torch', '?')}, {m.get('cpu_model', '?')}, {m.get('threads', '?')} threads, gpu {m.get('gpu') or 'none'}"
        )
    head = tb.headline(data.df, data.checks)
    cols = ["median (ms)", "GFLOP/s", "% of peak", "tokens/s"]
    lines.append("")
    if head.empty:
        lines.append("No benchmarks in the run file(s).")
    else:
        frame = r.headline_frame(head).drop(columns="IQR / median")
        extra = ("instructions / call", "faults/call")
        lines.append(r.markdown_table(frame, {c: r.HEADLINE_FORMATS[c] for c in (*cols, *extra) if c in frame}))
    counts = data.checks["outcome"].value_counts()
    lines += [
        "",
        f"Correctness: {len(data.checks)} checks, "
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "skipped"))
        + "".join(f", {counts[k]} {k}" for k in ("crashed", "timed out") if counts.get(k, 0))
        + ".",
    ]
    if errors.line(data.runs):
        lines += ["", f"**Crashes**: {errors.line(data.runs)}.", ""]
        lines += [f"- `{e['nodeid']}`: {e['error']}" for e in errors.frame(data.runs).to_dict("records")]
    if data.ab is not None:
        lines += ["", ab_sections.ab_markdown(data.ab)]
    if data.along is not None:
        lines += ["", axis.markdown(data.along)]
    if not data.drift.empty:
        lines += ["", ab_sections.drift_markdown(data.drift)]
    return "\n".join(lines) + "\n"


def console_summary(data: Data) -> str:
    """A short text table: the headline median in ms per case and pass (rows) and dtype (columns); the A/B headline.

    Args:
        data: the runs and their tables.

    Returns:
        The text.
    """
    head = tb.headline(data.df, data.checks)
    counts = data.checks["outcome"].value_counts()
    checks = f"correctness: {len(data.checks)} checks, {counts.get('failed', 0)} failed"
    checks += "".join(f", {counts[k]} {k}" for k in ("crashed", "timed out") if counts.get(k, 0))
    if errors.console(data.runs):
        checks += "\n" + errors.console(data.runs)
    if data.ab is not None:
        checks += f"\n{data.ab.title}: {data.ab.result.headline()}"
    if data.along is not None:
        checks += (
            f"\nby {data.along.axis}: {len(data.along.wide)} benchmarks matched across {', '.join(data.along.values)}"
        )
    if head.empty:
        return f"no benchmarks; {checks}"
    index = [
        c
        for c in ("run", "case", "device", "pass", "backend")
        if head[c].nunique(dropna=False) > 1 or c in ("case", "pass")
    ]
    counted = head["median_s"].isna().all() and head["instructions"].notna().any()  # a --metric instructions run
    value, title, fmt = (
        ("instructions", "instructions per call", r.fmt_rate) if counted else ("median_s", "median time (ms)", r.fmt_ms)
    )
    wide = head.groupby([*index, "dtype"], dropna=False, sort=False)[value].first().unstack("dtype")
    wide = wide.reindex(columns=[d for d in DTYPES if d in wide] + sorted(set(wide) - set(DTYPES)))
    text = wide.map(fmt).to_string()
    return f"{title} by dtype:\n{text}\n{checks}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
