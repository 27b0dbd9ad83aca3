"""After a hang: the rest of that case on that device and dtype is not run (docs/crashes.md).

A kernel that hung once in a run hangs again on its next call of the same path, and each hang
costs the whole ``--time-limit``. So where a test of case C on device D in dtype T timed out (in
the journal this run resumes, or in the ``--checks-from`` file of the checks phase), the tests of
(C, D, T) still to run are skipped, each with the hung test's name in its reason. A variant of a
fused layer (``nn_gru[bidir]``) counts as its layer (``nn_gru``): it calls the same kernel. A run with
hangs then costs one time limit per hung (case, device, dtype), not one per test; the rest of
the run, and every other case, goes on. Run the skipped tests alone (``-k``) to try them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from rnnsuite.reports.runfile.reader import RunFileError, load_check_errors
from rnnsuite.suite.plugin.parsers import option

TIMED_OUT = "timed out"
Group = tuple[str, str, str]  # case, device, dtype


def layer_of(name: str | None) -> str | None:
    """The case whose fused layer case ``name`` runs: a variant's baseline (``nn_gru`` for ``nn_gru[bidir]``),
    whose kernel it calls; any other case is its own (a hand-written cell runs no fused layer)."""
    from rnnsuite.cases import CASES

    case = CASES.get(name or "")
    return case.baseline if case is not None and case.fused and case.baseline else name


def _group(ident: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return (layer_of(ident.get("case")), ident.get("device"), ident.get("dtype"))


def hung_groups(errors: Iterable[Mapping[str, Any]]) -> dict[Group, str]:
    """(case, device, dtype) -> ``"NODEID (timed out after N s)"`` of the first test that hung there.

    ``errors`` are journal ``error`` records (their identity under ``ident``) or a checks file's
    ``errors`` entries (identity at the top level); only time-outs count, not crashes: a crash
    costs a restart, not a time limit.
    """
    hung: dict[Group, str] = {}
    for err in errors:
        if not str(err.get("error", "")).startswith(TIMED_OUT):
            continue
        group = _group(err.get("ident") or err)
        if all(isinstance(part, str) for part in group):
            hung.setdefault(group, f"{err.get('nodeid')} ({err['error']})")
    return hung


def checks_from_errors(config: pytest.Config) -> list[dict[str, Any]]:
    """The errors of the ``--checks-from`` file (a bad file is reported where the run file gets its checks)."""
    source = option(config, "checks_from", None)
    try:
        return load_check_errors(source) if source else []
    except RunFileError:
        return []


def skip_hung(
    config: pytest.Config, items: list[pytest.Item], hung: Mapping[Group, str], ident_of: Any, say: bool
) -> int:
    """Mark each item of a hung group skipped (``ident_of(item)``: its case, device, dtype); the count.

    With ``say``, one line per hung group on the terminal (the process that reports: not an xdist worker).
    """
    marked: dict[Group, int] = {}
    for item in items:
        ident = ident_of(item)
        group = _group(ident)
        if group in hung:
            case, device, dtype = group
            what = ident.get("case")
            item.add_marker(
                pytest.mark.skip(reason=f"not run: {what} on {device} in {dtype}: {case} hung in {hung[group]}")
            )
            marked[group] = marked.get(group, 0) + 1
    reporter = config.pluginmanager.get_plugin("terminalreporter") if say else None
    for (case, device, dtype), count in marked.items():
        if reporter is not None:
            reporter.write_line(
                f"rnnsuite: {count} test(s) on {device} in {dtype} skipped: {case} hung in {hung[case, device, dtype]}"
            )
    return sum(marked.values())
