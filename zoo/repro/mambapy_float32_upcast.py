"""mambapy 1.2.0: MambaBlock.ssm computes A = -exp(A_log.float()) and D.float(), whatever the model's dtype.

In float64 the block's A and D are rounded to float32 (a change of A_log far below float32's resolution
does not change the output at all), and in bfloat16 and float16 the float32 result meets the model's
out_proj: 'expected m1 and m2 to have the same dtype'. Both scan modes (pscan True and False) do this.
Exit 0 while the defect is there (it prints it), 1 once it is gone.
"""

import sys

import torch
from mambapy.mamba import MambaBlock, MambaConfig

torch.manual_seed(0)
model = MambaBlock(MambaConfig(d_model=8, n_layers=1)).double()
x = torch.randn(2, 16, 8, dtype=torch.float64)
before = model(x)
with torch.no_grad():
    model.A_log.add_(1e-12)  # about 1e-12 relative: float64 resolves it, float32 does not
unchanged = torch.equal(model(x), before)
print(f"float64: output unchanged by a 1e-12 change of A_log: {unchanged}")
raised = 0
for dtype in (torch.bfloat16, torch.float16):
    try:
        model.to(dtype)(x.to(dtype))
    except RuntimeError as exc:
        raised += 1
        print(f"{dtype}: {str(exc).splitlines()[0]}")
sys.exit(0 if unchanged and raised == 2 else 1)
