"""The memory probe: page faults and the resident peak it reports, the warm state, the allocator it names."""

from __future__ import annotations

import mmap
import subprocess
import sys
from pathlib import Path

import pytest

from rnnsuite.suite.measure import memory

ROOT = Path(__file__).resolve().parents[2]
PAGE = mmap.PAGESIZE
linux_only = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc/self/status (not Linux)")


def _touch_pages(pages: int) -> mmap.mmap:
    """A fresh anonymous mapping with one byte written per page: ``pages`` minor faults, ``pages`` pages resident."""
    buf = mmap.mmap(-1, pages * PAGE)
    for i in range(pages):
        buf[i * PAGE] = 1
    return buf


@linux_only
def test_probe_counts_the_faults_and_the_peak_of_the_calls() -> None:
    pages, calls = 2048, 4  # 8 MiB per call
    probe = memory.Probe()
    probe.start()
    for _ in range(calls):
        _touch_pages(pages).close()
    rec = probe.stop(calls)
    assert pages * 0.95 <= rec["minor_faults_per_call"] <= pages * 1.3, rec
    assert rec["major_faults_per_call"] >= 0
    if rec["peak_rss_bytes"] is not None:  # clear_refs writable: the peak is the largest call's pages
        assert rec["peak_rss_bytes"] - rec["rss_before_bytes"] >= 0.9 * pages * PAGE, rec


@linux_only
def test_a_call_that_faults_nothing_reads_zero() -> None:
    buf = _touch_pages(256)  # faulted in before the probe starts
    probe = memory.Probe()
    probe.start()
    for _ in range(10):
        buf[0] = 2
    assert probe.stop(10)["minor_faults_per_call"] < 1.0


def test_a_high_water_mark_read_under_the_resident_size_is_the_resident_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's counters are read approximately: a VmHWM seen 250 KB under the VmRSS read before it (a
    real run's figures) is no peak under the start; the peak is the larger."""
    monkeypatch.setattr(memory, "reset_peak", lambda: None)
    reads = {"VmRSS": [418447360, 418000000], "VmHWM": [418193408]}
    monkeypatch.setattr(memory, "rss_bytes", lambda field="VmRSS": reads[field].pop(0))
    probe = memory.Probe()
    probe.start()
    rec = probe.stop(1)
    assert rec["rss_before_bytes"] == 418447360
    assert rec["peak_rss_bytes"] == 418447360


def test_peak_unavailable_is_none_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "absent" / "clear_refs")
    probe = memory.Probe()
    probe.start()
    rec = probe.stop(1)
    assert rec["peak_rss_bytes"] is None
    assert rec["peak_rss_note"].startswith("not measured: cannot reset the high-water mark")


CHURN = """
import sys
import numpy as np
from rnnsuite.suite.measure.memory import faults, warm_allocator
if sys.argv[1] == "warm":
    warm_allocator()
def step():  # four 3 MiB buffers alive at once, written, then freed: a small forward's workspace
    bufs = [np.ones(3 << 18, dtype=np.float32) for _ in range(4)]
    return sum(float(b[0]) for b in bufs)
step()
before = faults()[0]
for _ in range(10):
    step()
print((faults()[0] - before) / 10)
"""


@linux_only
def test_warm_allocator_stops_glibc_returning_a_calls_buffers() -> None:
    """Cold, glibc trims the freed 12 MiB and faults all 3,072 pages in again on every step; warm, none."""
    if memory.allocator() != "glibc":
        pytest.skip("the suite runs under a preloaded allocator; this is glibc's behaviour")

    def churn(state: str) -> float:
        proc = subprocess.run(
            [sys.executable, "-c", CHURN, state], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return float(proc.stdout.split()[-1])

    pages = 4 * (3 << 20) // PAGE
    assert churn("cold") >= 0.5 * pages
    assert churn("warm") < 0.05 * pages


def test_preload_path_names_the_package_when_the_library_is_absent(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"apt-get install libtcmalloc-minimal4$"):
        memory.preload_path("tcmalloc", (str(tmp_path),))
    (tmp_path / "libjemalloc.so.2").write_bytes(b"")
    assert memory.preload_path("jemalloc", (str(tmp_path),)) == str(tmp_path / "libjemalloc.so.2")
    assert memory.preload_path("glibc", (str(tmp_path),)) is None


@linux_only
@pytest.mark.parametrize("name", ["jemalloc", "tcmalloc"])
def test_allocator_names_the_preloaded_library(name: str) -> None:
    try:
        lib = memory.preload_path(name)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    code = "from suite.measure.memory import allocator; print(allocator())"
    env = {"LD_PRELOAD": str(lib), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert proc.stdout.split()[-1] == name
    plain = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env={})
    assert plain.stdout.split()[-1] == "glibc"
