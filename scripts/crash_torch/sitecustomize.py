"""A torch with a broken kernel, for trying the suite's crash isolation (docs/crashes.md).

Put this folder on PYTHONPATH and set ``RNNSUITE_CRASH_TORCH``; every Python process started then
(pytest, its xdist workers, the cold fork server) patches ``torch.nn.GRU.forward`` when torch is
imported, so that a call with gradients enabled on a batch of 32 (the seed size's batch):

- ``segv``: kills its process with SIGSEGV (a crashing kernel);
- ``hang``: never returns (a deadlocked kernel);
- ``oom``: allocates memory until the allocation fails, under a limit of ``RNNSUITE_CRASH_MEMORY_MB``
  (default 256) MB more than the process holds, set with ``resource.setrlimit(RLIMIT_AS)``;
- ``kill``: kills its process with SIGKILL, as the kernel's out-of-memory killer does;
- ``oom-kill``: moves its process into the memory cgroup ``RNNSUITE_CRASH_CGROUP`` (a folder of a
  cgroup v1 memory hierarchy, e.g. ``/sys/fs/cgroup/memory/NAME``, made with a
  ``memory.limit_in_bytes``: as root) and fills memory until the kernel's out-of-memory killer kills
  it (SIGKILL): a real out-of-memory kill, kept to the cgroup's limit.

``RNNSUITE_CRASH_MODULE`` names another module of ``torch.nn`` (e.g. ``LSTM``) and
``RNNSUITE_CRASH_BATCH`` another batch. Without ``RNNSUITE_CRASH_TORCH`` nothing is patched.

    PYTHONPATH=scripts/crash_torch RNNSUITE_CRASH_TORCH=segv make report \\
        PYTEST_REPORT_ARGS='--size seed --kernel vendor,native -k "(nn_lstm or nn_gru) and float32" --no-cold' REPORT_SELECT=
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import signal
import sys
import time
from typing import Any

MODE = os.environ.get("RNNSUITE_CRASH_TORCH", "")
MODULE = os.environ.get("RNNSUITE_CRASH_MODULE", "GRU")
BATCH = int(os.environ.get("RNNSUITE_CRASH_BATCH", "32"))
TARGET = "torch.nn.modules.rnn"


def _batch(module: Any, inp: Any) -> int | None:
    shape = getattr(inp, "shape", None)
    if shape is None or len(shape) != 3:  # a PackedSequence or an unbatched input
        return None
    return int(shape[0] if module.batch_first else shape[1])


def _misbehave() -> None:
    if MODE == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif MODE == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif MODE == "hang":
        while True:
            time.sleep(3600)
    elif MODE == "oom-kill":
        with open(os.path.join(os.environ["RNNSUITE_CRASH_CGROUP"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
        filled = []
        while True:  # pages written, so charged to the cgroup; the kernel kills at its limit
            filled.append(bytearray(b"\x01") * (16 * 2**20))
    elif MODE == "oom":
        import resource

        held = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = held + int(os.environ.get("RNNSUITE_CRASH_MEMORY_MB", "256")) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        chunks = []
        while True:  # MemoryError at the limit
            chunks.append(bytearray(16 * 2**20))


def _patch(rnn: Any) -> None:
    cls = getattr(rnn, MODULE)
    forward = cls.forward

    def broken(self: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
        import torch

        if torch.is_grad_enabled() and _batch(self, input) == BATCH:
            _misbehave()
        return forward(self, input, *args, **kwargs)

    cls.forward = broken


class _Finder(importlib.abc.MetaPathFinder):
    """Patches torch.nn.modules.rnn right after it is imported (torch is not imported here)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            _patch(module)

        spec.loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


if MODE:
    if MODE not in ("segv", "hang", "oom", "kill", "oom-kill"):
        sys.exit(f"RNNSUITE_CRASH_TORCH={MODE!r}: choose segv, hang, oom, kill or oom-kill")
    if MODE == "oom-kill" and not os.path.isdir(os.environ.get("RNNSUITE_CRASH_CGROUP", "")):
        sys.exit("RNNSUITE_CRASH_TORCH=oom-kill: RNNSUITE_CRASH_CGROUP must name a memory cgroup folder")
    sys.meta_path.insert(0, _Finder())
