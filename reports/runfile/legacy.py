"""The one place where older schemas' names are read: each is mapped to today's (schema.py's history).

- ``builtin`` (a hand-written case's built-in, schema 1-3) and ``base`` (a variant's plain layer,
  schema 2-3) -> ``baseline``: the case a benchmark is timed against;
- ``process_medians`` (schema 2-3) and ``round_medians`` (schema 1), each A/B process's median ->
  ``processes``, one record a process (its sample count unknown: null);
- a check's ``honest_u`` (schema 1-3) -> ``emulated_u``;
- no ``metric`` (schema 1, in a benchmark and in the run section): every benchmark was timed, ``time``.

A record that already has the new name keeps it (the old one is dropped). A null
``process_medians`` means none, as the A/B runner's fakes write it.
"""

from __future__ import annotations

from typing import Any

BASELINE = ("builtin", "base")
MEDIANS = ("process_medians", "round_medians")
CHECK_RENAMED = {"honest_u": "emulated_u"}


class LegacyError(ValueError):
    """An old field whose value cannot be mapped (the message names it)."""


def bench(extra: dict[str, Any]) -> dict[str, Any]:
    """A benchmark's ``extra_info`` with today's names (a new dict).

    Raises:
        LegacyError: an old list of process medians that is not a list of numbers.
    """
    out = {k: v for k, v in extra.items() if k not in (*BASELINE, *MEDIANS)}
    out.setdefault("metric", "time")
    found = [extra[k] for k in BASELINE if extra.get(k) is not None]
    if "baseline" not in out and any(k in extra for k in BASELINE):
        out["baseline"] = found[0] if found else None
    name = next((k for k in MEDIANS if extra.get(k) is not None), None)
    if name is not None and "processes" not in out:
        medians = extra[name]
        if not isinstance(medians, list) or not all(_number(m) for m in medians):
            raise LegacyError(f"{name} must be a list of numbers, got {str(medians)[:60]}")
        out["processes"] = [{"median_s": m, "samples": None} for m in medians]
    return out


def run(section: dict[str, Any]) -> dict[str, Any]:
    """The run section (``rnnsuite``) with today's names (a new dict)."""
    return {"metric": "time"} | section if "metric" not in section else dict(section)


def check(rec: dict[str, Any]) -> dict[str, Any]:
    """A correctness record with today's names (a new dict)."""
    return {CHECK_RENAMED.get(k, k): v for k, v in rec.items() if not (k in CHECK_RENAMED and CHECK_RENAMED[k] in rec)}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
