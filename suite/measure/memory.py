"""The process's memory behaviour around timed calls: page faults, the resident-set high-water mark, the allocator.

Page faults come from ``resource.getrusage(RUSAGE_SELF)`` (every thread of the process, OpenMP's
included). The high-water mark is Linux's ``VmHWM`` in ``/proc/self/status``; writing ``5`` to
``/proc/self/clear_refs`` resets it to the current resident set (Linux 4.0+), so that the mark
read after the timed calls is the peak *during* them. Where either file is missing or not
writable (macOS, Windows, a locked-down container) the peak is ``None`` and the note says why.

The allocator is the process's ``malloc``: glibc's unless ``LD_PRELOAD`` names jemalloc or
tcmalloc. glibc returns a freed buffer above its mmap threshold to the kernel at once and trims
the heap's top above twice that threshold; the threshold rises to the size of the largest mmapped
buffer freed so far (up to 32 MiB). So a process's history decides whether a forward's buffers
fault in again on every call (see docs/notes/page-faults.md).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnsuite.vocabulary import ALLOCATORS

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
# Debian's packages (apt-get install libjemalloc2 libtcmalloc-minimal4): the library each preloads.
PRELOADS = {"jemalloc": "libjemalloc.so.2", "tcmalloc": "libtcmalloc_minimal.so.4"}
assert set(ALLOCATORS) == {"glibc", *PRELOADS}, "an allocator of the vocabulary without its library, or the reverse"
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib")
# Just under glibc's largest dynamic mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX, 32 MiB on 64-bit): a freed
# mmapped buffer raises the threshold to its size only up to that maximum (the chunk header counts).
WARM_BYTES = (32 << 20) - (64 << 10)


def faults() -> tuple[int, int]:
    """``(minor, major)`` page faults of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_majflt


def status_field(field: str) -> int | None:
    """The first number of a ``/proc/self/status`` field (``VmHWM`` in KiB, ``Threads``); None where absent."""
    try:
        for line in STATUS.read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak() -> str | None:
    """Reset the resident-set high-water mark; ``None`` on success, else why the peak cannot be measured."""
    try:
        CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError as exc:
        return f"not measured: cannot reset the high-water mark ({CLEAR_REFS}: {exc.strerror or exc})"
    if status_field("VmHWM") is None:
        return f"not measured: no VmHWM in {STATUS}"
    return None


def rss_bytes(field: str = "VmRSS") -> int | None:
    """``VmRSS`` (or another ``Vm*`` field, e.g. ``VmHWM``) in bytes; ``None`` where Linux's status file is absent."""
    kib = status_field(field)
    return None if kib is None else kib * 1024


@dataclass
class Probe:
    """Faults and the resident-set peak over a stretch of calls: ``start()``, the calls, ``stop(calls)``."""

    minor: int = 0
    major: int = 0
    rss_before: int | None = None
    note: str | None = None

    def start(self) -> None:
        """Reset the peak, then read the counters (in this order: the reset itself faults nothing)."""
        self.note = reset_peak()
        self.rss_before = rss_bytes()
        self.minor, self.major = faults()

    def stop(self, calls: int) -> dict[str, Any]:
        """The run-file fields of the calls since ``start`` (docs/run-file.md)."""
        minor, major = faults()
        # A high-water mark is at least every resident size it saw; the kernel's counters behind VmHWM and
        # VmRSS are per-CPU and read approximately (a VmHWM 250 KB under the VmRSS read before it was seen).
        hwm = None if self.note else rss_bytes("VmHWM")
        peak = None if hwm is None else max(hwm, self.rss_before or 0, rss_bytes() or 0)
        return {
            "minor_faults_per_call": (minor - self.minor) / max(calls, 1),
            "major_faults_per_call": (major - self.major) / max(calls, 1),
            "rss_before_bytes": self.rss_before,
            "peak_rss_bytes": peak,
            "peak_rss_note": self.note or "VmHWM during the timed calls (reset through /proc/self/clear_refs)",
        }


def warm_allocator() -> None:
    """Free one buffer of glibc's largest mmap threshold: the state a process is in after any larger computation.

    glibc then keeps up to 32 MiB buffers on its heap and trims it only above 64 MiB, so a
    forward's buffers are reused, not faulted in again; jemalloc and tcmalloc are unaffected.
    """
    buf = bytearray(WARM_BYTES)
    del buf


def allocator() -> str:
    """The allocator this process runs with: the preloaded library mapped into it, else glibc.

    Read from ``/proc/self/maps`` where it exists (a library ``ld.so`` could not preload is not
    there), else from ``LD_PRELOAD``.
    """
    try:
        mapped = Path("/proc/self/maps").read_text(encoding="ascii", errors="replace")
    except OSError:
        mapped = os.environ.get("LD_PRELOAD", "")
    return next((name for name, lib in PRELOADS.items() if f"/{lib.split('.so')[0]}." in mapped), "glibc")


def preload_path(name: str, dirs: tuple[str, ...] | None = None) -> str | None:
    """The library to preload for an allocator (``None`` for glibc).

    Raises:
        FileNotFoundError: one line naming the Debian package to install.
    """
    if name == "glibc":
        return None
    lib = PRELOADS[name]
    for d in dirs or LIB_DIRS:
        if (Path(d) / lib).is_file():
            return str(Path(d) / lib)
    package = {"jemalloc": "libjemalloc2", "tcmalloc": "libtcmalloc-minimal4"}[name]
    raise FileNotFoundError(f"--allocator {name}: {lib} not found; install it with: apt-get install {package}")
