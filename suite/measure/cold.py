"""The cold variant of a benchmark: timed right after the model is built as a user builds it, in a process with no history.

The suite's own process has a history (earlier tests, the matmul peak, and ``memory.warm_allocator``
before each build), and with glibc that history decides whether a no-grad forward's buffers fault
in again on every call (docs/notes/page-faults.md). A user's script that builds one model and times it
has none. So each benchmark of a state-dependent kind is also timed in a process that has imported
torch and built nothing: it builds the model (``timing.make_call``), warms up as the suite does
(``timing.calibrate``) and times blocks of calls for ``--min-time`` seconds, with the page faults
and resident-set peak of those blocks. The first block is kept apart: it is what a user timing a
handful of calls sees.

Each row is first *screened* in a fork of one *cold server*: a process started once per run that
imports what a cold process needs (``_imports``: torch and ``torch.utils.benchmark``, as a script
that times a model with ``Timer`` does, then the cases) and then only reads requests, forking a
child for each. A fork shares the server's memory state: glibc's mmap and trim thresholds have
not moved (nothing large was freed), and OpenMP's thread pool does not exist yet (no parallel
region ran; the server checks its thread count before every fork, and the record keeps it). The
child builds the model and times one block: where its faults do not matter, that block is the
record. A row whose faults matter is then timed in a fresh interpreter (``python -m
rnnsuite.suite.measure.cold KEY``, the same imports first), and its record keeps the fork's faults a
call (``screen_faults_per_call``). A fork is close to a fresh process but not equal to it: on a row
that churns it may fault less and run faster than a fresh interpreter. A fresh interpreter pays for
``import torch``; the fork pays it once per run, so only the few rows that churn pay it again
(the measured costs: docs/notes/cold-state.md, "Figures moved from the docstrings").
``--cold-process fork`` times in the fork too, ``--cold-process fresh`` screens and times every
row in a fresh interpreter (tests compare them).

The server and its client live here too: the server's loop (``serve``: one JSON request a line in,
one record a line out), the forked child's isolation (a crash or a hang is a one-line error and the
server goes on) and the client that starts the server on first use (``ColdServer``). They are one
idea with the cold record: the child's work is ``time_cold``, looked up when a child runs (tests
replace it), and the server imports exactly what a fresh cold process does.

Usage: python -m rnnsuite.suite.measure.cold KEY --seed S --threads N --min-time SECONDS [--every]   (one JSON object)
       python -m rnnsuite.suite.measure.cold --serve                                  (the server: JSON lines in and out)
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from rnnsuite.vocabulary import COLD_PROCESSES

PROCESSES = COLD_PROCESSES  # --cold-process (run_cold): the vocabulary's
# The cold state is timed where the process with no history takes page faults that matter: the
# state this suite found to move a timing (glibc returning a forward's buffers to the kernel, so
# that every call faults them in again; docs/notes/page-faults.md) shows as faults. A call whose first
# block's faults, at FAULT_COST_S each, make under FAULT_SHARE of its time cannot move 10% (the
# report's state-dependent line) that way: the process stops after that block, its first block is
# recorded and its median is not measured. The rows measured so far lie far from the line either way
# (docs/notes/cold-state.md, "Figures moved from the docstrings"), so the rule does not hang on the cost's exact value.
# reports/output/sections/memory_section.py's cost of a minor fault: under the cost measured, so a row is timed if in doubt.
FAULT_COST_S = 1e-6
FAULT_SHARE = 0.01
COLD_TIMEOUT_S = 600
NOT_TIMED = (
    f"not timed: its page faults in the first block cost under {FAULT_SHARE:.0%} of a call "
    f"(at {FAULT_COST_S * 1e6:g} us each)"
)


def faults_matter(faults_per_call: float, seconds_per_call: float) -> bool:
    """Whether a call's page faults, at ``FAULT_COST_S`` each, make ``FAULT_SHARE`` or more of its time."""
    return faults_per_call * FAULT_COST_S >= FAULT_SHARE * seconds_per_call


def thread_count() -> int:
    """This process's threads (Linux ``/proc/self/status``; 0 where it is absent)."""
    from rnnsuite.suite.measure.memory import status_field

    return status_field("Threads") or 0


def _imports() -> None:
    """What a cold process imports before it builds anything (the server does exactly this, then forks).

    First what a user's script that times a model imports: torch and ``torch.utils.benchmark``.
    What a process imports decides where glibc's free chunks lie when the model is built, and on
    some rows that decides whether a no-grad forward faults its buffers in again on every call
    (a script that imports ``torch.utils.benchmark`` faults about twice as often on nn_lstm's churning
    row as one that imports torch alone: docs/notes/cold-state.md, "Figures moved from the docstrings"). The cold state is that of a script
    that times with ``Timer``.
    """
    import torch
    import torch.utils.benchmark  # noqa: F401

    import rnnsuite.suite.measure.memory
    import rnnsuite.suite.measure.timing  # noqa: F401
    from rnnsuite.cases.load import load

    load()  # the users' cases the parent loaded (RNNSUITE_CASES, the entry points): keys name them too


def time_cold(
    key: str, seed: int, threads: int, min_time: float, every: bool = False, screen: bool = False
) -> dict[str, Any]:
    """Build and time one benchmark in this process (fresh, or a fork of the cold server); the ``cold`` record.

    The process has run ``_imports`` (``main`` and the server do): the cases, the users' included, are loaded.

    Args:
        every: time every benchmark; by default one whose first block's page faults do not matter
            (``faults_matter``) stops after that block (``timed`` false, ``median_s`` null).
        screen: stop after the first block whatever its faults, and say in ``matter`` whether they
            matter (a key no run file has: ``after_screen`` takes it out).
    """
    import torch

    from rnnsuite.suite.harness.points import Point
    from rnnsuite.suite.measure.memory import Probe
    from rnnsuite.suite.measure.timing import calibrate, make_call, synchronizer, time_block

    torch.set_num_threads(threads)
    bp = Point.from_key(key)
    call, _ = make_call(bp, seed)
    sync = synchronizer(bp.device)
    n, _, _ = calibrate(call, sync, min_time)
    probe = Probe()
    probe.start()
    end = time.perf_counter() + min_time
    blocks = [time_block(call, sync, n)]
    memory = probe.stop(n)  # the first block's: what the rule reads, and the record of an untimed row
    matter = every or faults_matter(memory["minor_faults_per_call"], blocks[0])
    timed = matter and not screen
    while timed and (len(blocks) < 3 or time.perf_counter() < end):
        blocks.append(time_block(call, sync, n))
    if timed:
        memory = probe.stop(n * len(blocks))
    return (
        {
            "median_s": statistics.median(blocks) if timed else None,
            "first_block_s": blocks[0],
            "block": n,
            "blocks": len(blocks),
            "threads": torch.get_num_threads(),
            "timed": timed,
            "note": None if matter else NOT_TIMED,
        }
        | memory
        | ({"matter": matter} if screen else {})
    )


def run_cold(
    key: str, seed: int, threads: int, min_time: float, process: str = "fork-then-fresh", every: bool = False
) -> dict[str, Any]:
    """``time_cold`` in a process with no history: a fork of the cold server, or a fresh interpreter.

    Args:
        process: ``fork-then-fresh`` (a fork screens the row, a fresh interpreter times it where its
            faults matter; with ``every``, a fresh interpreter times every row), ``fork`` or ``fresh``
            (``PROCESSES``). Without ``os.fork``, fresh.

    Returns:
        The ``cold`` record, or ``{"error": one line}`` when that process failed.
    """
    if process not in PROCESSES:
        raise ValueError(f"--cold-process: one of {', '.join(PROCESSES)}, not {process!r}")
    request = {"key": key, "seed": seed, "threads": threads, "min_time": min_time, "timeout": COLD_TIMEOUT_S}
    request["every"] = every
    if not hasattr(os, "fork") or process == "fresh" or (process == "fork-then-fresh" and every):
        return _run_fresh(request)
    try:
        screened = _SERVER.run(request | {"screen": process == "fork-then-fresh"})
    except (RuntimeError, OSError, json.JSONDecodeError) as exc:
        return {"error": f"the cold server failed: {_one_line(exc)}"}
    return after_screen(screened, lambda: _run_fresh(request | {"every": True}))


def after_screen(screened: dict[str, Any], fresh: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The record of a row a fork screened: the fork's where its faults did not matter, else ``fresh()``'s.

    The fresh record keeps the screen's faults a call (``screen_faults_per_call``). A record that
    is no screen (``--cold-process fork``: no ``matter``) or an error is returned as it is.
    """
    if "matter" not in screened:
        return screened
    matter = screened.pop("matter")
    if not matter:
        return screened
    timed = fresh()
    if "error" in timed:
        return timed
    return timed | {"screen_faults_per_call": screened["minor_faults_per_call"]}


def _run_fresh(request: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "rnnsuite.suite.measure.cold", request["key"], "--seed", str(request["seed"])]
    cmd += ["--threads", str(request["threads"]), "--min-time", str(request["min_time"])]
    cmd += ["--every"] if request.get("every") else []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=request["timeout"], check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the cold process ran past {request['timeout']} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the cold process exited with {proc.returncode}: {last[:300]}"}
    try:
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    except (json.JSONDecodeError, IndexError):
        return {"error": f"the cold process printed no record: {proc.stdout[-200:]!r}"}


# The cold server and its client.


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return (text.splitlines() or [text])[0][:300]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _fork_one(request: dict[str, Any], threads_before: int) -> dict[str, Any]:
    """Run one request in a forked child; its record, or ``{"error": one line}``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: time, write one JSON line, leave without running the server's exit handlers
        os.close(read_end)
        code = 0
        try:
            rec = time_cold(  # looked up now: a test may have replaced it
                request["key"],
                request["seed"],
                request["threads"],
                request["min_time"],
                request.get("every", False),
                request.get("screen", False),
            )
            rec |= {"process": "fork", "server_threads": threads_before}
        except BaseException as exc:
            rec, code = {"error": f"the cold process failed: {_one_line(exc)}"}, 1
        data = json.dumps(rec).encode()
        while data:
            data = data[os.write(write_end, data) :]
        os._exit(code)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + float(request.get("timeout", COLD_TIMEOUT_S))
    with os.fdopen(read_end, "rb") as reader:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([reader], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"error": f"the cold process ran past {request.get('timeout', COLD_TIMEOUT_S)} s"}
            chunk = os.read(reader.fileno(), 65536)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"error": f"the cold process died with {_signal_name(os.WTERMSIG(status))}"}
    try:
        return dict(json.loads(b"".join(chunks)))
    except json.JSONDecodeError:
        return {"error": f"the cold process exited with {os.waitstatus_to_exitcode(status)} and printed no record"}


def serve(requests: IO[str], replies: IO[str]) -> None:
    """The cold server: import, announce readiness and the thread count, then one forked child per request line."""
    _imports()
    print(json.dumps({"ready": True, "threads": thread_count()}), file=replies, flush=True)
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        print(json.dumps(_fork_one(request, thread_count())), file=replies, flush=True)


class ColdServer:
    """The client side: one server process per pytest process, started on first use, restarted if it dies."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.threads_at_start: int | None = None

    def _start(self) -> None:
        cmd = [sys.executable, "-m", "rnnsuite.suite.measure.cold", "--serve"]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        hello = json.loads(self.proc.stdout.readline() if self.proc.stdout else "{}")
        if not hello.get("ready"):
            self.close()
            raise RuntimeError("the cold server did not start")
        self.threads_at_start = int(hello["threads"])

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("the cold server is not running")
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self.close()
            return {"error": "the cold server stopped answering"}
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


_SERVER = ColdServer()
atexit.register(_SERVER.close)


def main() -> int:
    """Print the cold record of one benchmark key as one JSON line (or serve requests with ``--serve``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("key", nargs="?")
    ap.add_argument("--serve", action="store_true", help="be the cold server (JSON lines on stdin and stdout)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--every", action="store_true", help="time it whatever its page faults")
    args = ap.parse_args()
    if args.serve:
        serve(sys.stdin, sys.stdout)
        return 0
    if not args.key:
        ap.error("a benchmark KEY, or --serve")
    from rnnsuite.cases.load import LoadError

    try:
        _imports()  # as the server does before it forks: the same state in both kinds of process
        record = time_cold(args.key, args.seed, args.threads, args.min_time, args.every)
    except (ValueError, LoadError) as exc:  # a key naming no benchmark of the loaded cases, a bad module: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(record | {"process": "fresh", "server_threads": None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
