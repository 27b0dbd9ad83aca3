"""xlstm 2.0.6: sLSTMCell.step returns the state it was given, not the new one.

sLSTMCellBase.step computes the new states (all_states) but returns `output, state`, the argument: a
caller that feeds each step the returned state restarts every step from the first state, so stepping
disagrees with forward over the same sequence from the second step on.
Exit 0 while the defect is there (it prints it), 1 once it is gone.
"""

import sys

import torch
from xlstm.blocks.slstm.cell import sLSTMCell, sLSTMCellConfig

torch.manual_seed(0)
config = sLSTMCellConfig(hidden_size=8, num_heads=2, backend="vanilla", input_shape="SBGNH", output_shape="SBH")
cell = sLSTMCell(config).double()
x = torch.randn(5, 2, 4 * 8, dtype=torch.float64)  # (T, B, 4H): the four gates' pre-activations
whole, _ = cell(x)
state, steps = None, []
for x_t in x.split(1):
    out, new_state = cell.step(x_t, state)
    print(f"step {len(steps)}: the returned state is the one given: {new_state is state}")
    state, steps = new_state, [*steps, out]
gap = (torch.cat(steps) - whole).abs().amax(dim=(1, 2))
print("max |step - forward| by step:", ", ".join(f"{g:.2g}" for g in gap.tolist()))
sys.exit(0 if gap[0] < 1e-12 and gap[1:].min() > 1e-3 else 1)
