"""What a report is built from: the runs, their tidy tables, and what is derived from them once (``Data``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output.sections import ab_sections, axis
from rnnsuite.reports.runfile.run import RunFile


@dataclass(frozen=True)
class Data:
    """Everything a report is built from."""

    runs: Sequence[RunFile]
    df: pd.DataFrame  # table.tidy
    checks: pd.DataFrame  # table.checks
    ab: ab_sections.AB | None = None  # --ab: two interleaved run files judged by the gate
    by: str | None = None  # --by: the axis the runs are set side by side along

    @property
    def labels(self) -> list[str]:
        """The run labels in order."""
        return [run.label for run in self.runs]

    @cached_property
    def along(self) -> axis.Along | None:
        """The benchmarks matched along ``by`` (``axis.along``); None without ``--by``."""
        return axis.along(self.df, self.checks, self.runs, self.measures, self.by) if self.by else None

    @cached_property
    def measures(self) -> dict[tuple[str, str], intervals.Measure]:
        """What the ratios' intervals resample, by (run label, key) (``intervals.measures``)."""
        return intervals.measures(self.runs)

    @cached_property
    def drift(self) -> pd.DataFrame:
        """The numerical drift between the runs (``ab_sections.drift_frame``; empty unless 2+ runs have checks)."""
        return ab_sections.drift_frame(self.runs)

    def caption(self, label: str, what: str) -> str:
        """A chart's caption: ``what``, then the run's label where the report has several runs."""
        return f"{what}: {label}" if len(self.runs) > 1 else what
