"""A GRU written by hand, one weight matrix per gate (the kind of model rnnsuite checks)."""

from my_rnn.model import GateGRU

__all__ = ["GateGRU"]
