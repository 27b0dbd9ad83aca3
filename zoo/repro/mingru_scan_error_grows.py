"""mingru-pytorch 0.2.1: minGRU's parallel (log-space) scan loses precision with position.

Against h_t = (1 - z_t) h_{t-1} + z_t g(htilde_t) stepped in float64, the parallel scan's bfloat16 error grows
with t (exp of differences of ever larger cumulative sums); the sequential mode's stays flat. Exit 0 while shown.
"""

import sys

import torch
from minGRU_pytorch import minGRU

torch.manual_seed(0)
T, dtype, model = 1000, torch.bfloat16, minGRU(16).double()
x = torch.randn(4, T, 16, dtype=torch.float64)
hidden, gate = (x @ model.to_hidden_and_gate.weight.T).chunk(2, dim=-1)
z, g = gate.sigmoid(), torch.where(hidden >= 0, hidden + 0.5, hidden.sigmoid())
h, ref, steps, low, xl = torch.zeros(4, 16, dtype=torch.float64), [], [], model.to(dtype), x.to(dtype)
for t in range(T):
    h = (1 - z[:, t]) * h + z[:, t] * g[:, t]
    ref.append(h)
    steps.append(low(xl[:, t : t + 1], steps[-1] if steps else None))
ref, outs = torch.stack(ref, 1), {"parallel": low(xl), "sequential": torch.cat(steps, 1)}
err = {m: (o.double() - ref).abs().amax(dim=(0, 2)) / ref.abs().amax() for m, o in outs.items()}
for m, e in err.items():
    print(
        f"{dtype} {m:<10} relative error at t=1, 10, 100, 1000:",
        ", ".join(f"{e[t - 1]:.2g}" for t in (1, 10, 100, 1000)),
    )
par, seq = err["parallel"], err["sequential"]
sys.exit(0 if par[-100:].max() > 20 * par[:10].max() and par[-1] > 10 * seq[-1] else 1)
