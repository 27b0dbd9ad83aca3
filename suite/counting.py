"""Instruction counts under valgrind's callgrind: ``--metric instructions`` of the benchmark tier.

The whole pytest process runs under ``valgrind --tool=callgrind --collect-atstart=no``, so that
torch is imported once for every benchmark of the run. Collection is off until a measured block:
``torch._C._valgrind_toggle()`` switches it on, ``torch._C._valgrind_toggle_and_dump_stats()``
switches it off and writes that block's counts to a dump file, which is read back at once (the
way ``torch.utils.benchmark.Timer.collect_callgrind`` does it, without one process per block).
Warm-up calls run with collection off and are not counted.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DUMP_DIR_ENV = "RNNSUITE_CALLGRIND_DIR"  # set in the process that runs under callgrind: where its dumps go
# A seed-size forward of nn.LSTM is about 21M instructions, 1-2 s under callgrind: the counted
# calls, with torch's import, set a run's length. Counts barely move between calls once warm
# (0.07% for nn.LSTM between 5-call blocks here), so one call a repeat does; the median over
# three repeats is robust to one repeat that still carries warm-up work.
WARMUP_CALLS = 1  # not counted: the first call allocates, fills the caches of torch's dispatcher, ...
CALLS = 1  # calls per counted block (a repeat)
REPEATS = 3  # counted blocks; their spread shows what is left of the first calls' extra work
# Calls of a small model (a few million instructions: Python-bound) keep getting cheaper for
# many calls: numpy_rnn's forward+backward counted 1.52M, 1.49M, 1.47M instructions in its three
# repeats after one warm-up call (3.7% spread, which the gate rightly calls unsettled), and
# 1.47M, 1.45M, 1.45M after 20. Such a benchmark is warmed up by EXTRA_WARMUP more calls and
# counted again; a large one is not (its first count is settled, and a call costs seconds).
SMALL_CALL = 5e6  # instructions per call
EXTRA_WARMUP = 20
INSTALL_HINT = "install it (Debian/Ubuntu: apt-get install valgrind)"


class CountError(Exception):
    """Instruction counting cannot run; the message is one line."""


def valgrind_path() -> str | None:
    """The valgrind executable on PATH, or None."""
    return shutil.which("valgrind")


def valgrind_version(path: str | None = None) -> str:
    """``valgrind --version`` without the ``valgrind-`` prefix (``3.19.0``).

    Raises:
        CountError: valgrind is not on PATH or does not answer.
    """
    exe = path or valgrind_path()
    if exe is None:
        raise CountError(f"--metric instructions needs valgrind, which is not on PATH: {INSTALL_HINT}")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise CountError(f"valgrind at {exe} does not run: {exc}") from None
    return out.strip().removeprefix("valgrind-")


def under_callgrind() -> bool:
    """Whether this process is the one ``callgrind_argv`` started."""
    return bool(os.environ.get(DUMP_DIR_ENV))


def callgrind_argv(valgrind: str, dump_dir: str, argv: Sequence[str]) -> list[str]:
    """The command that reruns ``argv`` (an interpreter and its arguments) under callgrind, collection off.

    Args:
        valgrind: the valgrind executable.
        dump_dir: where callgrind writes its dumps (``callgrind.out.<pid>.<n>``).
        argv: the command to run, interpreter first (``sys.orig_argv``).

    Returns:
        The argument list.
    """
    return [
        valgrind,
        "--tool=callgrind",
        "--collect-atstart=no",  # only the blocks between the client requests are counted
        "--quiet",
        f"--callgrind-out-file={dump_dir}/callgrind.out.%p",
        *argv,
    ]


def reexec_under_callgrind(argv: Sequence[str]) -> None:
    """Run the same command under callgrind, then exit with its status (never returns).

    The command runs as a child, not by ``exec``, so that its dump folder is removed afterwards
    (callgrind writes a last, empty dump when the process ends).

    Raises:
        CountError: valgrind is not on PATH.
    """
    import tempfile

    valgrind = valgrind_path()
    if valgrind is None:
        raise CountError(f"--metric instructions needs valgrind, which is not on PATH: {INSTALL_HINT}")
    dump_dir = tempfile.mkdtemp(prefix="rnnsuite-callgrind-")
    env = dict(os.environ, **{DUMP_DIR_ENV: dump_dir})
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        status = subprocess.call(callgrind_argv(valgrind, dump_dir, argv), env=env)
    except KeyboardInterrupt:
        status = 130
    shutil.rmtree(dump_dir, ignore_errors=True)
    os._exit(status)


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
        warmup: calls before the first block, not counted (a small call gets more: ``SMALL_CALL``).

    Returns:
        The run-file fields (docs/run-file.md): ``instructions`` (the median over repeats of the
        instructions per call), ``instructions_repeats``, ``count_calls``, ``count_repeats``,
        ``count_warmup`` (every uncounted call before the repeats kept, the discarded repeats of a small
        call included), ``instructions_spread``.
    """
    for _ in range(warmup):
        fn()
    per_call = _repeats(fn, toggle, dump, calls, repeats)
    if statistics.median(per_call) < SMALL_CALL:  # a small call: warm up more, count again
        for _ in range(EXTRA_WARMUP):
            fn()
        warmup += repeats * calls + EXTRA_WARMUP
        per_call = _repeats(fn, toggle, dump, calls, repeats)
    return {
        "instructions": statistics.median(per_call),
        "instructions_repeats": per_call,
        "count_calls": calls,
        "count_repeats": repeats,
        "count_warmup": warmup,
        "instructions_spread": spread(per_call),
    }


def _repeats(
    fn: Callable[[], object], toggle: Callable[[], None], dump: Callable[[], int], calls: int, repeats: int
) -> list[float]:
    """Instructions per call of ``repeats`` counted blocks of ``calls`` calls."""
    per_call = []
    for _ in range(repeats):
        toggle()
        for _ in range(calls):
            fn()
        per_call.append(dump() / calls)
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
