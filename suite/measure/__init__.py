"""Measurement: the block timer, memory and page faults, allocators, cold processes, instruction counts."""
