"""The gate's options, declared once for ``rnnsuite compare`` and ``rnnsuite ab``."""

from __future__ import annotations

import argparse

from rnnsuite.reports.command_line import UsageError
from rnnsuite.reports.gate import stats
from rnnsuite.reports.gate.count_rule import COUNT_THRESHOLD
from rnnsuite.reports.gate.stats import ALPHA, MAX_NOISE, THRESHOLD


def add_gate_options(p: argparse.ArgumentParser) -> None:
    """Add ``--threshold``, ``--alpha``, ``--max-noise`` and ``--count-threshold`` with their defaults."""
    thr, sub = f"{THRESHOLD * 100:g}", f"{THRESHOLD * stats.SUB_MS_FACTOR * 100:g}"
    p.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD * 100,
        metavar="PCT",
        help=f"smallest change that counts, in percent, for base medians >= 1 ms (default {thr}); below 1 ms "
        f"twice this (default {sub}), as timer and per-call overhead weigh more there",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=ALPHA,
        metavar="A",
        help=f"family-wise level of the one-sided Mann-Whitney U tests, Holm-corrected over the benchmarks "
        f"(default {ALPHA})",
    )
    p.add_argument(
        "--max-noise",
        type=float,
        default=MAX_NOISE * 100,
        metavar="PCT",
        help=f"IQR/median in percent above which a side is too noisy to judge (default {MAX_NOISE * 100:g}); "
        "raise it only for runs of suite.ab with many processes, whose process-level test accounts for the noise",
    )
    p.add_argument(
        "--count-threshold",
        type=float,
        default=COUNT_THRESHOLD * 100,
        metavar="PCT",
        help=f"change of instructions per call that counts, for benchmarks counted on both sides "
        f"(--metric instructions; default {COUNT_THRESHOLD * 100:g})",
    )


def gate_settings(args: argparse.Namespace) -> dict[str, float]:
    """The checked gate options as ``compare_runs`` keywords (fractions, not percent).

    Raises:
        UsageError: an option out of range.
    """
    if args.threshold < 0 or not 0 < args.alpha < 1 or not args.max_noise > 0 or not args.count_threshold > 0:
        raise UsageError("--threshold must be >= 0, --alpha between 0 and 1, --max-noise and --count-threshold > 0")
    return {
        "threshold": args.threshold / 100,
        "alpha": args.alpha,
        "max_noise": args.max_noise / 100,
        "count_threshold": args.count_threshold / 100,
    }
