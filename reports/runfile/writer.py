"""The writer of the run file's records (schema.py declares them): checks, the run section, a checks file."""

from __future__ import annotations

from typing import Any

from reports.runfile.schema import CHECK, CHECKS_FILE, RUN, SCHEMA, checked


def check_record(ident: dict[str, Any], check: str, outcome: str, **fields: Any) -> dict[str, Any]:
    """One correctness record; ``ident`` holds ``key, case, device, dtype``; fields not given are null."""
    rec = ident | {"check": check, "outcome": outcome, "max_abs": None, "max_rel": None, "rtol": None}
    rec |= {"atol": None, "tensor": None, "sample": {}}
    return checked(CHECK, rec | fields, "correctness")


def run_section(
    label: str,
    allocator: str,
    metric: str,
    peaks: list[dict[str, Any]],
    correctness: list[dict[str, Any]],
    shard: str | None = None,
) -> dict[str, Any]:
    """The run file's ``rnnsuite`` section (``shard``: ``"I/N"`` of a run under ``--shard``)."""
    data = {"schema": SCHEMA, "metric": metric, "label": label, "allocator": allocator, "shard": shard}
    data |= {"peaks": peaks, "correctness": correctness}
    return checked(RUN, data, "rnnsuite")


def checks_file(label: str, machine: dict[str, Any], correctness: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``--checks-json`` writes: the correctness records alone."""
    data = {"schema": SCHEMA, "label": label, "machine": machine, "correctness": correctness}
    return checked(CHECKS_FILE, data, "checks file")
