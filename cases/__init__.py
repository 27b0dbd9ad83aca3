"""Declared RNN cases, their NumPy references and the registry (imports register every case)."""

from rnnsuite.cases import chapter, sequence, tagger, variants  # noqa: F401  (registration side effects)
from rnnsuite.cases.registry import CASES, DEFAULT_TOL, DTYPES, Case, Instance, Size, Tol

__all__ = ["CASES", "DEFAULT_TOL", "DTYPES", "Case", "Instance", "Size", "Tol"]
