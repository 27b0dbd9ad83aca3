"""mingru-pytorch 0.2.1: minLSTM's parallel mode treats the initial state as a pre-activation.

The parallel path takes log_g(prev_hidden) where the sequential one uses prev_hidden itself, so the
two modes of one model disagree once a state is given (and agree without one).
Exit 0 while the defect is there (it prints it), 1 once it is gone.
"""

import sys

import torch
from minGRU_pytorch.minLSTM import minLSTM


def sequential(model, x, h):
    steps = []
    for t in range(x.shape[1]):
        h = model(x[:, t : t + 1], h)
        steps.append(h)
    return torch.cat(steps, dim=1)


torch.manual_seed(0)
model = minLSTM(8).double()
x = torch.randn(2, 5, 8, dtype=torch.float64)
h0 = torch.rand(2, 1, 8, dtype=torch.float64) + 0.1  # positive, as the log-space scan needs
with_h0 = (model(x, h0) - sequential(model, x, h0)).abs().max().item()
without = (model(x) - sequential(model, x, None)).abs().max().item()
print(f"minLSTM float64, parallel vs sequential: max |diff| {with_h0:.3g} with h0, {without:.3g} without")
sys.exit(0 if with_h0 > 1e-6 and without < 1e-12 else 1)
