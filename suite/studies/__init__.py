"""The gate and budget studies: the checks' sensitivity to injected defects, the budgets' margins."""
