"""LSTM variants in the manner of PyTorch's benchmarks/fastrnns, as cases of rnnsuite (see cases.py)."""
