"""xlstm 2.0.6: mLSTM's recurrent step squeezes its inputs in place.

recurrent_step_stabilized_simple calls q.squeeze_(2) (and k, v): autograd refuses it on a time step sliced
from a sequence that requires grad, and on a plain tensor it changes the caller's shape. Exit 0 while shown.
"""

import sys

import torch
from xlstm.blocks.mlstm.backends import recurrent_step_stabilized_simple as step

B, NH, S, DH = 2, 1, 3, 4
q, k, v = (torch.randn(B, NH, S, DH, dtype=torch.float64, requires_grad=True) for _ in range(3))
i, f = (torch.randn(B, NH, S, 1, dtype=torch.float64) for _ in range(2))
c, n, m = (
    torch.zeros(B, NH, DH, DH, dtype=torch.float64),
    torch.zeros(B, NH, DH, 1, dtype=torch.float64),
    torch.zeros(B, NH, 1, 1, dtype=torch.float64),
)
try:
    step(c, n, m, q[:, :, :1], k[:, :, :1], v[:, :, :1], i[:, :, :1], f[:, :, :1])
    refused = False
except RuntimeError as exc:
    refused = "in-place" in str(exc)
    print(f"a time step of a sequence that requires grad: {str(exc).splitlines()[0]}")
plain = torch.randn(B, NH, 1, DH, dtype=torch.float64)
step(c, n, m, plain, plain.clone(), plain.clone(), i[:, :, :1], f[:, :, :1])
print(f"the caller's q after one step: shape {tuple(plain.shape)} (was {(B, NH, 1, DH)})")
sys.exit(0 if refused and plain.dim() == 3 else 1)
