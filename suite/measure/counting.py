"""Instruction counts under valgrind's callgrind: ``--metric instructions`` of the benchmark tier.

The whole pytest process runs under ``valgrind --tool=callgrind --instr-atstart=no
--collect-atstart=no``, so that torch is imported once for every benchmark of the run. Two
switches, both off at the start:

- **Instrumentation** (whether callgrind sees the code at all). Instrumented, torch's import
  costs several times what it costs under valgrind uninstrumented, and counts nothing; so that
  import, pytest's start and the first model's build run uninstrumented. Before the first counted
  block, the process asks ``callgrind_control --instr=on <its pid>`` (valgrind's own command,
  through its gdbserver) to switch it on, and checks that a probe block is then counted
  (``instrument``); once every benchmark is counted, it switches it off again (``uninstrument``:
  the run file and the interpreter's exit are several times faster so). torch exposes no
  client request for this switch, only the collection toggle. Where ``callgrind_control`` is
  missing, the process is instrumented from the start, as before (the run file says which:
  ``machine_info.rnnsuite.instrumentation``). Counts do not depend on when instrumentation came
  on (issue 19 compared one nn.LSTM forward both ways), and tests/harness/test_instrumentation.py
  compares the two on real counts.
- What instrumentation does not change: a call of a model costs about as much under valgrind
  with it off as on, about a thousand times its native cost either way. valgrind emulates FMA instructions one element at a time in a helper
  (the AVX2 kernels of MKL and oneDNN are full of them), so the counted calls and their warm-up
  set a run's length once torch is imported, and warm-up calls gain nothing from running
  uninstrumented.
- **Collection** (whether what runs is counted): ``torch._C._valgrind_toggle()`` switches it on,
  ``torch._C._valgrind_toggle_and_dump_stats()`` switches it off and writes that block's counts
  to a dump file, which is read back at once (the way ``torch.utils.benchmark.Timer.
  collect_callgrind`` does it, without one process per block). Warm-up calls run with collection
  off and are not counted.

The figures behind these choices (the import's and the exit's cost, the counts' spread between
calls and repeats, the cases of unsettled repeats), with their dates and commits: docs/notes/gate.md,
studies 3 to 5 and "Figures moved from the docstrings".
"""

from __future__ import annotations

import gc
import math
import os
import re
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnsuite.suite.measure.callgrind import DUMP_DIR_ENV, CountError

# A seed-size forward of nn.LSTM takes seconds under callgrind: the counted calls, with torch's
# import, set a run's length. Counts barely move between calls once warm, so one call a repeat
# does, and two repeats: the per-call figure is their median (their mean). Two repeats that
# disagree by more than RECOUNT_SPREAD are counted again after more warm-up (below), which is what
# a third repeat's median was there to absorb; with the third gone, a benchmark costs 3 calls
# instead of 4.
WARMUP_CALLS = 1  # not counted: the first call allocates, fills the caches of torch's dispatcher, ...
CALLS = 1  # calls per counted block (a repeat)
REPEATS = 2  # counted blocks; their spread shows what is left of the first calls' extra work
# Calls of a small model (a few million instructions: Python-bound) keep getting cheaper for
# many calls: after one warm-up call their repeats can spread by more than the gate accepts (it
# rightly calls them unsettled), after about 20 they agree. Such a benchmark is warmed up more and
# counted again; so is any benchmark whose repeats spread over RECOUNT_SPREAD (one repeat that a
# late warm-up or a collection falls in can make an A/A inconclusive on its own).
# A large one whose repeats agree is not (its first count is settled, and a call costs seconds).
SMALL_CALL = 5e6  # instructions per call
RECOUNT_SPREAD = 0.01  # a third of the gate's 3% threshold (reports.counts.COUNT_THRESHOLD)
EXTRA_WARMUP = 20  # more warm-up calls before the second count, at most ...
EXTRA_WARMUP_INSTRUCTIONS = 1e8  # ... and no more than about this much work (20 calls of a small call)
EXTRA_WARMUP_MIN = 2  # ... and at least this many
_PART = re.compile(r"\.(\d+)$")


def last_dump_total(dump_dir: str | Path, pid: int | None = None) -> int:
    """Instructions of the newest dump of this process (its ``totals:`` line).

    Raises:
        CountError: no dump, or a dump without totals.
    """
    pid = os.getpid() if pid is None else pid
    dumps = [p for p in Path(dump_dir).glob(f"callgrind.out.{pid}.*") if _PART.search(p.name)]
    if not dumps:
        raise CountError(f"callgrind wrote no dump in {dump_dir}: is this process running under callgrind?")
    newest = max(dumps, key=lambda p: int(_PART.search(p.name).group(1)))  # type: ignore[union-attr]
    total = parse_totals(newest.read_text(encoding="utf-8", errors="replace"))
    newest.unlink()  # read once; the folder holds only dumps not yet read
    return total


def parse_totals(text: str) -> int:
    """The ``totals:`` (else ``summary:``) instruction count of a callgrind dump.

    Raises:
        CountError: neither line is there.
    """
    for head in ("totals:", "summary:"):
        for line in text.splitlines():
            if line.startswith(head):
                return int(line.split()[1])
    raise CountError("callgrind dump without a totals or summary line")


def spread(values: Sequence[float]) -> float:
    """``(max - min) / median`` of the per-call counts of the repeats; 0 for one repeat."""
    med = statistics.median(values)
    return (max(values) - min(values)) / med if med else float("inf")


def count_calls(
    fn: Callable[[], object],
    toggle: Callable[[], None],
    dump: Callable[[], int],
    calls: int = CALLS,
    repeats: int = REPEATS,
    warmup: int = WARMUP_CALLS,
) -> dict[str, Any]:
    """Count the instructions of ``calls`` calls of ``fn``, ``repeats`` times, after ``warmup`` uncounted calls.

    Args:
        fn: one call of the work.
        toggle: switches collection on (``torch._C._valgrind_toggle``).
        dump: switches it off and returns the instructions counted since ``toggle``.
        calls: calls per counted block.
        repeats: counted blocks.
        warmup: calls before the first block, not counted. A small call (``SMALL_CALL``), or one whose
            repeats spread over ``RECOUNT_SPREAD``, gets ``extra_warmup`` more and is counted again.

    Returns:
        The run-file fields (docs/run-file.md): ``instructions`` (the median over repeats of the
        instructions per call), ``instructions_repeats``, ``count_calls``, ``count_repeats``,
        ``count_warmup`` (every uncounted call before the repeats kept, the discarded repeats of a small
        call included), ``instructions_spread``.
    """
    for _ in range(warmup):
        fn()
    per_call = _repeats(fn, toggle, dump, calls, repeats)
    median = statistics.median(per_call)
    if median < SMALL_CALL or spread(per_call) > RECOUNT_SPREAD:  # unsettled: warm up more, count again
        extra = extra_warmup(median)
        for _ in range(extra):
            fn()
        warmup += repeats * calls + extra
        per_call = _repeats(fn, toggle, dump, calls, repeats)
    return {
        "instructions": statistics.median(per_call),
        "instructions_repeats": per_call,
        "count_calls": calls,
        "count_repeats": repeats,
        "count_warmup": warmup,
        "instructions_spread": spread(per_call),
    }


def extra_warmup(per_call: float) -> int:
    """Warm-up calls before a second count: ``EXTRA_WARMUP``, fewer for a large call (``EXTRA_WARMUP_INSTRUCTIONS``)."""
    if per_call <= 0:
        return EXTRA_WARMUP
    return max(EXTRA_WARMUP_MIN, min(EXTRA_WARMUP, math.ceil(EXTRA_WARMUP_INSTRUCTIONS / per_call)))


def _repeats(
    fn: Callable[[], object], toggle: Callable[[], None], dump: Callable[[], int], calls: int, repeats: int
) -> list[float]:
    """Instructions per call of ``repeats`` counted blocks of ``calls`` calls.

    Python's cyclic garbage collector is off during a block (as ``timeit`` turns it off while it
    times): a collection that happens to fall in one block is the interpreter's work, not the
    model's, and would make that block's count an outlier.
    """
    per_call = []
    for _ in range(repeats):
        was_on = gc.isenabled()
        gc.disable()
        try:
            toggle()
            for _ in range(calls):
                fn()
            per_call.append(dump() / calls)
        finally:
            if was_on:
                gc.enable()
    return per_call


def torch_counter() -> tuple[Callable[[], None], Callable[[], int]]:
    """The ``toggle`` and ``dump`` of ``count_calls`` in a process under callgrind.

    Raises:
        CountError: this process is not under callgrind, or torch lacks the client requests.
    """
    import torch

    dump_dir = os.environ.get(DUMP_DIR_ENV)
    if not dump_dir:
        raise CountError("--metric instructions: this process is not running under callgrind")
    if not torch._C._valgrind_supported_platform():
        raise CountError(f"torch {torch.__version__} was built without valgrind client requests")

    def dump() -> int:
        torch._C._valgrind_toggle_and_dump_stats()
        return last_dump_total(dump_dir)

    return torch._C._valgrind_toggle, dump
