"""``rnnsuite compare BASE CAND``: the regression gate between two run files (see docs/gate.md)."""

from __future__ import annotations

import argparse
import sys

from rnnsuite.reports.command_line import USAGE, OneLineParser, UsageError
from rnnsuite.reports.gate import compare_runs
from rnnsuite.reports.gate.settings import add_gate_options, gate_settings
from rnnsuite.reports.gate.text import to_markdown, to_text
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFileError


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="rnnsuite compare", description="The regression gate between two run files.")
    p.add_argument("base", help="the reference run file (pytest-benchmark JSON of this suite)")
    p.add_argument("cand", help="the candidate run file")
    add_gate_options(p)
    p.add_argument("--markdown", metavar="FILE", help="also write a markdown report (e.g. for $GITHUB_STEP_SUMMARY)")
    p.epilog = (
        "exit codes: 0 no regression, 1 a slowdown or a check passed -> failed, 2 unusable input, "
        "3 no slowdown but a benchmark inconclusive (cannot tell: not a pass)"
    )
    return p


def main(argv: list[str]) -> int:
    """Run the gate from the command line.

    Args:
        argv: the arguments after ``compare``.

    Returns:
        0 when nothing regressed, 1 on a slowdown or a newly failing check, 2 on unusable input, 4 on a bad
        command line, 3 when
        nothing regressed but a benchmark is inconclusive.
    """
    try:
        args = _parser().parse_args(argv)
        result = compare_runs(load_run(args.base), load_run(args.cand), **gate_settings(args))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except RunFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.markdown:
        try:
            write_atomic(args.markdown, to_markdown(result))
        except OSError as exc:
            print(f"error: cannot write {args.markdown}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    print(to_text(result), end="")
    return result.exit_code
