"""The report's sections, each written by the module of its job (time, correctness, memory, modes, ...)."""
