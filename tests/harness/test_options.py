"""Bad option values stop pytest with a one-line usage error, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.usage import usage_error, usage_error_in_a_process

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "suite/test_registry.py", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--dtype", "float8"), "--dtype: unknown value 'float8'"),
        (("--device", "tpu"), "--device: unknown value 'tpu'"),
        (("--size", "huge"), "--size: unknown value 'huge'"),
        (("--backend", "jit"), "--backend: unknown value 'jit'"),
        (("--kernel", "fast"), "--kernel: unknown value 'fast'"),
        (("--inject-slowdown", "nope=2"), "--inject-slowdown"),
        (("--threads", "0"), "--threads: must be at least 1, got 0"),
        (("--checks-json", "/nonexistent/dir/c.json"), "--checks-json: no folder"),
        (("--checks-from", "/nonexistent/c.json"), "--checks-from: /nonexistent/c.json: no such file"),
        (("--checks-from", "pyproject.toml"), "--checks-from: pyproject.toml: not valid JSON"),
        (("--checks-from", "docs/runs/h100-torch2.11.json"), "not a checks file of this suite"),
        (("--cold-process", "spawn"), "--cold-process: unknown value 'spawn'"),
        (("--cold-process", "fork,fresh"), "--cold-process: one of fork-then-fresh, fork, fresh"),
        (("--min-rounds", "0"), "--min-rounds: must be at least 1"),
        # The parsers declared with the options (type=): each fed a bad value, stopped while parsing.
        (("--pass", "bwd"), "--pass: unknown value 'bwd'"),
        (("--metric", "cycles"), "--metric: unknown value 'cycles'"),
        (("--metric", "time,instructions"), "--metric: one of time, instructions"),
        (("--threads", "two"), "--threads: expected a whole number, got 'two'"),
        (("--seed", "1.5"), "--seed: expected a whole number, got '1.5'"),
        (("--min-time", "0"), "--min-time: must be a positive number, got '0'"),
        (("--time-limit", "nan"), "--time-limit: must be a positive number, got 'nan'"),
        (("--shard", "3/2"), "--shard 3/2: I must be between 1 and N"),
        (("--shard", "half"), "--shard 'half': expected I/N"),
    ],
)
def test_bad_option_is_a_one_line_usage_error(
    args: tuple[str, ...], needle: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines = usage_error(["suite/test_registry.py", *args], capfd, monkeypatch)
    assert status == 4, lines
    assert len(lines) == 1, lines
    assert needle in lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--seed", "1.5"), "--seed: expected a whole number, got '1.5'"),  # stopped while parsing (type=)
        (("--kernel", "fast"), "--kernel: unknown value 'fast'"),  # stopped while configuring
    ],
)
def test_a_bad_option_in_a_real_process_is_one_line_and_exit_4(args: tuple[str, ...], needle: str) -> None:
    status, lines, stderr = usage_error_in_a_process("suite/test_registry.py", *args)
    assert status == 4, lines
    assert lines == [f"ERROR: {needle}"] or (len(lines) == 1 and needle in lines[0])
    assert "Traceback" not in stderr


def test_narrowing_options_select_the_matrix() -> None:
    proc = _pytest("--collect-only", "suite/test_correctness.py", "--device", "cpu", "--dtype", "float32")
    ids = [line for line in proc.stdout.splitlines() if "::test_forward[" in line]
    assert ids
    assert all(line.endswith(("-cpu-float32]", "-cpu-float32-native]")) for line in ids), proc.stdout[-2000:]


def test_the_typed_options_reach_the_run_as_values() -> None:
    """A good value of each option typed where it is declared is parsed once: the run sees it typed."""
    proc = _pytest("--collect-only", "suite/test_correctness.py", "--device", "cpu", "--dtype", "float32",
                   "--size", "seed", "--threads", "1", "--shard", "1/1", "--metric", "time")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_size_chapter_names_the_seed_preset_and_seed_is_a_noted_alias(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--size chapter is the chapter's sizes (the preset whose ids keep "seed"); the old word reads the same,
    with one note on stderr, once; another word is one usage line naming the new ones."""
    from rnnsuite.suite.plugin.parsers import size_list

    monkeypatch.delenv("RNNSUITE_SIZE_NOTE_GIVEN", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert size_list("chapter,deepbench") == ("seed", "deepbench")
    assert capsys.readouterr().err == ""
    assert size_list("seed") == ("seed",)
    assert size_list("seed,sweep") == ("seed", "sweep")
    assert capsys.readouterr().err == "note: --size seed is deprecated: it is --size chapter (one release)\n"
    with pytest.raises(pytest.UsageError, match="choose from chapter, deepbench, sweep"):
        size_list("huge")
