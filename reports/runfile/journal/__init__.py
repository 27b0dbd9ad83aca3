"""The journal: an append-only JSON-lines file beside the run file, one record per line (docs/crashes.md).

Every process of a run (the pytest process, each xdist worker, the supervisor of
``rnnsuite isolate``) appends its records with one ``os.write`` on a file descriptor opened
with ``O_APPEND`` (``fsync`` after the rare ones, ``SYNCED``): a line is whole or absent, and lines
of concurrent writers never interleave (on a local file system one ``write`` with ``O_APPEND`` is
atomic with respect to the others). A writer killed
mid-line (``kill -9``, a power cut) leaves at most a torn last line, which the reader skips.

This package imports only the standard library and ``reports.runfile``: the suite writes journals and
the reports read them; ``assemble`` turns a journal into a run file (pytest-benchmark's format with
the suite's section) without torch.

The records (``kind``):

- ``header``: a session began (the pytest process; one per session, a resumed run appends another):
  ``session``, ``pid``, ``t``, ``fingerprint`` (torch build, machine, options: what ``--resume``
  compares), ``label``, ``allocator``, ``metric``, ``shard``, ``checks_from`` and, in a benchmark
  run, pytest-benchmark's ``machine_info``, ``commit_info`` and ``version``;
- ``collected``: the node ids a process selected (the first session's list is the run's);
- ``start``: a test began in process ``pid`` at ``t``; ``ident`` says which check or benchmark;
- ``check``, ``benchmark``, ``peak``: a finished record, exactly as the run file holds it;
- ``done``: a test ended (``outcome`` passed, failed or skipped);
- ``timeout``: the supervisor stopped a test at its time limit (the ``error`` record follows);
- ``error``: a test crashed or timed out: ``error`` (``crashed (SIGSEGV)``, ``timed out after 600 s``)
  and ``output``, the last lines its process wrote;
- ``end``: a session ended normally (``status``: pytest's exit code).

The package's modules: ``lines`` (append, read and follow the file), ``crashes`` (the ``error`` record of
a test that crashed or timed out) and ``assemble`` (the run file and the checks file of a journal). Their
names are taken from here: ``from reports.runfile import journal as jr``.
"""

from __future__ import annotations

from rnnsuite.reports.runfile.journal.assemble import assemble, check_of_error, checks_data, correctness, error_entry
from rnnsuite.reports.runfile.journal.crashes import died_of, error_record, fault_path, fault_tail, timed_out
from rnnsuite.reports.runfile.journal.lines import (
    KINDS,
    SUFFIX,
    SYNCED,
    Follower,
    Journal,
    JournalError,
    append,
    journal_for,
    read,
)

__all__ = [
    "KINDS", "SUFFIX", "SYNCED", "Follower", "Journal", "JournalError", "append", "assemble", "check_of_error",
    "checks_data", "correctness", "died_of", "error_entry", "error_record", "fault_path", "fault_tail",
    "journal_for", "read", "timed_out",
]  # fmt: skip
