"""The harness: points of the matrix, their builds and references, the value checks and their budgets, kernels."""
