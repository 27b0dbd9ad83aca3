"""``rnnsuite zoo``: the zoo report, package x layer x mode x dtype, from a checks file, run files and the zoo's manifest.

``make zoo`` checks every layer of the zoo (zoo/, docs/zoo.md) into a checks file (``--checks-json``),
times their forward at the seed size in float32 beside the built-in layers into run files, and writes
the manifest (``python -m rnnsuite_zoo.manifest``: each case group's package, version, baseline and
declared defects). This command reads those and writes ``zoo.md`` and ``zoo.csv``: for each row the
forward check's verdict (with any other check that did not pass), the largest norm-wise error in u
(units of the dtype's rounding), the error at positions 1, 10, 100 and 1,000 (reports/output/sections/modes.py), and
the median forward time beside the nearest built-in's (the case's baseline) at the same size preset.
Torch-free: it reads files only, never runs a model.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rnnsuite.reports.output.sections.modes import POSITIONS, ModeRow, forward_times, mode_rows
from rnnsuite.reports.runfile.reader import load_checks, load_json, load_run
from rnnsuite.reports.runfile.run import RunFileError

COLUMNS = (
    "package",
    "version",
    "layer",
    "mode",
    "dtype",
    "verdict",
    "err_u",
    "budget_u",
    *(f"err_at_{p}" for p in POSITIONS),
    "fwd_ms",
    "baseline",
    "baseline_fwd_ms",
    "vs_baseline",
)


def _manifest(path: str) -> dict[str, dict[str, Any]]:
    data = load_json(Path(path), "zoo manifest")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "package" in v for v in data.values()):
        raise RunFileError(f"{path}: not a zoo manifest (python -m rnnsuite_zoo.manifest writes one)")
    return data


def _others(checks: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """The checks other than forward that did not pass, by (case, dtype): ``backward: known defect``."""
    out: dict[tuple[str, str], list[str]] = {}
    for c in checks:
        if c.get("check") != "forward" and c.get("outcome") not in ("passed", "skipped") and c.get("case"):
            out.setdefault((str(c["case"]), str(c.get("dtype"))), []).append(f"{c['check']}: {c['outcome']}")
    return out


def rows(
    manifest: Mapping[str, Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]],
    times: Mapping[tuple[str, str, str], float],
) -> list[dict[str, Any]]:
    """One dict per zoo layer, mode and dtype (the zoo's groups only), in ``COLUMNS``."""
    others = _others(checks)
    out = []
    for r in mode_rows(checks, times):
        if r.group not in manifest:
            continue
        entry = manifest[r.group]
        out.append(_row(r, entry, others.get((f"{r.group}.{r.mode}", r.dtype), []), times))
    return out


def _row(r: ModeRow, entry: Mapping[str, Any], others: list[str], times: Mapping[tuple[str, str, str], float]) -> dict:
    base = entry.get("baseline")
    base_s = times.get((str(base), r.device, r.dtype)) if base else None
    return {
        "package": entry["package"],
        "version": entry.get("version", ""),
        "layer": r.group,
        "mode": r.mode,
        "dtype": r.dtype,
        "verdict": "; ".join([r.outcome, *others]),
        "err_u": r.err_u,
        "budget_u": r.budget_u,
        **{f"err_at_{p}": r.err_at[p] for p in POSITIONS},
        "fwd_ms": None if r.fwd_s is None else r.fwd_s * 1e3,
        "baseline": base or "",
        "baseline_fwd_ms": None if base_s is None else base_s * 1e3,
        "vs_baseline": None if (r.fwd_s is None or not base_s) else r.fwd_s / base_s,
    }


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return ""
    return f"{value:.3g}{unit}" if isinstance(value, float) else str(value)


def markdown(table: Sequence[Mapping[str, Any]], manifest: Mapping[str, Mapping[str, Any]]) -> str:
    """The report: per package a verdict table, then the declared defects with their reproducers."""
    out = io.StringIO()
    out.write("# The zoo: third-party recurrent layers, checked by rnnsuite\n\n")
    out.write(
        "Errors are norm-wise, in u (the dtype's unit roundoff); times are medians of the forward at the seed size.\n"
    )
    for package in sorted({r["package"] for r in table}):
        mine = [r for r in table if r["package"] == package]
        out.write(f"\n## {package} {mine[0]['version']}\n\n")
        head = ["layer", "mode", "dtype", "verdict", "worst", *(f"at {p:,}" for p in POSITIONS), "fwd", "built-in"]
        out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
        for r in mine:
            beside = (
                ""
                if r["vs_baseline"] is None
                else f"{r['baseline']} {r['baseline_fwd_ms']:.3g} ms ({r['vs_baseline']:.3g}x)"
            )
            cells = [r["layer"], r["mode"], r["dtype"], r["verdict"], _fmt(r["err_u"], "u")]
            cells += [_fmt(r[f"err_at_{p}"], "u") for p in POSITIONS]
            out.write("| " + " | ".join([*cells, _fmt(r["fwd_ms"], " ms"), beside]) + " |\n")
    out.write("\n## Declared defects\n\n")
    for group, entry in sorted(manifest.items()):
        seen = set()
        for d in entry.get("defects", []):
            key = (d.get("mode"), d.get("reason"))
            if key not in seen:
                seen.add(key)
                out.write(f"- {group}.{d.get('mode')}: {d.get('reason')} (`{d.get('reproducer')}`)\n")
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """``rnnsuite zoo``: 0 written, 2 a bad input file or a failed write, 4 a bad command line."""
    parser = argparse.ArgumentParser(prog="rnnsuite zoo", description=__doc__.splitlines()[0])
    parser.add_argument("--checks", required=True, help="the zoo's checks file (--checks-json)")
    parser.add_argument("--manifest", required=True, help="python -m rnnsuite_zoo.manifest's file")
    parser.add_argument("--run", action="append", default=[], help="a run file with forward times (repeatable)")
    parser.add_argument("--out", required=True, help="the folder for zoo.md and zoo.csv")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 4
    try:
        manifest, checks = _manifest(args.manifest), load_checks(args.checks)
        times: dict[tuple[str, str, str], float] = {}
        for run in args.run:
            times.update(forward_times(load_run(run).data.get("benchmarks", [])))
        table = rows(manifest, checks, times)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "zoo.md").write_text(markdown(table, manifest))
        with open(out / "zoo.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(table)
    except (RunFileError, OSError) as exc:
        print(f"rnnsuite zoo: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    print(f"rnnsuite zoo: {len(table)} rows in {out / 'zoo.md'} and {out / 'zoo.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
