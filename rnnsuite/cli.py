"""``rnnsuite``: the one command, with a subcommand for each job (``rnnsuite --help`` lists them).

Each subcommand is a thin door: the checks and benchmarks are pytest runs of the suite's folder with the
plugin's ``--rnnsuite`` (rnnsuite/plugin.py); the report runs the three phases of the main job
(rnnsuite/suite/commands/main_job.py); the rest are the reports' and the A/B runner's own command lines. The
exit codes are one table (``EXIT_CODES``, printed by ``rnnsuite --help`` and in the README).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from rnnsuite import __version__

EXIT_CODES = """\
exit codes (every subcommand):
  0  done: every check passed, no regression
  1  a check failed, a test crashed or timed out, or the gate found a slowdown
  2  bad input (a missing or corrupt run file, checks file, journal or store), a failed write;
     pytest: interrupted
  3  the gate is inconclusive (no slowdown shown, and no pass either); pytest: internal error
  4  bad command line: an unknown option, argument or value, or a tool it asks for that is missing
  5  nothing selected (no test ran)"""

# name -> (one line of help, the module whose ``main(argv) -> int`` runs it)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("the correctness checks of the given case modules (or of the shipped cases)", "rnnsuite.suite.commands.check_bench:check"),
    "bench": ("the benchmarks of the given case modules (or of the shipped cases) into a run file", "rnnsuite.suite.commands.check_bench:bench"),
    "report": ("the main job: checks, benchmarks, then the report (./rnnsuite-out/ or --out)", "rnnsuite.suite.commands.main_job:main"),
    "resume": ("finish the unfinished run of `rnnsuite report` in --out (only what did not finish runs)", "rnnsuite.suite.commands.main_job:resume"),
    "build": ("the report (results.csv, report.html, summary.md) of run files", "rnnsuite.reports.output.build:main"),
    "compare": ("the regression gate between two run files", "rnnsuite.reports.gate.compare_command:main"),
    "ab": ("benchmark two interpreters in alternating processes, then gate", "rnnsuite.suite.ab.ab_command:main"),
    "store": ("add run files to a results store, or list it", "rnnsuite.reports.runs.store:main"),
    "history": ("each benchmark's trend over a store's runs", "rnnsuite.reports.runs.history:main"),
    "merge": ("merge the run files of --shard I/N jobs", "rnnsuite.reports.runs.merge:main"),
    "journal": ("the run file a journal (an interrupted run's record) assembles to", "rnnsuite.reports.runs.journal_command:main"),
    "isolate": ("pytest with a journal, a per-test time limit and a restart after a crash", "rnnsuite.suite.isolate:main"),
    "zoo": ("the zoo report (make zoo): third-party layers x mode x dtype, verdicts, errors in u, times", "rnnsuite.reports.zoo:main"),
}  # fmt: skip

USAGE = 4


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, (text, _) in COMMANDS.items()]
    return "\n".join(
        [
            "usage: rnnsuite [--version] [--help] COMMAND [ARGS...]",
            "",
            "The correctness and benchmarking suite for recurrent neural networks in PyTorch.",
            "",
            "commands:",
            *lines,
            "",
            "`rnnsuite COMMAND --help` shows a command's options.",
            "",
            EXIT_CODES,
        ]
    )


def _load(target: str) -> Callable[[list[str]], int]:
    import importlib

    module, _, name = target.partition(":")
    main: Callable[[list[str]], int] = getattr(importlib.import_module(module), name)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand; returns the exit code (the table in ``EXIT_CODES``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else USAGE
    if args[0] == "--version":
        print(f"rnnsuite {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(
            f"error: unknown command {command!r}; choose from {', '.join(COMMANDS)} (see rnnsuite --help)",
            file=sys.stderr,
        )
        return USAGE
    try:
        return int(_load(COMMANDS[command][1])(rest) or 0)
    except KeyboardInterrupt:
        print("rnnsuite: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
