"""A run's machine identity and the store's folder name for it, derived from the run file alone.

The identity is the hardware and build facts that tell machines apart (``identity``); ``machine_id``
makes it a folder name of slugs (``paths.slug``: a fixed alphabet and length, whatever the file holds)
and a digest of the whole identity. It lives with the run file because the store, the merge of shards
and the report's by-machine axis all derive it, and none of them may depend on another.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from rnnsuite.reports.runfile.paths import slug
from rnnsuite.reports.runfile.run import RunFile

MAX_MEMORY = 2**70  # bytes: more is not a machine's memory (and would overflow the GiB's float)


def identity(run: RunFile) -> dict[str, Any]:
    """The hardware a run ran on, as the machine id hashes it.

    Args:
        run: a loaded run file (any schema).

    Returns:
        ``system, arch, cpu_model, cpu_flags, cores, memory_gib, gpu`` (None where the file lacks one).
    """
    info = run.data.get("machine_info", {})
    m = run.machine
    flags = info.get("cpu", {}).get("flags") if isinstance(info.get("cpu"), dict) else None
    memory = m.get("memory_bytes")
    if not isinstance(memory, int) or isinstance(memory, bool) or not 0 <= memory < MAX_MEMORY:
        memory = None
    return {
        "system": info.get("system"),
        "arch": info.get("machine"),
        "cpu_model": m.get("cpu_model"),
        "cpu_flags": _flags(flags) or _flags(m.get("cpu_flags")),
        "cores": m.get("cores"),
        "memory_gib": round(memory / 2**30) if memory is not None else None,
        "gpu": m.get("gpu"),
    }


def _flags(found: Any) -> list[str]:
    """CPU flags, sorted: a list of strings as py-cpuinfo writes it; anything else is no flags."""
    ok = isinstance(found, list) and all(isinstance(f, str) for f in found)
    return sorted(found) if ok else []


def _slug(text: Any, width: int) -> str:
    words = re.sub(r"\((r|tm)\)|processor|cpu", " ", str(text).lower())
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:width].strip("-")


def machine_id(run: RunFile) -> str:
    """The store's folder name for the run's machine (see the module's docstring).

    Args:
        run: a loaded run file.

    Returns:
        e.g. ``Linux-x86_64-amd-epyc-5f2c01d3`` or ``Linux-x86_64-intel-xeon-nvidia-h100-80gb-hbm3-9a1b2c3d``.
    """
    ident = identity(run)
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]
    parts = [slug(ident["system"] or "", 16), slug(ident["arch"] or "", 16), _slug(ident["cpu_model"], 24) or "cpu"]
    if ident["gpu"]:
        parts.append(_slug(ident["gpu"], 24) or "gpu")
    return "-".join([*parts, digest])
