"""``rnnsuite journal JOURNAL --out RUN.json``: the run file of a journal (docs/crashes.md), and what did not finish."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rnnsuite.reports.command_line import OneLineParser, one_line_errors
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFileError


def main(argv: list[str]) -> int:
    """Write the run file a journal assembles to; exit 0, or 2 with one line for a bad journal or command line."""
    p = OneLineParser(prog="rnnsuite journal", description="Assemble a run file from a journal.")
    p.add_argument("journal", type=Path, metavar="JOURNAL", help="a journal (RUN.journal.jsonl)")
    p.add_argument("--out", required=True, type=Path, metavar="RUN.json", help="the run file to write")
    p.add_argument("--force", action="store_true", help="replace RUN.json where it exists")

    def body() -> int:
        args = p.parse_args(argv)
        if args.out.exists() and not args.force:
            raise RunFileError(f"{args.out} exists; pass --force to replace it")
        run = load_run(args.journal)
        write_atomic(args.out, json.dumps(run.data, indent=4))
        print(f"{args.out}: {len(run.benchmarks)} benchmarks, {len(run.correctness)} checks")
        for err in run.errors:
            print(f"  {err.error}: {err.nodeid}")
        for nodeid in run.unfinished:
            print(f"  did not finish: {nodeid}")
        return 0

    return one_line_errors(body, RunFileError)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
