"""A loaded run file (``RunFile``): its data with today's field names, and typed accessors of its benchmarks
(``key``, ``samples``, ``processes``, ``cold``, ``counts``) instead of ``extra_info`` indexed by string.

``reports/runfile/reader.py`` loads and validates the file this reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnsuite.reports.runfile.record import from_dict
from rnnsuite.reports.runfile.schema import SCHEMA, Cold, ColdFailure, Error, Process


class RunFileError(Exception):
    """A run file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Counts:
    """A counted benchmark's figures (``--metric instructions``)."""

    instructions: float  # per call, the median over the counted repeats
    repeats: int  # counted repeats (0: not recorded)
    spread: float  # (max - min) / median of the repeats (0: not recorded)


@dataclass(frozen=True)
class RunFile:
    """A loaded run file: its data with today's field names, and typed accessors of its benchmarks."""

    path: Path
    label: str
    data: dict[str, Any]

    @property
    def schema(self) -> int:
        """The schema the file was written in (its names are today's after ``load_run``)."""
        return int(self.data.get("rnnsuite", {}).get("schema", SCHEMA))

    @property
    def metric(self) -> str:
        """The run's ``--metric``: ``time`` or ``instructions`` (schema 1 files: ``time``)."""
        return str(self.data["rnnsuite"]["metric"])

    @property
    def benchmarks(self) -> list[dict[str, Any]]:
        """The benchmark entries (each with ``extra_info`` and ``stats``)."""
        return list(self.data.get("benchmarks", []))

    @property
    def machine(self) -> dict[str, Any]:
        """``machine_info.rnnsuite`` (empty for foreign files)."""
        return dict(self.data.get("machine_info", {}).get("rnnsuite", {}))

    @property
    def correctness(self) -> list[dict[str, Any]]:
        """The correctness records of the run."""
        return list(self.data.get("rnnsuite", {}).get("correctness", []))

    @property
    def peaks(self) -> list[dict[str, Any]]:
        """The matmul peaks measured in the run."""
        return list(self.data.get("rnnsuite", {}).get("peaks", []))

    @staticmethod
    def key(bench: dict[str, Any]) -> str:
        """A benchmark's key (``case-device-dtype-pass-backend-size-shape``)."""
        return str(bench["extra_info"]["key"])

    def by_key(self) -> dict[str, dict[str, Any]]:
        """The benchmarks by key.

        Raises:
            RunFileError: a key appears twice.
        """
        index: dict[str, dict[str, Any]] = {}
        for bench in self.benchmarks:
            if (key := self.key(bench)) in index:
                raise RunFileError(f"{self.path}: benchmark key {key} appears twice")
            index[key] = bench
        return index

    def samples(self, bench: dict[str, Any]) -> np.ndarray:
        """A benchmark's raw samples (``stats.data``; its median alone where a file has none).

        Raises:
            RunFileError: not a non-empty list of finite numbers with a positive median.
        """
        data = bench["stats"].get("data")
        return np.array([float(bench["stats"]["median"])]) if data is None else self.positive(bench, "stats.data", data)

    @staticmethod
    def processes(bench: dict[str, Any]) -> tuple[Process, ...] | None:
        """The processes a benchmark was merged from (``suite.ab``), in the order they ran; None: one process."""
        found = bench["extra_info"].get("processes")
        return None if found is None else tuple(from_dict(Process, p, "processes", strict=False) for p in found)

    def process_medians(self, bench: dict[str, Any]) -> np.ndarray | None:
        """Each process's median, or None where the benchmark ran in one process.

        Raises:
            RunFileError: the medians are not finite, or their median is not positive.
        """
        found = self.processes(bench)
        return None if found is None else self.positive(bench, "processes", [p.median_s for p in found])

    @staticmethod
    def cold(bench: dict[str, Any]) -> Cold | ColdFailure | None:
        """The cold record (the fields a file's schema predates read as None); None where there is none."""
        found = bench["extra_info"].get("cold")
        return cold_record(found, strict=False) if isinstance(found, dict) else None

    @staticmethod
    def counted(bench: dict[str, Any]) -> bool:
        """Whether a benchmark was counted (``--metric instructions``), not timed."""
        return bool(bench["extra_info"].get("metric") == "instructions")

    @staticmethod
    def counts(bench: dict[str, Any]) -> Counts | None:
        """A counted benchmark's instructions per call, repeats and spread; None: not counted, or no positive count."""
        extra = bench.get("extra_info", {})
        value = extra.get("instructions") if extra.get("metric") == "instructions" else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < float("inf"):
            return None
        return Counts(float(value), int(extra.get("count_repeats") or 0), float(extra.get("instructions_spread") or 0))

    def positive(self, bench: dict[str, Any], field: str, data: Any) -> np.ndarray:
        """``data`` as a 1-D float array: non-empty, finite, with a positive median; else a one-line error."""
        try:
            arr = np.asarray(data, dtype=float)
        except (TypeError, ValueError):
            arr = np.array([])
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.median(arr) <= 0:
            raise RunFileError(
                f"{self.path}: benchmark {self.key(bench)}: {field} must be a non-empty list of finite "
                f"numbers with a positive median, got {str(data)[:60]}"
            )
        return arr

    @property
    def errors(self) -> tuple[Error, ...]:
        """The tests that crashed or timed out (schema 4, a run file assembled from a journal), as records."""
        found = self.data.get("rnnsuite", {}).get("errors", [])
        return tuple(from_dict(Error, e, "rnnsuite.errors", strict=False) for e in found)

    @property
    def unfinished(self) -> list[str]:
        """The node ids that did not finish (schema 4, a run file assembled from a journal)."""
        return list(self.data.get("rnnsuite", {}).get("unfinished", []))


def cold_record(data: dict[str, Any], *, strict: bool) -> Cold | ColdFailure:
    """The cold record of its dict: a ``ColdFailure`` where it holds an ``error``, else a ``Cold``.

    Raises:
        ValueError: ``strict`` (a writer's) and a field missing, undeclared or of the wrong type.
    """
    if "error" in data:
        return from_dict(ColdFailure, data, "cold", strict=strict)
    return from_dict(Cold, data, "cold", strict=strict)
