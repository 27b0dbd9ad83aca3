"""The results store: run files kept per machine, the way pytest-benchmark's ``--benchmark-autosave`` keeps them.

Layout (pytest-benchmark's, with asv's ``machine.json``)::

    STORE/<machine id>/machine.json                      the machine's identity, written once
    STORE/<machine id>/NNNN_<commit>_<date>.json         one run file each, never overwritten

- ``NNNN`` is one more than the highest number in the machine's folder; ``<commit>`` the first 8
  characters of ``commit_info.id`` (``unknown`` outside a git checkout), with ``_uncommitted-changes``
  appended for a dirty checkout as pytest-benchmark does; ``<date>`` the run's ``datetime``.
- The machine id is ``<system>-<arch>-<cpu>[-<gpu>]-<hash>``. pytest-benchmark's own id
  (``Linux-CPython-3.11-64bit``) tells no two Linux machines apart; the hash here covers the
  hardware: CPU model, CPU flags, logical CPUs, memory (whole GiB) and GPU. What is software (torch
  build and configuration, driver, allocator, Python) is not in the id: one machine's history
  across torch versions stays in one folder, and ``reports history`` shows those as columns.
- CPU flags come from pytest-benchmark's ``machine_info.cpu.flags`` (py-cpuinfo, in every run
  file), else from ``machine_info.rnnsuite.cpu_flags`` (schema 3). Files before schema 3 lack the
  memory: their id is computed without it, so the same machine's old and new files can land in two
  folders (``store list`` shows both ids with their CPU and GPU).
- A run file is untrusted input (docs/run-file.md, "Untrusted input"): every part of the machine id and
  of the file name is a slug (``reports/runfile/paths.py``: letters, digits, ``_`` and ``-``, of a fixed
  length), and the folder and the file are checked to lie inside the store before anything is written.
  ``system`` and ``arch`` keep their case and ``_`` (``Linux-x86_64``), so the ids of files that were
  already safe did not change.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rnnsuite.reports.command_line import OneLineParser, one_line_errors
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.machine_identity import identity, machine_id
from rnnsuite.reports.runfile.paths import UnsafePath, inside
from rnnsuite.reports.runfile.reader import load_json, load_run
from rnnsuite.reports.runfile.run import RunFile, RunFileError

NAME = re.compile(r"^(\d{4})_.*\.json$")
MACHINE_JSON = "machine.json"


class StoreError(Exception):
    """A store that cannot be used (missing, empty, not a store); the message is one line."""


@dataclass(frozen=True)
class Stored:
    """One run of the store, with the machine whose folder holds it."""

    machine: str
    run: RunFile

    @property
    def number(self) -> int:
        """The run's ``NNNN`` within its machine's folder."""
        m = NAME.match(self.run.path.name)
        return int(m.group(1)) if m else 0


def file_name(run: RunFile, number: int) -> str:
    """``NNNN_<commit>_<date>[_uncommitted-changes].json`` for a run."""
    info = run.data.get("commit_info") or {}
    info = info if isinstance(info, dict) else {}
    commit = re.sub(r"[^0-9A-Za-z]", "", str(info.get("id") or "unknown"))[:8] or "unknown"
    try:
        when = datetime.fromisoformat(str(run.data.get("datetime"))).strftime("%Y%m%d_%H%M%S")
    except (ValueError, OverflowError):
        when = "nodate"
    dirty = "_uncommitted-changes" if info.get("dirty") else ""
    return f"{number:04d}_{commit}_{when}{dirty}.json"


def add(store: Path, path: str | Path) -> Path:
    """Copy a run file into the store, under its machine's folder and the next number.

    The file is validated first (a corrupt one never enters the store) and copied byte for byte;
    an existing file is never overwritten (exclusive create). The machine's folder and the file are
    checked to lie inside the store before either is written (their names are slugs already).

    Args:
        store: the store folder (created if missing).
        path: the run file.

    Returns:
        The stored file's path.

    Raises:
        RunFileError: the file is not a usable run file.
        StoreError: the store is a file, or a path would leave it (a folder linked elsewhere).
    """
    run = load_run(path)
    if store.exists() and not store.is_dir():
        raise StoreError(f"store {store} is a file, not a folder")
    folder = _inside(store, store / machine_id(run))
    folder.mkdir(parents=True, exist_ok=True)
    _write_machine_json(folder, run)
    raw = Path(path).read_bytes()
    while True:
        target = _inside(store, folder / file_name(run, _next_number(folder)))
        try:
            with open(target, "xb") as fh:  # exclusive: two jobs adding at once take two numbers
                fh.write(raw)
            return target
        except FileExistsError:
            continue


def _inside(store: Path, path: Path) -> Path:
    try:
        return inside(store, path)
    except UnsafePath as exc:
        raise StoreError(f"store {store}: {exc}") from None


def _next_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := NAME.match(p.name))]
    return max(numbers, default=0) + 1


def _write_machine_json(folder: Path, run: RunFile) -> None:
    target = folder / MACHINE_JSON
    if not target.exists():
        write_atomic(target, json.dumps(identity(run), indent=1) + "\n")


def machine_record(folder: Path) -> dict[str, Any]:
    """A machine folder's ``machine.json`` (what ``identity`` wrote); empty where the folder has none.

    Raises:
        StoreError: the file is not a JSON object (corrupt, truncated, too large); one line.
    """
    target = folder / MACHINE_JSON
    if not target.exists():
        return {}
    try:
        found = load_json(target)
    except RunFileError as exc:
        raise StoreError(str(exc)) from None
    if not isinstance(found, dict):
        raise StoreError(f"{target}: not a machine record (a JSON object)")
    return found


def _machine_line(record: dict[str, Any]) -> str:
    """``cpu, cores, memory, gpu`` of a ``machine.json``, as one line (a field of the wrong type shows as ?)."""

    def text(key: str) -> str:
        value = record.get(key)
        return str(value)[:60] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else "?"

    gpu = f", {text('gpu')}" if record.get("gpu") else ""
    return f"{text('cpu_model')}, {text('cores')} CPUs, {text('memory_gib')} GiB{gpu}"


def load_store(store: Path) -> list[Stored]:
    """Every run of the store, each machine's in number order.

    Args:
        store: the store folder.

    Returns:
        The runs.

    Raises:
        StoreError: no such folder, or no run file in it.
        RunFileError: a stored file is corrupt (its path names it).
    """
    if not store.is_dir():
        raise StoreError(f"store {store}: no such folder")
    found = sorted(p for p in store.glob("*/*.json") if NAME.match(p.name))
    if not found:
        raise StoreError(f"store {store} holds no runs (add one with: rnnsuite store add {store} RUN.json)")
    out = [Stored(p.parent.name, load_run(p)) for p in found]
    return sorted(out, key=lambda s: (s.machine, s.number))


def machines(stored: list[Stored]) -> dict[str, list[Stored]]:
    """The runs grouped by machine id, in first-seen order."""
    out: dict[str, list[Stored]] = {}
    for s in stored:
        out.setdefault(s.machine, []).append(s)
    return out


def parser() -> argparse.ArgumentParser:
    """The command line of ``store``."""
    p = OneLineParser(prog="rnnsuite store", description="Add run files to a results store, or list it.")
    sub = p.add_subparsers(dest="action", required=True, parser_class=OneLineParser)
    add_p = sub.add_parser("add", help="copy run files into STORE/<machine id>/NNNN_<commit>_<date>.json")
    add_p.add_argument("store", type=Path, metavar="STORE")
    add_p.add_argument("runs", nargs="+", metavar="RUN.json")
    list_p = sub.add_parser("list", help="the machines of STORE and their runs")
    list_p.add_argument("store", type=Path, metavar="STORE")
    return p


def main(argv: list[str]) -> int:
    """``store add`` / ``store list``; returns 0, or 2 with a one-line error."""

    def body() -> int:
        args = parser().parse_args(argv)
        if args.action == "add":
            for path in args.runs:
                print(f"stored: {add(args.store, path)}")
            return 0
        for machine, runs in machines(load_store(args.store)).items():
            print(f"{machine}: {len(runs)} run(s)")
            if record := machine_record(args.store / machine):
                print(f"  {_machine_line(record)}")
            for s in runs:
                metric = s.run.metric
                print(f"  {s.run.path.name}  torch {s.run.machine.get('torch', '?')}  {metric}")
        return 0

    return one_line_errors(body, RunFileError, StoreError)
