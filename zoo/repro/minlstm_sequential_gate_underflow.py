"""mingru-pytorch 0.2.1: minLSTM's sequential step is NaN in float16 once both gates' pre-activations are below -17.

The step normalises the gates as f / (f + i) with f = sigmoid(f_pre), i = sigmoid(i_pre): in float16 both
sigmoids underflow to 0 (below about -17) and 0 / 0 is NaN. The parallel path takes the same ratio in log
space (softplus) and stays finite, as does the step in float64. Exit 0 while the defect is there, 1 once gone.
"""

import sys

import torch
from minGRU_pytorch.minLSTM import minLSTM

model = minLSTM(4).double()
with torch.no_grad():  # rows: hidden, f gate, i gate; x = (1, 0, 0, 0): hidden pre-activation 1, both gates -20
    weight = model.to_hidden_and_f_i_gate.weight
    weight.zero_()
    weight[:4, 0], weight[4:, 0] = 1.0, -20.0
x = torch.zeros(1, 1, 4, dtype=torch.float64)
x[..., 0] = 1.0
h0 = torch.full((1, 1, 4), 0.5, dtype=torch.float64)
step64 = model(x, h0)  # f' = i' = 1/2: (0.5 + g(1)) / 2 = 1.0
step16 = model.half()(x.half(), h0.half())
print(f"minLSTM step, both gates at -20: float64 {step64[0, 0, 0].item():.4g}, float16 {step16[0, 0, 0].item()}")
sys.exit(0 if step64.isfinite().all() and step16.isnan().any() else 1)
