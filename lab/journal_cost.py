"""What one journal line costs: N appends of a check-sized line, written only (``check``) and fsync-ed (``error``).

    python lab/journal_cost.py [--n 2000] [--dir out]

The journal (reports/runfile/journal/) writes every line and fsyncs only the rare kinds; docs/crashes.md
gives the figures of this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rnnsuite.reports.runfile import journal as jr

CHECK = {"nodeid": "suite/test_correctness.py::test_forward[nn_lstm-cpu-float32]", "record": {"sample": [0.1] * 64}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--dir", default=None, help="where the journal goes (default: a temporary folder)")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    for kind in ("check", "error"):
        path = folder / f"{kind}.jsonl"
        start = time.perf_counter()
        for _ in range(args.n):
            jr.append(path, {"kind": kind, **CHECK})
        took = time.perf_counter() - start
        synced = "fsync-ed" if kind in jr.SYNCED else "written"
        print(f"{args.n} {kind} lines, {synced}: {took:.3f} s, {took / args.n * 1e3:.3f} ms a line")


if __name__ == "__main__":
    main()
