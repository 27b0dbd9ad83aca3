"""``rnnsuite isolate PYTEST_ARGS...``: pytest with a journal, a per-test time limit, and a restart after a crash.

pytest runs as a child process with ``--journal`` (docs/crashes.md). The supervisor follows the
journal as it grows and:

- stops a test that runs past ``--time-limit`` (default 600 s): it journals a ``timeout`` record, sends
  the test's process SIGABRT (Python's fault handler writes every thread's traceback to the process's
  fault file), then SIGKILL where it still lives;
- when the pytest process dies in the middle of a test (a signal, an out-of-memory kill, a timeout),
  journals that test as ``crashed (SIGSEGV)`` or ``timed out after N s`` with the last lines of its
  fault file, and starts pytest again with ``--resume``: the run goes on with the next test;
- under xdist (``-n``) a worker that dies is replaced by xdist itself (``--max-worker-restart``), and
  the controller journals the test it was running (suite/plugin/journal.py); the supervisor only
  enforces the time limit there and restarts the controller if it dies;
- at the end, where a test crashed, timed out or did not finish, or where the run took more than
  one pytest process, writes the ``--benchmark-json`` run file (and the ``--checks-json`` checks file)
  from the journal, with ``rnnsuite.errors`` and ``rnnsuite.unfinished``.

Exit status: 1 where a test crashed, timed out or did not finish (2, 3 or 4 where pytest's last
status was that: interrupted, internal error, usage error); else pytest's last status; 4 for a bad
command line of this command (one line on stderr).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnsuite.reports.runfile import journal as jr
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.reader import RunFileError, load_check_errors, load_checks

POLL_S = 0.5
GRACE_S = 10.0  # after SIGABRT, for the fault handler to write the traceback and the process to die
NO_RESTART = (2, 3, 4)  # interrupted, internal error, usage error: a restart would do the same


class IsolateError(Exception):
    """A bad command line; the message is one line."""


def option(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in a pytest command line (the last one given)."""
    found = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(name + "="):
            found = arg.split("=", 1)[1]
    return found


def without(args: Sequence[str], name: str) -> list[str]:
    """The command line less every ``--name VALUE`` / ``--name=VALUE``."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def time_limit(args: Sequence[str]) -> float:
    from rnnsuite.suite.plugin.options import TIME_LIMIT

    text = option(args, "--time-limit")
    try:
        limit = TIME_LIMIT if text is None else float(text)
    except ValueError:
        raise IsolateError(f"--time-limit: expected seconds, got {text!r}") from None
    if not limit > 0:
        raise IsolateError(f"--time-limit: must be positive, got {text}")
    return limit


def journal_path(args: Sequence[str]) -> Path:
    """``--resume`` or ``--journal``, else beside ``--benchmark-json`` or ``--checks-json``."""
    for name in ("--resume", "--journal"):
        if option(args, name):
            return Path(str(option(args, name)))
    for name in ("--benchmark-json", "--checks-json"):
        if option(args, name):
            return jr.journal_for(str(option(args, name)))
    raise IsolateError("give --journal PATH (or --benchmark-json / --checks-json: the journal goes beside it)")


class Supervisor:
    """One run: pytest processes one after another until every selected test finished or crashed."""

    def __init__(self, args: Sequence[str], journal: Path, limit: float) -> None:
        self.args = without(without(args, "--journal"), "--resume")
        self.journal = journal
        self.limit = limit
        self.resume = option(args, "--resume") is not None
        self.launches = 0
        self.stopped: set[str] = set()

    def command(self) -> list[str]:
        again = self.resume or self.launches > 0
        where = ["--resume", str(self.journal)] if again else ["--journal", str(self.journal)]
        return [sys.executable, "-m", "pytest", *self.args, *where]

    def run(self) -> int:
        status = 0
        while True:
            before = len(jr.read(self.journal).finished) if self.journal.exists() else 0
            stopped = len(self.stopped)
            status = self.launch()
            self.launches += 1
            if not self.journal.exists():  # pytest stopped before its session began (a usage error)
                return status
            journal = self.record_death(status)
            if status < 0:
                how = "was stopped at the time limit" if len(self.stopped) > stopped else jr.died_of(status)
                print(f"isolate: the pytest process {how}; {len(journal.errors)} error(s) on record")
            left = journal.unfinished
            progress = len(journal.finished) > before
            if not left or status in NO_RESTART or not progress:
                break
            print(f"isolate: {len(left)} test(s) left; resuming from {self.journal} (pytest --resume)", flush=True)
        if status == 4 and self.launches == 1:  # a usage error (a refused --resume): nothing ran, nothing to write
            return status
        return self.finish(status)

    def launch(self) -> int:
        """One pytest process, watched until it exits; returns its status (negative: the signal)."""
        follower = jr.Follower(self.journal)
        follower.offset = self.journal.stat().st_size if self.journal.exists() else 0
        running: dict[str, dict[str, Any]] = {}
        proc = subprocess.Popen(self.command())
        try:
            while proc.poll() is None:
                for rec in follower.poll():
                    if rec.get("kind") == "start":
                        running[rec["nodeid"]] = rec
                    elif rec.get("kind") in ("done", "error"):
                        running.pop(rec.get("nodeid", ""), None)
                now = time.time()
                for nodeid, start in list(running.items()):
                    if now - float(start.get("t", now)) > self.limit and nodeid not in self.stopped:
                        self.stop(nodeid, start, proc)
                time.sleep(POLL_S)
        except KeyboardInterrupt:  # pytest got the Ctrl-C too: let it write what it has
            proc.wait()
            raise
        return int(proc.returncode)

    def stop(self, nodeid: str, start: dict[str, Any], proc: subprocess.Popen[bytes]) -> None:
        """A test past the limit: journal it, then SIGABRT (its traceback), then SIGKILL its process."""
        pid = int(start["pid"])
        self.stopped.add(nodeid)
        jr.append(self.journal, {"kind": "timeout", "nodeid": nodeid, "pid": pid, "limit": self.limit})
        print(f"\nisolate: {nodeid} ran past {self.limit:g} s; stopping process {pid}", flush=True)
        for sig in (signal.SIGABRT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.time() + GRACE_S
            while time.time() < deadline and _alive(pid, proc):
                time.sleep(0.1)
            if not _alive(pid, proc):
                return

    def record_death(self, status: int) -> jr.Journal:
        """Journal the test a dead pytest process was running, and any test stopped at the limit not yet on record."""
        journal = jr.read(self.journal)
        pid = self._pid(journal)
        for start in journal.in_flight(pid) if pid is not None and status != 0 else []:
            stopped = journal.timeout_of(start["nodeid"])
            error = timed_out_text(stopped) if stopped else jr.died_of(status)
            output = jr.fault_tail(self.journal, pid)
            jr.append(self.journal, jr.error_record(start["nodeid"], error, output, start, by="isolate"))
            print(f"isolate: {error}: {start['nodeid']}", flush=True)
        journal = jr.read(self.journal)
        for stopped in journal.of("timeout"):
            if stopped["nodeid"] not in journal.errors:
                began = [r for r in journal.of("start") if r["nodeid"] == stopped["nodeid"]]
                output = jr.fault_tail(self.journal, stopped.get("pid"))
                rec = jr.error_record(
                    stopped["nodeid"], timed_out_text(stopped), output, began[-1] if began else None, "isolate"
                )
                jr.append(self.journal, rec)
        return jr.read(self.journal)

    def _pid(self, journal: jr.Journal) -> int | None:
        """The pid of this launch's pytest process: its session's header."""
        headers = journal.headers
        return int(headers[-1]["pid"]) if headers else None

    def finish(self, status: int) -> int:
        """Write the run file from the journal where it must be; print the counts; the exit status."""
        for fault in self.journal.parent.glob(f"{self.journal.name}.fault-*"):  # left empty by a SIGKILL
            if fault.stat().st_size == 0:
                fault.unlink(missing_ok=True)
        journal = jr.read(self.journal)
        errors = journal.errors.values()
        crashed = sum(1 for e in errors if not str(e["error"]).startswith("timed out"))
        timeouts = len(journal.errors) - crashed
        left = journal.unfinished
        whole = self.launches == 1 and not self.resume and not journal.errors and not left
        if not whole or self.check_errors(journal):
            self.write_files(journal)
        done = len(journal.finished) - len(journal.errors)
        print(
            f"isolate: {done} finished, {crashed} crashed, {timeouts} timed out, {len(left)} did not finish "
            f"({self.launches} pytest process(es)); journal {self.journal}",
            flush=True,
        )
        if journal.errors or left:  # the crash's own status (a signal, valgrind's 245) is the crash, on record
            return status if status in NO_RESTART else 1
        return 1 if status < 0 else status

    def check_errors(self, journal: jr.Journal) -> list[dict[str, Any]]:
        """The errors of the ``--checks-from`` file (its checks that crashed): the run file lists them too."""
        source = journal.headers[-1].get("checks_from")
        try:
            return load_check_errors(source) if source else []
        except RunFileError as exc:
            print(f"isolate: {exc}", file=sys.stderr)
            return []

    def write_files(self, journal: jr.Journal) -> None:
        run = option(self.args, "--benchmark-json")
        head = journal.headers[-1]
        if run and any(h.get("machine_info") for h in journal.headers):
            checks: list[dict[str, Any]] = []
            if head.get("checks_from"):
                try:
                    checks = load_checks(head["checks_from"])
                except RunFileError as exc:
                    print(f"isolate: the run file gets no checks: {exc}", file=sys.stderr)
            data = jr.assemble(journal, checks, self.check_errors(journal))
            write_atomic(run, json.dumps(data, indent=4))
            print(f"isolate: wrote {run} from the journal", flush=True)
        checks_json = option(self.args, "--checks-json")
        if checks_json:
            write_atomic(checks_json, json.dumps(jr.checks_data(journal, head.get("machine") or {})))


def timed_out_text(stopped: dict[str, Any]) -> str:
    return jr.timed_out(float(stopped["limit"]))


def _alive(pid: int, proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``pid`` still runs (the pytest process itself, or a worker: not a zombie)."""
    if pid == proc.pid:
        return proc.poll() is None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        supervisor = Supervisor(args, journal_path(args), time_limit(args))
    except IsolateError as exc:
        print(f"error: rnnsuite isolate: {exc}", file=sys.stderr)
        return 4
    try:
        return supervisor.run()
    except KeyboardInterrupt:
        print("isolate: interrupted", file=sys.stderr)
        return 2
    except jr.JournalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
