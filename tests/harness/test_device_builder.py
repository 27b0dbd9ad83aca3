"""A user's builder that takes the device builds there for the benchmarks; one that does not is built on the CPU and
moved; one that is asked for a device and returns a tensor elsewhere fails in one line naming the tensor.

No GPU is needed: PyTorch's ``meta`` device stands for one (tensors with shapes and dtypes, no data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from rnnsuite.cases.api import CaseError, Instance, case, same_as
from rnnsuite.cases.registry import CASES, Case
from rnnsuite.suite.harness.builds import build, build_as_user, built_note


def _lstm_cell(size, gen, dtype, device):  # type: ignore[no-untyped-def]
    model = nn.LSTMCell(size.input_size, size.hidden_size, dtype=dtype, device=device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.empty(p.shape, dtype=torch.float64).uniform_(-0.3, 0.3, generator=gen))
    draw = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)  # noqa: E731
    t, b = size.seq_len, size.batch
    return model, {"x": draw(t, b, size.input_size), "h0": draw(b, size.hidden_size), "c0": draw(b, size.hidden_size)}


def _forward(model, inputs):  # type: ignore[no-untyped-def]
    h, c, outs = inputs["h0"], inputs["c0"], []
    for x_t in inputs["x"]:
        h, c = model(x_t, (h, c))
        outs.append(h)
    return {"output": torch.stack(outs), "h_n": h, "c_n": c}


@pytest.fixture
def declare() -> Iterator[Callable[..., Case]]:
    """``case(...)`` for this test, the case removed from the registry afterwards."""
    names: list[str] = []

    def declare_(name: str, builder: Callable[..., Instance]) -> Case:
        names.append(name)
        return case(name, builder, _forward, same_as=same_as(nn.LSTMCell, lambda p: p))

    yield declare_
    for name in names:
        CASES.pop(name, None)


def test_a_builder_that_takes_the_device_builds_there(declare: Callable[..., Case]) -> None:
    asked: list[str] = []

    def on_device(size, gen, dtype, device="cpu"):  # type: ignore[no-untyped-def]
        asked.append(device)
        model, inputs = _lstm_cell(size, gen, dtype, device)
        return Instance(model, {k: v.to(device) for k, v in inputs.items()})

    c = declare("devbuilt_lstm", on_device)
    size = c.size("tiny")
    assert c.device_builder
    inst = build_as_user(c, size, 0, "meta", torch.float32)
    assert asked == ["meta"]
    assert {p.device.type for p in inst.model.parameters()} == {"meta"}
    assert {v.device.type for v in inst.inputs.values()} == {"meta"}
    assert {p.dtype for p in inst.model.parameters()} == {torch.float32}
    assert built_note(c, "meta", torch.float32) == "constructed in float32 on meta"
    build(c, size, 0)  # the checks' build: float64, on the CPU
    assert asked == ["meta", "cpu"]


def test_a_builder_without_the_device_is_built_on_the_cpu_and_moved(declare: Callable[..., Case]) -> None:
    asked: list[tuple] = []

    def on_cpu(size, gen, dtype):  # type: ignore[no-untyped-def]
        asked.append((size, dtype))
        return Instance(*_lstm_cell(size, gen, dtype, "cpu"))

    c = declare("moved_lstm", on_cpu)
    assert not c.device_builder
    inst = build_as_user(c, c.size("tiny"), 0, "meta", torch.float32)
    assert len(asked) == 1
    assert {p.device.type for p in inst.model.parameters()} == {"meta"}
    assert {v.device.type for v in inst.inputs.values()} == {"meta"}
    assert built_note(c, "meta", torch.float32) == "constructed in float32, moved to meta"
    assert built_note(c, "cpu", torch.float32) == "constructed in float32"


@pytest.mark.parametrize("left", ["input", "parameter"])
def test_a_builder_that_ignores_the_device_fails_in_one_line_naming_the_tensor(
    declare: Callable[..., Case], left: str
) -> None:
    """The defect: a builder that takes ``device`` but leaves one tensor on the CPU."""

    def forgetful(size, gen, dtype, device="cpu"):  # type: ignore[no-untyped-def]
        model, inputs = _lstm_cell(size, gen, dtype, "cpu" if left == "parameter" else device)
        return Instance(model, {k: (v if left == "input" and k == "c0" else v.to(device)) for k, v in inputs.items()})

    c = declare(f"forgetful_{left}_lstm", forgetful)
    with pytest.raises(CaseError) as err:
        build_as_user(c, c.size("tiny"), 0, "meta", torch.float32)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"case 'forgetful_{left}_lstm': the builder was asked for device meta and returned ")
    assert ("input c0 on cpu" if left == "input" else "parameter weight_ih on cpu") in message
    build(c, c.size("tiny"), 0)  # on the CPU it is right
