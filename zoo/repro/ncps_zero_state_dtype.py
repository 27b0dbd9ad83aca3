"""ncps 1.0.1: CfC and LTC without a state make a float32 zero state, whatever the model's dtype.

CfC.forward and LTC.forward make their default state with torch.zeros(..., device=device) and no dtype.
A bfloat16 or float16 CfC then raises in its first matmul; an LTC of those dtypes returns float32 outputs.
Given a state of the model's dtype, both run in that dtype. Exit 0 while the defect is there, 1 once gone.
"""

import sys

import torch
from ncps.torch import LTC, CfC

found = []
for layer in (CfC, LTC):
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        torch.manual_seed(0)
        model = layer(4, 8, batch_first=False).to(dtype)
        x, h0 = torch.randn(5, 2, 4).to(dtype), torch.zeros(2, 8, dtype=dtype)
        given = model(x, h0)[0].dtype  # with a state of the model's dtype
        try:
            result = f"returns {model(x)[0].dtype}"
        except RuntimeError as exc:
            result = f"raises: {str(exc).splitlines()[0]}"
        print(f"{layer.__name__} {dtype}: with a state returns {given}; without one {result}")
        found += [dtype] if "raises" in result or str(dtype) not in result else []
sys.exit(0 if found == [torch.bfloat16, torch.float16] * 2 else 1)
