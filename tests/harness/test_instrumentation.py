"""Counted processes start uninstrumented: callgrind_control switches instrumentation on, or the run says it could not."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports import gate
from rnnsuite.reports.output import page
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.suite.measure import callgrind, counting
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]
# The largest difference between independent counts of one benchmark in the count study
# (docs/notes/gate.md, study 3): nn_gru forward, 1.41% between two processes of one suite.ab run.
LARGEST_AA = 0.0141
VALGRIND = shutil.which("valgrind")
CONTROL = shutil.which("callgrind_control")


# ---- the command and the process's own view


def test_the_command_starts_uninstrumented_where_callgrind_control_can_switch_it_on() -> None:
    switched = callgrind.callgrind_argv("/usr/bin/valgrind", "/tmp/d", ["/py", "-m", "pytest"])
    full = callgrind.callgrind_argv("/usr/bin/valgrind", "/tmp/d", ["/py", "-m", "pytest"], switched=False)
    assert "--instr-atstart=no" in switched
    assert "--vgdb=yes" in switched  # callgrind_control reaches the process through valgrind's gdbserver
    assert not any(a.startswith(("--instr-atstart", "--vgdb")) for a in full)
    for argv in (switched, full):
        assert argv[:2] == ["/usr/bin/valgrind", "--tool=callgrind"]
        assert "--collect-atstart=no" in argv
        assert "--callgrind-out-file=/tmp/d/callgrind.out.%p" in argv
        assert argv[-3:] == ["/py", "-m", "pytest"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({callgrind.DUMP_DIR_ENV: "/tmp/d", callgrind.CONTROL_ENV: "/usr/bin/callgrind_control"}, callgrind.SWITCHED),
        ({callgrind.DUMP_DIR_ENV: "/tmp/d", callgrind.CONTROL_ENV: ""}, callgrind.FULL),
    ],
)
def test_a_process_knows_how_it_is_instrumented(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None
) -> None:
    for name in (callgrind.DUMP_DIR_ENV, callgrind.CONTROL_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert callgrind.instrumentation() == expected


def test_the_report_header_says_when_counting_was_instrumented_from_the_start(tmp_path: Path) -> None:
    data = syn.run([syn.bench("nn_lstm", samples=[0.2])])
    data["rnnsuite"]["metric"] = "instructions"
    data["machine_info"]["rnnsuite"] |= {"valgrind": "3.19.0", "instrumentation": callgrind.FULL}
    full = load_run(syn.write(tmp_path / "full.json", data))
    data["machine_info"]["rnnsuite"]["instrumentation"] = callgrind.SWITCHED
    switched = load_run(syn.write(tmp_path / "switched.json", data))
    assert page._metric(full) == "instructions (callgrind, valgrind 3.19.0, instrumented from the start)"
    assert page._metric(switched) == "instructions (callgrind, valgrind 3.19.0)"


# ---- switching on, with a fake callgrind_control and a fake counter


def fake_control(tmp_path: Path, body: str) -> str:
    """An executable ``callgrind_control`` that runs ``body`` (sh) and logs each call's arguments."""
    path = tmp_path / "callgrind_control"
    path.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\n{body}\n', encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


class Probe:
    """``toggle`` and ``dump`` of a process whose instrumentation is on once ``switched()`` says so."""

    def __init__(self, switched: Callable[[], bool]) -> None:
        self.switched, self.dumps = switched, 0

    def toggle(self) -> None:
        pass

    def dump(self) -> int:
        self.dumps += 1
        return 150_000 if self.switched() else 0  # uninstrumented, callgrind counts nothing


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process not yet switched on."""
    monkeypatch.setattr(callgrind, "_instrumented", False)
    monkeypatch.setattr(callgrind, "_spin", lambda seconds: None)


@pytest.mark.usefixtures("fresh")
def test_instrument_switches_on_once_and_checks_it_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = fake_control(tmp_path, f'touch {tmp_path}/on; echo "  OK."')
    monkeypatch.setenv(callgrind.CONTROL_ENV, control)
    probe = Probe(lambda: (tmp_path / "on").exists())
    callgrind.instrument(probe.toggle, probe.dump)
    callgrind.instrument(probe.toggle, probe.dump)  # the second benchmark of the process
    assert (tmp_path / "calls").read_text().split() == ["--instr=on", str(os.getpid())]
    assert probe.dumps == 1
    callgrind.uninstrument()  # every benchmark counted: the rest of the run needs no instrumentation
    callgrind.uninstrument()
    assert (tmp_path / "calls").read_text().splitlines()[1:] == [f"--instr=off {os.getpid()}"]


@pytest.mark.usefixtures("fresh")
def test_a_failed_switch_off_is_only_slower(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(callgrind.CONTROL_ENV, fake_control(tmp_path, "exit 1"))
    monkeypatch.setattr(callgrind, "_instrumented", True)
    callgrind.uninstrument()  # no error: the counts are taken
    assert (tmp_path / "calls").read_text().split() == ["--instr=off", str(os.getpid())]


@pytest.mark.usefixtures("fresh")
def test_a_switch_that_never_takes_effect_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """callgrind_control prints OK. whatever happened: only the probe's count tells."""
    monkeypatch.setenv(callgrind.CONTROL_ENV, fake_control(tmp_path, 'echo "  OK."'))
    probe = Probe(lambda: False)
    with pytest.raises(counting.CountError) as err:
        callgrind.instrument(probe.toggle, probe.dump)
    assert "did not switch callgrind's instrumentation on" in str(err.value)
    assert "counted 0 instructions" in str(err.value)
    assert "\n" not in str(err.value)
    assert probe.dumps == callgrind.PROBE_TRIES


@pytest.mark.usefixtures("fresh")
def test_a_late_switch_is_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(callgrind.CONTROL_ENV, fake_control(tmp_path, 'echo "  OK."'))
    probe = Probe(lambda: probe.dumps >= 3)  # on from the third probe
    callgrind.instrument(probe.toggle, probe.dump)
    assert probe.dumps == 3


@pytest.mark.usefixtures("fresh")
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("echo \"Error: Callgrind task with PID/name '1' not detected.\"; echo 'See -h'", "not detected"),
        ("echo 'vgdb: broken' >&2; exit 3", "failed with exit code 3: vgdb: broken"),
    ],
)
def test_a_failing_callgrind_control_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, needle: str
) -> None:
    monkeypatch.setenv(callgrind.CONTROL_ENV, fake_control(tmp_path, body))
    probe = Probe(lambda: False)
    with pytest.raises(counting.CountError, match=needle) as err:
        callgrind.instrument(probe.toggle, probe.dump)
    assert "\n" not in str(err.value)


def test_a_hanging_callgrind_control_is_stopped(tmp_path: Path) -> None:
    control = fake_control(tmp_path, "exec sleep 600")
    with pytest.raises(counting.CountError, match="did not answer in 1 s"):
        callgrind.switch(control, os.getpid(), "on", timeout=1.0)


def test_a_missing_callgrind_control_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(counting.CountError, match="does not run"):
        callgrind.switch(str(tmp_path / "nowhere"), os.getpid(), "on")


def test_a_process_instrumented_from_the_start_is_not_switched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    monkeypatch.setenv(callgrind.CONTROL_ENV, "")
    probe = Probe(lambda: True)
    callgrind.instrument(probe.toggle, probe.dump)
    assert probe.dumps == 0


# ---- the real thing (valgrind present): switched on against instrumented from the start

STUDY = ("-k", "nn_lstm-cpu or nn_gru-cpu", "--device", "cpu", "--dtype", "float32", "--pass", "fwd", "--size", "seed")


def tool_dir(path: Path, tools: tuple[str, ...]) -> Path:
    """A folder that holds these tools only (a PATH without the rest).

    Each is a script that execs the real one: Debian's valgrind is itself a script that runs
    ``$0.bin``, which a link would send to the wrong folder.
    """
    path.mkdir()
    for name in tools:
        tool = path / name
        tool.write_text(f'#!/bin/sh\nexec {shutil.which(name)} "$@"\n', encoding="utf-8")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return path


def counted_run(json_path: Path, path_dir: Path, *args: str) -> subprocess.Popen[str]:
    """A counted benchmark run (as suite.ab starts a side) with ``PATH=path_dir`` and a fixed hash seed."""
    cmd = [sys.executable, "-m", "pytest", "suite/test_speed.py", "--benchmark-only", "-q", "-p", "no:cacheprovider",
           f"--benchmark-json={json_path}", "--metric", "instructions", "--no-peak", *args]  # fmt: skip
    env = dict(os.environ, PATH=str(path_dir), PYTHONHASHSEED="1")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc: subprocess.Popen[str]) -> tuple[int, str]:
    # The limit only guards against a hang: a count of two benchmarks instrumented from the start
    # took about 2 minutes here on a loaded machine.
    out, _ = proc.communicate(timeout=3600)
    return proc.returncode, out


def real_runs_only(request: pytest.FixtureRequest) -> None:
    if VALGRIND is None or CONTROL is None:
        pytest.skip("valgrind (with callgrind_control) not installed: apt-get install valgrind")
    if request.config.getoption("benchmark_skip", False):
        pytest.skip("a run under valgrind takes minutes: not part of the correctness tier")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest-benchmark disables itself in a child of an xdist worker
        pytest.skip("run it without -n: pytest tests/harness/test_instrumentation.py -k real")


@pytest.fixture(scope="module")
def real_pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The study's two benchmarks counted twice at once: switched on after the build, and from the start."""
    real_runs_only(request)
    tmp = tmp_path_factory.mktemp("real")
    # Both PATHs hold valgrind and have the same length (the environment's size moves the stack).
    dirs = {
        callgrind.SWITCHED: tool_dir(tmp / "with", ("valgrind", "git", "callgrind_control")),
        callgrind.FULL: tool_dir(tmp / "none", ("valgrind", "git")),
    }
    procs = {how: counted_run(tmp / f"{how}.json", d, *STUDY) for how, d in dirs.items()}
    done = {how: finished(proc) for how, proc in procs.items()}
    for how, (code, out) in done.items():
        assert code == 0, f"{how}: {out[-3000:]}"
    return {how: {"out": done[how][1], "path": tmp / f"{how}.json"} for how in procs}


@pytest.mark.slow
def test_real_switched_counts_equal_full_instrumentation(real_pair: dict[str, Any]) -> None:
    full, switched = (load_run(real_pair[how]["path"]) for how in (callgrind.FULL, callgrind.SWITCHED))
    assert len(full.benchmarks) == len(switched.benchmarks) == 2  # nn_lstm and nn_gru forward
    result = gate.compare_runs(full, switched)
    for row in result.rows:
        assert abs(row.ratio - 1) <= LARGEST_AA, f"{row.key}: {row.ratio:.5f} ({row.reason})"
        assert row.verdict == "unchanged", row.reason
    assert result.exit_code == 0


@pytest.mark.slow
def test_real_fallback_says_so_in_the_run_file(real_pair: dict[str, Any]) -> None:
    for how in (callgrind.SWITCHED, callgrind.FULL):
        data = json.loads(real_pair[how]["path"].read_text(encoding="utf-8"))
        assert data["machine_info"]["rnnsuite"]["instrumentation"] == how
    note = "callgrind_control (it ships with valgrind) is not on PATH"
    assert note in real_pair[callgrind.FULL]["out"]
    assert note not in real_pair[callgrind.SWITCHED]["out"]


@pytest.mark.slow
def test_real_switch_that_does_nothing_stops_the_run_in_one_line(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A callgrind_control that answers OK. and switches nothing: the real probe counts 0, the run stops."""
    real_runs_only(request)
    tools = tool_dir(tmp_path / "tools", ("valgrind", "git"))
    fake_control(tools, 'echo "  OK."')
    code, out = finished(counted_run(tmp_path / "run.json", tools, *STUDY))
    errors = [line for line in out.splitlines() if "did not switch callgrind's instrumentation on" in line]
    assert code == pytest.ExitCode.USAGE_ERROR, out[-3000:]
    assert len(errors) == 1, out[-3000:]
    assert "counted 0 instructions" in errors[0]
    assert "Traceback" not in out
