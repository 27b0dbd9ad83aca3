"""The process under valgrind's callgrind: finding valgrind, re-running pytest under it, and
switching the process's instrumentation on and off through ``callgrind_control``.

suite/measure/counting.py counts blocks of calls in such a process; the switches are explained
there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

DUMP_DIR_ENV = "RNNSUITE_CALLGRIND_DIR"  # set in the process that runs under callgrind: where its dumps go
# Set beside it: the callgrind_control that switches that process's instrumentation on; empty when
# none was found and the process is instrumented from the start.
CONTROL_ENV = "RNNSUITE_CALLGRIND_CONTROL"
SWITCHED, FULL = "switched", "full"  # machine_info.rnnsuite.instrumentation of a counted run
# callgrind_control answers within seconds (vgdb waits for the client's next poll; the figure:
# docs/notes/gate.md); only a hang takes minutes.
SWITCH_TIMEOUT = 300.0
# A probe block of pure Python (PROBE_LOOPS multiply-adds) counts well over PROBE_MIN
# instructions once instrumentation is on, and 0 while it is off.
PROBE_LOOPS = 2000
PROBE_MIN = 10_000  # instructions: fewer, and the probe did not run instrumented
PROBE_TRIES = 5  # probes before giving up: the switch has taken effect when callgrind_control returns
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
    (pytest's run file and summary, the interpreter's exit: docs/notes/gate.md) then runs at valgrind's
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
