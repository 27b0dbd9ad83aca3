"""Progress of a long run: what pytest's dots do not say (how long the rest will take)."""

from __future__ import annotations

import time
from typing import Any

import pytest


class Progress:
    """A line every ``EVERY_S`` seconds of a long run: tests done of all, time so far and an estimate of what is left.

    The estimate is the mean time per finished test times the tests left: rough while the slow
    tests (cold benchmarks, the half types) are unevenly spread, but it tells minutes from seconds.
    Registered by ``pytest_configure`` in the process that reports (never in an xdist worker).
    """

    EVERY_S = 30.0

    def __init__(self, config: pytest.Config) -> None:
        self.config, self.total, self.done = config, 0, 0
        self.start = self.last = time.monotonic()

    def tick(self, now: float) -> str | None:
        """Count one finished test; the line to print, when one is due."""
        self.done += 1
        if now - self.last < self.EVERY_S or not self.total:
            return None
        self.last = now
        spent = now - self.start
        left = spent / self.done * max(self.total - self.done, 0)
        return f"progress: {self.done}/{self.total} tests done, {_clock(spent)} so far, about {_clock(left)} left"

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = self.total or len(session.items)
        self.start = self.last = time.monotonic()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist's controller collects nothing itself: the total is a worker's collection."""
        self.total = len(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        line = self.tick(time.monotonic())
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if line and reporter is not None:
            if reporter._tw.width_of_current_line:  # after pytest's dots (-q): a line of its own
                reporter.write("\n")
            reporter.write_line(line)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
