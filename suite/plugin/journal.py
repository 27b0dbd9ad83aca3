"""``--journal PATH`` and ``--resume JOURNAL``: every finished record appended as it happens (docs/crashes.md).

The process that runs a test (the pytest process, or an xdist worker) journals its ``start``, the
check, benchmark and peak records it made, and its ``done``; the session's process journals the
``header`` and ``end``. Under xdist the controller also journals the ``error`` of a test whose worker
died (``pytest_handlecrashitem``): the signal, from the worker's exit status, and the last lines of
the fault handler's traceback, which each process writes to its own file beside the journal.
``rnnsuite isolate`` journals the rest: a test it stopped at the time limit, and a test that
took the single pytest process down with it.
"""

from __future__ import annotations

import faulthandler
import os
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from rnnsuite.reports.runfile import journal as jr
from rnnsuite.suite.plugin.check_names import RECORDS_KEY, item_identity
from rnnsuite.suite.plugin.hangs import checks_from_errors, hung_groups, skip_hung
from rnnsuite.suite.plugin.options import OPTIONS_KEY, TIME_LIMIT
from rnnsuite.suite.plugin.parsers import option, shard_text
from rnnsuite.suite.plugin.resume import differs, fingerprint
from rnnsuite.vocabulary import identity

SESSION_ENV = "RNNSUITE_JOURNAL_SESSION"  # the session id, for the workers the session's process starts


def _ident(item: pytest.Item) -> dict[str, Any]:
    """Which check or benchmark a test is, for its ``start`` record (and so its error, if it dies)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    bench = params.get("bench_point")
    if bench is not None:
        fields = bench.identity
        return {"test": "benchmark", **fields, "pass": bench.pass_, "check": None}
    if item.get_closest_marker("correctness") is not None:
        ident, check = item_identity(item)
        return {"test": "check", **ident, "pass": None, "check": check}
    return {"test": "other", **identity(item.name, None, None, None), "pass": None, "check": None}


class JournalPlugin:
    """Writes the journal of one pytest process (registered by ``setup`` where ``--journal``/``--resume`` is given)."""

    def __init__(self, config: pytest.Config, path: Path, resume: bool) -> None:
        self.config = config
        self.path = path
        self.resume = resume
        self.worker = hasattr(config, "workerinput")
        self.controller = not self.worker and config.getoption("dist", "no") != "no"
        self.finished: set[str] = set()
        recs = config.stash.get(RECORDS_KEY, None)  # --checks-from's records are the checks file's, not this run's
        self.checks_seen = len(recs.correctness) if recs is not None else 0
        self.peaks_seen: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.bench: dict[str, Any] | None = None
        self.outcome = "passed"
        self.fault: IO[str] | None = None
        if not self.worker:
            os.environ.setdefault(SESSION_ENV, uuid.uuid4().hex[:12])
        self.session = os.environ.get(SESSION_ENV, "")
        self.hung_errors: list[dict[str, Any]] = checks_from_errors(config)
        # Every error of the journal, as it grows: a hang in another worker, or before this worker replaced
        # one (hangs.py); read from the start, so a replacement worker sees the hang that killed the last.
        self.follower = jr.Follower(path)

    def write(self, record: dict[str, Any]) -> None:
        jr.append(self.path, record)

    # The session's process: the header, or a refusal to resume.
    def start_session(self) -> None:
        from rnnsuite.suite.plugin.machine import describe_machine

        machine = describe_machine()
        mine = fingerprint(self.config, machine)
        if self.resume:
            try:
                old = jr.read(self.path)
            except jr.JournalError as exc:
                raise pytest.UsageError(f"--resume: {exc}") from None
            why = differs(old.fingerprint, mine)  # each part a record (a crafted journal: empty)
            if why:
                raise pytest.UsageError(f"--resume {self.path}: {why}; start a new run without --resume")
            self.finished = old.finished
        if self.worker:
            return
        opts = self.config.stash.get(OPTIONS_KEY, None)
        header: dict[str, Any] = {
            "kind": "header",
            "session": self.session,
            "pid": os.getpid(),
            "t": time.time(),
            "resumed": self.resume,
            "fingerprint": mine,
            "machine": machine,
            "label": getattr(opts, "label", None),
            "allocator": getattr(opts, "allocator", None),
            "metric": getattr(opts, "metric", "time"),
            "shard": shard_text(self.config),
            "checks_from": option(self.config, "checks_from"),
            "time_limit": option(self.config, "time_limit") or TIME_LIMIT,
        }
        if self.config.getoption("benchmark_json", None):
            header |= _benchmark_context(self.config)
        self.write(header)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
        """``--resume``: after every other hook (the shards split the whole selection), drop what finished;
        skip the rest of a (case, device, dtype) where a test hung (suite/plugin/hangs.py)."""
        yield
        if self.resume:
            dropped = [item for item in items if item.nodeid in self.finished]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = [item for item in items if item.nodeid not in self.finished]
        skip_hung(config, items, self._hung(), _ident, say=not self.worker)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.controller and not self.resume:
            self.write({"kind": "collected", "pid": os.getpid(), "nodeids": [i.nodeid for i in session.items]})

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """The fault handler writes to this process's own file (after pytest's own faulthandler set it up)."""
        if self.controller:
            return
        self.fault = open(jr.fault_path(self.path, os.getpid()), "w", encoding="utf-8")
        faulthandler.enable(file=self.fault, all_threads=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
        self.bench, self.outcome = None, "passed"
        skip_hung(self.config, [item], self._hung(), _ident, say=False)  # hung since collection
        self.write(
            {"kind": "start", "nodeid": item.nodeid, "pid": os.getpid(), "t": time.time(), "ident": _ident(item)}
        )
        result = yield
        self._records(item.nodeid)
        self.write({"kind": "done", "nodeid": item.nodeid, "pid": os.getpid(), "outcome": self.outcome})
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed:
            self.outcome = "failed"
        elif report.skipped and self.outcome == "passed":
            self.outcome = "skipped"
        if call.when == "call" and report.passed:
            self.bench = _benchmark_dict(item)
        return report

    def _hung(self) -> dict[tuple[str, str, str], str]:
        """The hung groups so far: the checks file's, and the journal's errors read as it grows."""
        self.hung_errors += [r for r in self.follower.poll() if r.get("kind") == "error"]
        return hung_groups(self.hung_errors)

    def _records(self, nodeid: str) -> None:
        """The check, peak and benchmark records the test made, as the run file will hold them."""
        recs = self.config.stash.get(RECORDS_KEY, None)
        if recs is not None:
            for rec in recs.correctness[self.checks_seen :]:
                self.write({"kind": "check", "nodeid": nodeid, "record": rec})
            self.checks_seen = len(recs.correctness)
            self._peaks(recs.peaks)
        if self.bench is not None:
            self.write({"kind": "benchmark", "nodeid": nodeid, "record": self.bench})

    def _peaks(self, peaks: dict[tuple[str, str], dict[str, Any]]) -> None:
        """Each peak when first measured, and again once measured at the session's end."""
        for key, peak in peaks.items():
            seen = (peak.get("gflops"), peak.get("gflops_end"))
            if self.peaks_seen.get(key) != seen:
                self.peaks_seen[key] = seen
                self.write({"kind": "peak", "record": peak})

    @pytest.hookimpl(trylast=True)
    def pytest_benchmark_update_json(self, config: pytest.Config, benchmarks: Any, output_json: Any) -> None:
        """The peaks measured again at the session's end (suite.plugin.hooks._final_peaks)."""
        recs = config.stash.get(RECORDS_KEY, None)
        if recs is not None:
            self._peaks(recs.peaks)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        """xdist's controller: a worker died while running ``crashitem``; journal why, name it in the report."""
        journal = _read_or_none(self.path)
        start = next((r for r in journal.in_flight() if r["nodeid"] == crashitem), None) if journal else None
        pid = (start or {}).get("pid")
        status = _worker_status(getattr(report, "node", None))
        stopped = journal.timeout_of(crashitem) if journal else None
        error = jr.timed_out(float(stopped["limit"])) if stopped else jr.died_of(status)
        output = jr.fault_tail(self.path, pid)
        if journal is None or crashitem not in journal.errors:
            self.write(jr.error_record(crashitem, error, output, start, by="xdist"))
        report.longrepr = "\n".join([f"{error}: {crashitem}", *output[:10]])

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """The session's end; with ``--checks-json`` the checks file gets every check record of the journal.

        That is every session's, and those of workers that crashed after finishing some checks (their
        ``workeroutput`` never came back), and a record per check that crashed or timed out.
        """
        if self.worker:
            return
        recs = self.config.stash.get(RECORDS_KEY, None)
        journal = _read_or_none(self.path)
        if recs is not None and journal is not None and option(self.config, "checks_json"):
            recs.correctness[:] = jr.correctness(journal)
        self.write({"kind": "end", "session": self.session, "pid": os.getpid(), "status": int(exitstatus)})

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.fault is not None:
            faulthandler.disable()
            self.fault.close()
            path = Path(self.fault.name)
            if path.exists() and path.stat().st_size == 0:
                path.unlink()


def _read_or_none(path: Path) -> jr.Journal | None:
    try:
        return jr.read(path)
    except jr.JournalError:
        return None


def _worker_status(node: Any) -> int | None:
    """A dead xdist worker's exit status (negative: the signal), from execnet's process handle where it has one."""
    io = getattr(getattr(node, "gateway", None), "_io", None)
    wait = getattr(io, "wait", None)
    if wait is None:
        return None
    try:
        status = wait()
    except Exception:
        return None
    return status if isinstance(status, int) else None


def _benchmark_context(config: pytest.Config) -> dict[str, Any]:
    """pytest-benchmark's own top-level fields of the run file, for a run file assembled from the journal."""
    import datetime

    import pytest_benchmark

    machine_info = config.hook.pytest_benchmark_generate_machine_info(config=config)
    config.hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine_info)
    commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
    config.hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    return {
        "machine_info": machine_info,
        "commit_info": commit_info,
        "datetime": datetime.datetime.now(datetime.UTC).isoformat(),
        "version": pytest_benchmark.__version__,
    }


def _benchmark_dict(item: pytest.Item) -> dict[str, Any] | None:
    """The test's benchmark as pytest-benchmark writes it into the run file; None where none was timed."""
    fixture = (getattr(item, "funcargs", None) or {}).get("benchmark")
    stats = getattr(fixture, "stats", None)
    if fixture is None or stats is None or getattr(fixture, "disabled", True) or getattr(fixture, "has_error", False):
        return None
    return stats.as_dict(include_data=True)


def setup(config: pytest.Config) -> None:
    """Register the journal where ``--journal`` or ``--resume`` names one (a bad path: one-line usage error)."""
    path, resume = option(config, "journal"), option(config, "resume")
    if resume and path and Path(path).resolve() != Path(resume).resolve():
        raise pytest.UsageError(
            f"--resume {resume} and --journal {path}: a resumed run appends to the journal it resumes"
        )
    chosen = resume or path
    if not chosen:
        return
    if not resume and not Path(chosen).resolve().parent.is_dir():
        raise pytest.UsageError(f"--journal: no folder for {chosen!r}")
    if resume and not Path(chosen).is_file():
        raise pytest.UsageError(f"--resume: no such journal {chosen!r}")
    plugin = JournalPlugin(config, Path(chosen), bool(resume))
    plugin.start_session()
    config.pluginmanager.register(plugin, "rnnsuite-journal")
