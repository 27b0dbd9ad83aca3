"""The studies: the checks' sensitivity to injected defects, the budgets' margins, and the fault injection of the gate studies."""
