"""The cold server: one process per run that imports what a cold process needs, then forks a child per row.

``suite/measure/cold.py`` says why (the state a fork has, and what it screens); this module is its
machinery: the server's loop (``serve``: one JSON request a line in, one record a line out), the
forked child's isolation (a crash or a hang is a one-line error and the server goes on) and the
client that starts the server on first use (``ColdServer``). The child's work is
``suite.measure.cold.time_cold``, looked up when a child runs (tests replace it).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import IO, Any

COLD_TIMEOUT_S = 600


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
            from rnnsuite.suite.measure import cold

            time_cold = cold.time_cold
            rec = time_cold(
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
    from rnnsuite.suite.measure.cold import _imports, thread_count

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
