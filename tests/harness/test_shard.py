"""``--shard I/N``: the shards of a selection are disjoint and together are the unsharded selection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.usage import usage_error

ROOT = Path(__file__).resolve().parents[2]
# Both tiers, as make report selects them (-m "correctness or speed"), narrowed to keep four collections short.
SELECTION = [
    "suite/test_speed.py",
    "suite/test_correctness.py",
    "-k",
    "nn_lstm and float32",
    "--kernel",
    "vendor,native",
]


def _collected(*extra: str) -> list[str]:
    """The test ids pytest collects for the selection (a fresh process, as each CI job is)."""
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *SELECTION, *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize("n", [3])
def test_the_union_of_the_shards_is_the_unsharded_selection(n: int) -> None:
    whole = _collected()
    shards = [_collected("--shard", f"{i}/{n}") for i in range(1, n + 1)]
    assert len(whole) > n  # a selection worth splitting
    assert sorted(t for shard in shards for t in shard) == sorted(whole)  # every test once: no loss, no overlap
    assert all(len(shard) >= len(whole) // n for shard in shards)  # and evenly split


@pytest.mark.parametrize("spec", ["4/3", "two/3"])
def test_a_bad_shard_is_a_usage_error(
    spec: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines = usage_error(["suite/test_speed.py", "--collect-only", "--shard", spec], capfd, monkeypatch)
    assert status == 4
    assert len(lines) == 1, lines
    assert "--shard" in lines[0]
