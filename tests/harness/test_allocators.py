"""``--allocator``: one pytest process per allocator, each run file recording its allocator; bad values exit 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnsuite.suite.measure import allocators, memory
from tests.harness.usage import usage_error

ROOT = Path(__file__).resolve().parents[2]


def test_child_args_rename_the_output_files_and_set_allocator_and_label() -> None:
    args = ["suite", "--benchmark-json", "out/run.json", "--allocator=glibc,tcmalloc", "--run-label", "x", "-q"]
    args += ["--checks-json=out/c.json"]
    assert allocators.child_args(args, "tcmalloc", "x") == [
        "suite",
        "--benchmark-json=out/run.tcmalloc.json",
        "-q",
        "--checks-json=out/c.tcmalloc.json",
        "--allocator=tcmalloc",
        "--run-label=x tcmalloc",
    ]


def test_child_env_preloads_one_allocator_and_keeps_other_preloads(tmp_path: Path) -> None:
    env = {"LD_PRELOAD": "/opt/libjemalloc.so.2 /opt/libother.so", "HOME": "/root"}
    assert allocators.child_env("glibc", env) == {"LD_PRELOAD": "/opt/libother.so", "HOME": "/root"}
    assert "LD_PRELOAD" not in allocators.child_env("glibc", {"LD_PRELOAD": "/x/libtcmalloc_minimal.so.4"})


def _pytest(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys, pytest\n{prelude}\nsys.exit(pytest.main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, "-q", "-p", "no:cacheprovider", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # a worker's env writes no JSON
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(
    ("args", "no_libs", "needle"),
    [
        (("--allocator", "mimalloc"), False, "--allocator: unknown value 'mimalloc'"),
        (
            ("--allocator", "glibc,jemalloc"),
            True,
            "--allocator jemalloc: libjemalloc.so.2 not found; install it with: apt-get install libjemalloc2",
        ),
    ],
)
def test_bad_allocator_is_a_one_line_error_exit_4(
    args: tuple[str, ...],
    no_libs: bool,
    needle: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if no_libs:  # as on a machine without the allocator's package
        monkeypatch.setattr(memory, "LIB_DIRS", ("/nonexistent",))
    status, lines = usage_error(["suite/test_registry.py", *args], capfd, monkeypatch)
    assert status == 4, lines
    assert len(lines) == 1, lines
    assert needle in lines[0]
    assert not any("rnnsuite: --allocator" in line for line in lines)  # nothing ran


def test_each_allocator_runs_in_its_own_process_and_records_itself(tmp_path: Path) -> None:
    names = ("glibc", "jemalloc", "tcmalloc")
    for name in names[1:]:
        try:
            memory.preload_path(name)
        except FileNotFoundError as exc:
            pytest.skip(str(exc))
    out = tmp_path / "run.json"
    proc = _pytest(
        "suite/test_speed.py", "--allocator", ",".join(names), "--device", "cpu", "--dtype", "float32",
        "--pass", "fwd", "--size", "seed", "-k", "char_rnn", "--min-time", "0.05", "--no-peak", "--no-cold",
        "--threads", "1", "--benchmark-quiet", f"--benchmark-json={out}", "--run-label", "t",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not out.exists()
    for name in names:
        data = json.loads((tmp_path / f"run.{name}.json").read_text())
        assert data["rnnsuite"]["allocator"] == name
        assert data["rnnsuite"]["label"] == f"t {name}"
        assert data["machine_info"]["rnnsuite"]["allocator"] == name
        (bench,) = data["benchmarks"]
        extra = bench["extra_info"]
        assert extra["allocator"] == name
        assert extra["minor_faults_per_call"] >= 0
        assert extra["peak_rss_bytes"] is None or extra["peak_rss_bytes"] >= extra["rss_before_bytes"] > 0
        assert extra["cold"] is None  # --no-cold
