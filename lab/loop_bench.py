"""The development loop's own benchmark: how long the correctness tier, `make test` and `make report` take.

Usage: python lab/loop_bench.py [--tier] [--make-test] [--make-report] [--history CSV] [--repo DIR]

The tier is `pytest suite --benchmark-skip` in one process (its goal: 60 s), the two make targets
run from a fresh clone of the repository's HEAD (`git clone`, so the install is counted: their
goal is 5 minutes each). Each measurement is one row appended to the history (default
lab/runs/loop-times.csv: commit, date, machine, load average before, wall and CPU seconds), and
the script prints it beside the last row of the same measurement on the same machine with their
ratio, so that a change that slows the loop shows up. It never fails on a time: times on a shared
machine move by 1.5x; read the ratio and the load together.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ["what", "commit", "date", "machine", "cores", "load_before", "wall_s", "cpu_s", "exit"]
GOALS = {"tier": 60.0, "make test": 300.0, "make report": 300.0}


def _machine() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(what: str, cmd: list[str], cwd: Path) -> dict[str, object]:
    """Run ``cmd`` in ``cwd`` once; its row (wall and CPU seconds of it and its children)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu0, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    if proc.returncode != 0:
        print(
            f"{what}: exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1][:200]}", file=sys.stderr
        )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {
        "what": what,
        "commit": commit.strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": _machine(),
        "cores": os.cpu_count(),
        "load_before": round(load, 2),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "exit": proc.returncode,
    }


def previous(history: Path, row: dict[str, object]) -> dict[str, str] | None:
    """The last row of the same measurement on the same machine, if any."""
    if not history.is_file():
        return None
    with history.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["what"] == row["what"] and r["machine"] == row["machine"]]
    return rows[-1] if rows else None


def record(history: Path, row: dict[str, object]) -> str:
    """Append ``row`` to the history; the line to print, with the ratio to the previous row."""
    last = previous(history, row)
    new = not history.is_file()
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)
    wall = float(str(row["wall_s"]))
    line = f"{row['what']}: {wall:.0f} s wall, {row['cpu_s']} s CPU (goal {GOALS[str(row['what'])]:.0f} s), load {row['load_before']}"
    if last is not None:
        line += f"; was {float(last['wall_s']):.0f} s at {last['commit']} (x{wall / float(last['wall_s']):.2f})"
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", action="store_true", help="the correctness tier, serial, in this checkout")
    ap.add_argument("--make-test", action="store_true", help="make test from a fresh clone of HEAD")
    ap.add_argument("--make-report", action="store_true", help="make report from a fresh clone of HEAD")
    ap.add_argument("--history", default=str(ROOT / "lab" / "runs" / "loop-times.csv"))
    args = ap.parse_args(argv)
    if not (args.tier or args.make_test or args.make_report):
        args.tier = args.make_test = args.make_report = True
    history = Path(args.history)
    rows = []
    if args.tier:
        cmd = [sys.executable, "-m", "pytest", "suite", "--benchmark-skip", "-q", "-p", "no:cacheprovider"]
        rows.append(measure("tier", cmd, ROOT))
    for flag, target in ((args.make_test, "test"), (args.make_report, "report")):
        if not flag:
            continue
        clone = Path(tempfile.mkdtemp(prefix="loop-bench-"))
        try:
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone / "repo")], check=True)
            rows.append(measure(f"make {target}", ["make", target], clone / "repo"))
        finally:
            shutil.rmtree(clone, ignore_errors=True)
    for row in rows:
        print(record(history, row))
    return max(int(str(r["exit"])) for r in rows)


if __name__ == "__main__":
    sys.exit(main())
