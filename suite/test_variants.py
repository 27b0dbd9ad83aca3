"""What the variants promise beyond matching the reference: exact zeros of packed batches, dropout, kernels."""

from __future__ import annotations

import copy

import pytest
import torch

from rnnsuite.cases import CASES
from rnnsuite.cases.sizes import TIER
from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.kernels import kernel_flags, kernel_label, kernel_ops
from rnnsuite.suite.harness.points import Point

pytestmark = pytest.mark.correctness

PACKED = [name for name in CASES if "[packed" in name]
DROPOUT = [name for name in CASES if name.endswith("[dropout]")]


def _padding_mask(lengths: torch.Tensor, steps: int, batch_first: bool) -> torch.Tensor:
    """True at the padded steps, shaped like the output's first two axes."""
    pad = torch.arange(steps)[:, None] >= lengths[None, :]  # (T, B)
    return pad.T if batch_first else pad


@pytest.mark.check("packed_padding_is_exactly_zero")
@pytest.mark.parametrize("kernel", ["vendor", "native"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("name", PACKED)
def test_packed_padding_is_exactly_zero(name: str, dtype: torch.dtype, kernel: str) -> None:
    """After pad_packed_sequence the padding is 0.0, and the input's padded steps get a gradient of exactly 0.0."""
    case = CASES[name]
    inst = build(case, TIER, 0, "cpu", dtype)
    x = inst.inputs["x"].requires_grad_(True)
    batch_first = x.shape[0] == TIER.batch
    with kernel_flags(kernel):
        out = case.forward(inst.model, inst.inputs)
        torch.autograd.backward(list(out.values()), [torch.randn_like(v) for v in out.values()])
    pad = _padding_mask(inst.inputs["lengths"], TIER.seq_len, batch_first)
    assert pad.any()
    assert (~pad).any()
    assert torch.count_nonzero(out["output"][pad]) == 0, f"{name}: non-zero output in the padding"
    assert x.grad is not None
    assert torch.count_nonzero(x.grad[pad]) == 0, f"{name}: gradient reaches the padded steps"
    assert torch.count_nonzero(x.grad[~pad]) > 0


@pytest.mark.check("padding_check_catches_a_leak")
def test_padding_check_catches_a_leak() -> None:
    """The padding check fails where padded steps are run as if valid (lengths all T)."""
    case = CASES["nn_lstm[packed_sorted]"]
    inst = build(case, TIER, 0, "cpu", torch.float64)
    lengths = inst.inputs["lengths"]
    inst.inputs["lengths"] = torch.full_like(lengths, TIER.seq_len)
    out = case.forward(inst.model, inst.inputs)
    pad = _padding_mask(lengths, TIER.seq_len, False)
    assert torch.count_nonzero(out["output"][pad]) > 0


@pytest.mark.check("dropout_in_train_differs_and_is_reproducible")
@pytest.mark.parametrize("name", DROPOUT)
def test_dropout_in_train_differs_and_is_reproducible(name: str) -> None:
    """eval() equals the layer without dropout bit for bit; train() differs from it and repeats under one seed."""
    case = CASES[name]
    inst = build(case, TIER, 0, "cpu", torch.float32)
    plain = copy.deepcopy(inst.model)
    setattr(plain, "dropout", 0.0)  # noqa: B010 (a float attribute of nn.LSTM, not a Module)
    with torch.no_grad():
        evaluated = case.forward(inst.model, inst.inputs)["output"]
        assert torch.equal(evaluated, case.forward(plain, inst.inputs)["output"]), f"{name}: eval() is not dropout-free"
        inst.model.train()
        runs = []
        for _ in range(2):
            torch.manual_seed(123)
            runs.append(case.forward(inst.model, inst.inputs)["output"])
        torch.manual_seed(124)
        other = case.forward(inst.model, inst.inputs)["output"]
    assert not torch.equal(runs[0], evaluated), f"{name}: dropout changed nothing in train()"
    assert torch.equal(runs[0], runs[1]), f"{name}: train() not reproducible under a fixed seed"
    assert not torch.equal(runs[0], other), f"{name}: another seed gave the same dropout mask"


@pytest.mark.check("noncontiguous_equals_contiguous")
@pytest.mark.parametrize("name", [n for n in CASES if n.endswith("[noncontig]")])
def test_noncontiguous_equals_contiguous(name: str) -> None:
    """A transposed view of the input gives the same values as the contiguous input."""
    case = CASES[name]
    plain = CASES[name.removesuffix("[noncontig]")]
    inst = build(case, TIER, 0, "cpu", torch.float32)
    with torch.no_grad():
        a = case.forward(inst.model, inst.inputs)
        b = plain.forward(inst.model, inst.inputs)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1.3e-6, atol=1e-5)


@pytest.mark.check("kernel_flag_switches_the_lstm_path")
@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch has no oneDNN")
def test_kernel_flag_switches_the_lstm_path() -> None:
    """nn.LSTM in float32 runs oneDNN's mkldnn_rnn_layer with the vendor kernel and not with the native one."""
    case = CASES["nn_lstm"]
    inst = build(case, TIER, 0, "cpu", torch.float32)

    def call() -> object:
        with torch.no_grad():
            return case.forward(inst.model, inst.inputs)

    with kernel_flags("vendor"):
        vendor = kernel_ops(call)
    with kernel_flags("native"):
        native = kernel_ops(call)
    assert vendor.get("mkldnn_rnn_layer") == TIER.num_layers, vendor
    assert "mkldnn_rnn_layer" not in native, native
    assert native.get("addmm", 0) >= TIER.seq_len, native
    assert kernel_label(vendor).startswith("mkldnn_rnn_layer")
    assert kernel_label(native).startswith("native")
    assert torch.backends.mkldnn.enabled  # restored


@pytest.mark.check("the_fast_op_names_are_the_profilers_events")
def test_the_fast_op_names_are_the_profilers_events() -> None:
    """``op_names`` reads the profiler's raw events (``prof.events()`` costs seconds on a long backward pass):
    the same counts of every op ``kernel_ops`` reports as the profiler's own event list, for a forward and
    backward of nn.GRU on each kernel."""
    from collections import Counter

    from torch.profiler import ProfilerActivity, profile

    from rnnsuite.suite.harness.kernels import KERNEL_OPS, op_names

    case = CASES["nn_gru"]
    inst = build(case, TIER, 0, "cpu", torch.float32)
    for kernel in ("vendor", "native"):
        with kernel_flags(kernel), profile(activities=[ProfilerActivity.CPU]) as prof:
            outputs = list(case.forward(inst.model, inst.inputs).values())
            torch.autograd.backward(outputs, [torch.ones_like(o) for o in outputs])
        fast, slow = Counter(op_names(prof)), Counter(e.name for e in prof.events())
        assert {op: fast[f"aten::{op}"] for op in KERNEL_OPS} == {op: slow[f"aten::{op}"] for op in KERNEL_OPS}
        assert fast["aten::gru"] == 1
    assert fast["aten::addmm"] >= TIER.seq_len  # the native loop


@pytest.mark.check("kernel_flags_refuse_an_unknown_kernel")
def test_kernel_flags_refuse_an_unknown_kernel() -> None:
    with pytest.raises(ValueError, match="unknown kernel"), kernel_flags("fast"):
        pass


@pytest.mark.check("a_matrix_point_runs_under_its_kernel")
@pytest.mark.cases("nn_lstm")
def test_a_matrix_point_runs_under_its_kernel(point: Point) -> None:
    """A ``-native`` point runs with oneDNN and cuDNN off, a vendor point with torch's default."""
    native = point.kernel == "native"
    assert torch.backends.mkldnn.enabled is not native, point.id
    assert native or torch.backends.mkldnn.enabled == torch.backends.mkldnn.is_available()
