"""lab/fidelity.py --fresh: the verdict that names the state, and the keys it covers."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.harness import lab


@pytest.fixture(scope="module")
def fidelity() -> ModuleType:
    return lab("fidelity")


@pytest.mark.parametrize(
    ("warm", "cold", "noise", "expected"),
    [
        (1.04, 1.30, 0.0, "holds (warm)"),
        (0.764, 1.022, 0.0, "state: the warm process differs"),  # nn_lstm T25 B16 here
        (0.94, 0.94, 0.0, "differs in both states"),  # 6% off both ways
        (0.94, 0.94, 0.25, "inconclusive: the rounds spread 25%"),
    ],
)
def test_verdict(fidelity: ModuleType, warm: float, cold: float, noise: float, expected: str) -> None:
    assert fidelity.verdict(warm, cold, 1.0, noise).startswith(expected)


def test_spread_is_iqr_over_median(fidelity: ModuleType) -> None:
    assert fidelity.spread([1.0, 1.0, 1.0, 1.0, 1.0]) == 0.0
    assert fidelity.spread([4.68, 2.14, 4.81, 1.98, 2.45]) > 0.5  # the noisy Timer rounds of nn_gru T1 here


def test_deepbench_keys_are_the_layers_forwards(fidelity: ModuleType) -> None:
    keys = fidelity.deepbench_keys()
    assert len(keys) == 5  # LSTM B16 and B64, GRU T1 and T25, RNN T50
    assert all(
        k.split("-")[0] in ("nn_lstm", "nn_gru", "nn_rnn") and "-cpu-float32-fwd-eager-deepbench-" in k for k in keys
    )
