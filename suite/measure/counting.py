"""Instruction counts under valgrind's callgrind: ``--metric instructions`` of the benchmark tier.

The whole pytest process runs under ``valgrind --tool=callgrind --instr-atstart=no
--collect-atstart=no``, so that torch is imported once for every benchmark of the run. Two
switches, both off at the start:

- **Instrumentation** (whether callgrind sees the code at all). Uninstrumented, torch's import
  under valgrind took 16 s of CPU here, against about 70 s instrumented (2.3 s natively); that
  import, pytest's start and the first model's build run uninstrumented. Before the first counted
  block, the process asks ``callgrind_control --instr=on <its pid>`` (valgrind's own command,
  through its gdbserver) to switch it on, and checks that a probe block is then counted
  (``instrument``); once every benchmark is counted, it switches it off again (``uninstrument``:
  the run file and the interpreter's exit took 12.7 s instrumented, 2.1 s not). torch exposes no
  client request for this switch, only the collection toggle. Where ``callgrind_control`` is
  missing, the process is instrumented from the start, as before (the run file says which:
  ``machine_info.rnnsuite.instrumentation``). Counts do not depend on when instrumentation came
  on: the issue measured 21,067,921 against 21,063,105 instructions (0.02%) for one nn.LSTM
  forward, and tests/harness/test_instrumentation.py compares the two on real counts.
- What instrumentation does not change: a call of a model costs about as much under valgrind
  with it off as on (nn.LSTM's seed forward, 21M instructions: 1.75 s of CPU either way here,
  about 1 ms natively). valgrind emulates FMA instructions one element at a time in a helper
  (the AVX2 kernels of MKL and oneDNN are full of them), so the counted calls and their warm-up
  set a run's length once torch is imported, and warm-up calls gain nothing from running
  uninstrumented.
- **Collection** (whether what runs is counted): ``torch._C._valgrind_toggle()`` switches it on,
  ``torch._C._valgrind_toggle_and_dump_stats()`` switches it off and writes that block's counts
  to a dump file, which is read back at once (the way ``torch.utils.benchmark.Timer.
  collect_callgrind`` does it, without one process per block). Warm-up calls run with collection
  off and are not counted.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DUMP_DIR_ENV = "RNNSUITE_CALLGRIND_DIR"  # set in the process that runs under callgrind: where its dumps go
# Set beside it: the callgrind_control that switches that process's instrumentation on; empty when
# none was found and the process is instrumented from the start.
CONTROL_ENV = "RNNSUITE_CALLGRIND_CONTROL"
SWITCHED, FULL = "switched", "full"  # machine_info.rnnsuite.instrumentation of a counted run
# callgrind_control answers in about 2 s here (vgdb waits for the client's next poll); only a
# hang takes minutes.
SWITCH_TIMEOUT = 300.0
# A probe block of pure Python (PROBE_LOOPS multiply-adds) counts well over PROBE_MIN
# instructions once instrumentation is on, and 0 while it is off.
PROBE_LOOPS = 2000
PROBE_MIN = 10_000  # instructions: fewer, and the probe did not run instrumented
PROBE_TRIES = 5  # probes before giving up: the switch has taken effect when callgrind_control returns
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


def control_path() -> str | None:
    """The callgrind_control executable on PATH (it ships with valgrind), or None."""
    return shutil.which("callgrind_control")


def instrumentation() -> str | None:
    """How this process is instrumented: ``SWITCHED``, ``FULL``, or None when it is not under callgrind."""
    if not under_callgrind():
        return None
    return SWITCHED if os.environ.get(CONTROL_ENV) else FULL


def callgrind_argv(valgrind: str, dump_dir: str, argv: Sequence[str], switched: bool = True) -> list[str]:
    """The command that reruns ``argv`` (an interpreter and its arguments) under callgrind, collection off.

    Args:
        valgrind: the valgrind executable.
        dump_dir: where callgrind writes its dumps (``callgrind.out.<pid>.<n>``).
        argv: the command to run, interpreter first (``sys.orig_argv``).
        switched: start uninstrumented (``instrument`` switches it on later); false: instrumented from the start.

    Returns:
        The argument list.
    """
    start = ["--instr-atstart=no", "--vgdb=yes"] if switched else []  # vgdb: how callgrind_control reaches it
    return [
        valgrind,
        "--tool=callgrind",
        *start,
        "--collect-atstart=no",  # only the blocks between the client requests are counted
        "--quiet",
        f"--callgrind-out-file={dump_dir}/callgrind.out.%p",
        *argv,
    ]


def reexec_under_callgrind(argv: Sequence[str]) -> None:
    """Run the same command under callgrind, then exit with its status (never returns).

    The command runs as a child, not by ``exec``, so that its dump folder is removed afterwards
    (callgrind writes a last, empty dump when the process ends). It starts uninstrumented where
    ``callgrind_control`` is on PATH, else instrumented (with a note on stderr).

    Raises:
        CountError: valgrind is not on PATH.
    """
    valgrind = valgrind_path()
    if valgrind is None:
        raise CountError(f"--metric instructions needs valgrind, which is not on PATH: {INSTALL_HINT}")
    control = control_path()
    if control is None:
        print("note: callgrind_control (it ships with valgrind) is not on PATH: counting with instrumentation "
              "on from the start, several times slower", file=sys.stderr)  # fmt: skip
    dump_dir = tempfile.mkdtemp(prefix="rnnsuite-callgrind-")
    env = dict(os.environ, **{DUMP_DIR_ENV: dump_dir, CONTROL_ENV: control or ""})
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        status = subprocess.call(callgrind_argv(valgrind, dump_dir, argv, switched=control is not None), env=env)
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


_instrumented = False  # this process's instrumentation was switched on


def instrument(toggle: Callable[[], None], dump: Callable[[], int]) -> None:
    """Switch callgrind's instrumentation on in this process, once, and check that it counts.

    Call it before the first counted block, once the imports and the model are built. A no-op in
    a process instrumented from the start (``FULL``) and after the first call.

    Args:
        toggle: switches collection on (as in ``count_calls``).
        dump: switches it off and returns the instructions counted since ``toggle``.

    Raises:
        CountError: callgrind_control fails, hangs, or the probe still counts nothing (one line).
    """
    global _instrumented
    control = os.environ.get(CONTROL_ENV)
    if not control or _instrumented:
        return
    answer = switch(control, os.getpid(), "on")
    counted = 0
    for _ in range(PROBE_TRIES):
        toggle()
        _probe()
        counted = dump()
        if counted >= PROBE_MIN:
            _instrumented = True
            return
        _spin(0.5)  # give a late switch time to land
    raise CountError(
        f"{control} --instr=on {os.getpid()} did not switch callgrind's instrumentation on: a probe block "
        f"counted {counted} instructions ({PROBE_TRIES} tries; it said: {_gist(answer)})"
    )


def uninstrument() -> None:
    """Switch instrumentation off again once the last block is counted: the rest of the run
    (pytest's run file and summary, the interpreter's exit: about 10 s here) then runs at valgrind's
    bare speed. Best effort: where the switch fails, that rest only runs slower."""
    global _instrumented
    control = os.environ.get(CONTROL_ENV)
    if not control or not _instrumented:
        return
    try:
        switch(control, os.getpid(), "off")
    except CountError:
        return
    _instrumented = False


def switch(control: str, pid: int, state: str, timeout: float = SWITCH_TIMEOUT) -> str:
    """Run ``control --instr=STATE pid`` (``on`` or ``off``) and return its output.

    The caller spins meanwhile rather than waiting in ``wait()``: valgrind's gdbserver takes the
    command when the client next polls, and a client blocked in a system call is only reached
    where vgdb may ptrace it. callgrind_control prints ``OK.`` whatever the answer; only the
    probe of ``instrument`` tells.

    Raises:
        CountError: it cannot start, exits non-zero, or runs past ``timeout`` seconds.
    """
    with tempfile.TemporaryFile("w+") as out:
        try:
            proc = subprocess.Popen([control, f"--instr={state}", str(pid)], stdout=out, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise CountError(f"{control} does not run: {exc}") from None
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise CountError(f"{control} --instr={state} {pid} did not answer in {timeout:.0f} s")
        out.seek(0)
        answer = out.read()
    if proc.returncode != 0:
        raise CountError(f"{control} --instr={state} {pid} failed with exit code {proc.returncode}: {_gist(answer)}")
    return answer


def _gist(answer: str) -> str:
    """The line of callgrind_control's output that says what went wrong (its first error, else its last line)."""
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Error")), lines[-1] if lines else "no output")


def _probe() -> int:
    """A little pure-Python work to count."""
    return sum(i * i for i in range(PROBE_LOOPS))


def _spin(seconds: float) -> None:
    """Keep the client running (not blocked in a system call) for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
