"""The machine description of the run file (``machine_info.rnnsuite``): versions and hardware facts."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np
import torch

from rnnsuite import __version__
from rnnsuite.reports.runfile.record import checked
from rnnsuite.reports.runfile.schema import Machine
from rnnsuite.suite.measure.memory import allocator


def describe_machine(valgrind: str | None = None, instrumentation: str | None = None) -> dict[str, Any]:
    """Versions and hardware facts for the run file (``machine_info.rnnsuite``).

    Args:
        valgrind: valgrind's version in a counted run (``--metric instructions``).
        instrumentation: how that run's process was instrumented (``suite.measure.callgrind.instrumentation``).
    """
    cfg = torch.__config__.show()
    onednn = next((line.split("v", 1)[1].split()[0] for line in cfg.splitlines() if "MKL-DNN v" in line), None)
    blas = next((line.split("BLAS_INFO=")[1].split(",")[0] for line in cfg.splitlines() if "BLAS_INFO=" in line), None)
    cuda = torch.cuda.is_available()
    machine = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "blas": blas,
        "onednn": onednn,
        "numpy": np.__version__,
        "tf32": False,
        "allocator": allocator(),
        "valgrind": valgrind,
        "cpu_flags": _cpu_flags(),
        "memory_bytes": _memory_bytes(),
        "gpu_driver": _gpu_driver() if cuda else None,
        "torch_git": getattr(torch.version, "git_version", None),
        "torch_config": cfg,
        "python": platform.python_version(),
        "instrumentation": instrumentation,
        "rnnsuite": __version__,
    }
    return checked(Machine, machine, "machine_info.rnnsuite")


def _cpuinfo_field(name: str) -> str | None:
    """The first value of ``name`` in /proc/cpuinfo (None where there is no such file or field)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    """The CPU's feature flags, sorted (x86 ``flags``, Arm ``Features``); empty where not readable."""
    return sorted(set((_cpuinfo_field("flags") or _cpuinfo_field("Features") or "").split()))


def _memory_bytes() -> int | None:
    """Total memory from /proc/meminfo (kB there), or None."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gpu_driver() -> str | None:
    """The NVIDIA kernel module's version (/proc/driver/nvidia/version), else nvidia-smi's, else None."""
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8") as fh:
            head = fh.readline()
        if "Kernel Module" in head:
            return head.split("Kernel Module", 1)[1].split()[0]
    except (OSError, IndexError):
        pass
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else None
