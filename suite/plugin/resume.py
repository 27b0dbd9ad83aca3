"""What ``--resume JOURNAL`` checks: a resumed run shares the torch build, the machine and the options
of the run it resumes (the journal's header keeps its fingerprint)."""

from __future__ import annotations

import hashlib
import platform
from typing import Any

import pytest

from rnnsuite.suite.plugin.options import RESUME_DESTS
from rnnsuite.suite.plugin.parsers import option, shard_text


def fingerprint(config: pytest.Config, machine: dict[str, Any]) -> dict[str, Any]:
    """What a resumed run must share with the run it resumes: the torch build, the machine, the options."""
    config_text = str(machine.get("torch_config") or "")
    torch_build = {
        "torch": machine.get("torch"),
        "torch_git": machine.get("torch_git"),
        "torch_config": hashlib.sha256(config_text.encode()).hexdigest()[:16],
        "cuda": machine.get("cuda"),
    }
    host = {"node": platform.node(), "cpu_model": machine.get("cpu_model"), "cores": machine.get("cores")}
    # The typed options as the command line wrote them (comma lists, I/N), as journals have always held them.
    options = {dest: ",".join(v) if isinstance(v := option(config, dest), tuple) else v for dest in RESUME_DESTS}
    options["shard"] = shard_text(config)
    options |= {"-k": config.getoption("keyword"), "-m": config.getoption("markexpr"), "args": list(config.args)}
    return {"torch build": torch_build, "machine": host, "options": options}


def differs(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first difference of two fingerprints, as ``what (name: old vs new)``; None when they agree."""
    for what in ("torch build", "machine", "options"):
        a, b = old.get(what, {}), new.get(what, {})
        for name in sorted(set(a) | set(b), key=str):
            if a.get(name) != b.get(name):
                label = f"--{name.replace('_', '-')}" if what == "options" and name in RESUME_DESTS else name
                verb = "differ" if what == "options" else "differs"
                return f"the {what} {verb} ({label}: {a.get(name)!r} then, {b.get(name)!r} now)"
    return None
