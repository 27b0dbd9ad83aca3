"""The writer of the run file's records (schema.py declares them): checks, the run section, a checks file."""

from __future__ import annotations

from typing import Any

from rnnsuite.reports.runfile.record import checked, from_dict, to_dict
from rnnsuite.reports.runfile.schema import SCHEMA, Check, ChecksFile, Machine, Peak, Run


def check_record(ident: dict[str, Any], check: str, outcome: str, **fields: Any) -> dict[str, Any]:
    """One correctness record; ``ident`` holds ``key, case, device, dtype``; fields not given are null."""
    rec = ident | {"check": check, "outcome": outcome, "max_abs": None, "max_rel": None, "rtol": None}
    rec |= {"atol": None, "tensor": None, "sample": {}}
    return checked(Check, rec | fields, "correctness")


def run_section(
    label: str,
    allocator: str,
    metric: str,
    peaks: list[dict[str, Any]],
    correctness: list[dict[str, Any]],
    shard: str | None = None,
) -> dict[str, Any]:
    """The run file's ``rnnsuite`` section (``shard``: ``"I/N"`` of a run under ``--shard``)."""
    section = Run(
        schema=SCHEMA,
        metric=metric,
        label=label,
        allocator=allocator,
        shard=shard,
        peaks=[from_dict(Peak, p, "peaks") for p in peaks],
        correctness=[from_dict(Check, c, "correctness") for c in correctness],
    )
    return to_dict(section)


def checks_file(label: str, machine: dict[str, Any], correctness: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``--checks-json`` writes: the correctness records alone."""
    data = ChecksFile(
        schema=SCHEMA,
        label=label,
        machine=from_dict(Machine, machine, "machine"),
        correctness=[from_dict(Check, c, "correctness") for c in correctness],
    )
    return to_dict(data)
