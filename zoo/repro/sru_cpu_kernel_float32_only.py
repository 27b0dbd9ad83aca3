"""sru 2.6.0: the CPU kernel of the no-grad path takes float32 only.

Under torch.no_grad() an SRU layer on the CPU runs its compiled kernel (torch.ops.sru_cpu), which raises
for float64, bfloat16 and float16; with gradients on, the same layer runs its Python loop in every dtype.
Exit 0 while the defect is there (it prints it), 1 once it is gone.
"""

import sys
import warnings

import torch

warnings.simplefilter("ignore")  # sru warns at import without CUDA, and for a CPU forward with grad
from sru import SRU  # noqa: E402  (compiles its CPU kernel at the first import: about a minute)

raised = []
for dtype in (torch.float64, torch.float32, torch.bfloat16, torch.float16):
    torch.manual_seed(0)
    model, x = SRU(8, 8, num_layers=1).to(dtype), torch.randn(5, 2, 8).to(dtype)
    grad_path = model(x)[0]  # the autograd path: a Python loop
    try:
        with torch.no_grad():
            model(x)
    except RuntimeError as exc:  # raised inside TorchScript; the cause is on a later line
        raised.append(dtype)
        cause = next((ln for ln in str(exc).splitlines() if "expected" in ln.lower()), str(exc).splitlines()[-1])
        print(f"{dtype}: the no-grad path raises: {cause.strip()[:120]}")
    else:
        print(f"{dtype}: the no-grad path runs (grad path shape {tuple(grad_path.shape)})")
sys.exit(0 if raised == [torch.float64, torch.bfloat16, torch.float16] else 1)
