"""Expected values of the built-in layers and cells and their variants: a case's named parameters and
inputs handed to the one NumPy layer reference (:mod:`cases.reference_layers`) and its answer named
back. A cell is a one-layer, one-direction layer with states ``(1, B, H)``.
"""

from __future__ import annotations

import numpy as np

from rnnsuite.cases.layers import Variant
from rnnsuite.cases.reference_layers import LayerSpec, layers_backward, layers_forward
from rnnsuite.cases.registry import Arrays


def _time_major(v: Variant, inputs: Arrays) -> tuple[np.ndarray, np.ndarray | None]:
    x = inputs["x"]
    return (x.transpose(1, 0, 2) if v.batch_first else x), inputs.get("lengths")


def _initial(v: Variant, family: str, params: Arrays, inputs: Arrays) -> tuple[np.ndarray, ...]:
    if v.h0:
        return tuple(inputs[k] for k in ("h0", "c0") if k in inputs)
    spec_like = {"h0": params["weight_hh_l0"].shape[1], "c0": params["weight_ih_l0"].shape[0] // 4}
    n = sum(1 for k in params if k.startswith("weight_ih_l"))  # layers x directions
    b = inputs["x"].shape[0 if v.batch_first else 1]
    names = ("h0", "c0") if family == "lstm" else ("h0",)
    return tuple(np.zeros((n, b, spec_like[k])) for k in names)


def _spec_of(v: Variant, family: str, params: Arrays) -> LayerSpec:
    directions = 2 if v.options.get("bidirectional") else 1
    layers = sum(1 for k in params if k.startswith("weight_ih_l")) // directions
    proj = params["weight_hr_l0"].shape[0] if "weight_hr_l0" in params else 0
    return LayerSpec(
        family=family,
        num_layers=layers,
        bidirectional=directions == 2,
        nonlinearity=str(v.options.get("nonlinearity", "tanh")),
        proj_size=proj,
    )


def layer_reference(v: Variant, family: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """Expected outputs of a layer variant."""
    x, lengths = _time_major(v, inputs)
    out, final, _ = layers_forward(_spec_of(v, family, params), params, x, _initial(v, family, params, inputs), lengths)
    out = out.transpose(1, 0, 2) if v.batch_first else out
    return {"output": out} | {f"{s}_n": f for s, f in zip(("h", "c"), final, strict=False)}


def layer_reference_grad(v: Variant, family: str, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """Gradients of ``sum(output * cot)`` of a layer variant, by parameter and input name."""
    spec, (x, lengths) = _spec_of(v, family, params), _time_major(v, inputs)
    _, _, caches = layers_forward(spec, params, x, _initial(v, family, params, inputs), lengths)
    d_out = cot["output"].transpose(1, 0, 2) if v.batch_first else cot["output"]
    names = ("h", "c") if family == "lstm" else ("h",)
    g = layers_backward(spec, params, caches, lengths, d_out, tuple(cot[f"{s}_n"] for s in names))
    d_states = g.pop("state0")
    dx = g.pop("input")
    g["x"] = dx.transpose(1, 0, 2) if v.batch_first else dx
    if v.h0:
        g |= {f"{s}0": d for s, d in zip(names, d_states, strict=True)}
    return g


def _as_layer(params: Arrays) -> dict[str, np.ndarray]:
    return {f"{k}_l0": v for k, v in params.items()}


def _cell_as_layer_inputs(inputs: Arrays) -> dict[str, np.ndarray]:
    return {k: (v if k == "x" else v[None]) for k, v in inputs.items()}


def cell_reference(v: Variant, family: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """Expected outputs of a cell variant: a one-layer layer with the cell's weights."""
    out = layer_reference(v, family, _as_layer(params), _cell_as_layer_inputs(inputs))
    return {k: (a if k == "output" else a[0]) for k, a in out.items()}


def cell_reference_grad(v: Variant, family: str, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """Gradients of a cell variant, by the cell's parameter names and input names."""
    cot_l = {k: (a if k == "output" else a[None]) for k, a in cot.items()}
    g = layer_reference_grad(v, family, _as_layer(params), _cell_as_layer_inputs(inputs), cot_l)
    return {k: g[f"{k}_l0"] for k in params} | {k: (g[k] if k == "x" else g[k][0]) for k in inputs}
