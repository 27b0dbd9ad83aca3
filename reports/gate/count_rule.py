"""The gate on instruction counts (``--metric instructions``): the count ratio against a threshold from A/A spread."""

from __future__ import annotations

# The smallest change of instructions per call that counts. Study 3 of the gate counted the same
# benchmark in independent processes (other hash seeds and memory layouts): a process's layout can
# offset all its repeats together, which more repeats do not remove, and small backward passes
# move between repeats within a process. 3% is about twice the largest difference seen, and half
# of the smallest injected change (2% more of nn.LSTM's sequence, which costs more than 2% of its
# instructions: each extra forward pays the call's fixed cost). The rule: docs/gate.md; the
# figures: docs/notes/gate.md.
COUNT_THRESHOLD = 0.03


def count_verdict(
    base: float, cand: float, spread: tuple[float, float], thr: float, max_spread: float | None = None
) -> tuple[str, str]:
    """One counted benchmark's verdict.

    Args:
        base: instructions per call of the base.
        cand: the same of the candidate.
        spread: the spread over repeats within each process, (base, cand).
        thr: the relative threshold (0.01 = 1%).
        max_spread: spread over repeats within a process above which the count is not settled
            (default ``thr``: a count that moves by the threshold within one process cannot be
            judged against it).

    Returns:
        ``(verdict, reason)``; the reason states what was tested.
    """
    max_spread = thr if max_spread is None else max_spread
    unsettled = [f"{side} {v:.2%}" for side, v in zip(("base", "cand"), spread, strict=True) if v > max_spread]
    if unsettled:
        return (
            "inconclusive",
            f"counts spread over repeats within a process ({', '.join(unsettled)} > {max_spread:.1%})",
        )
    change = cand / base - 1
    tested = f"instructions per call {change:+.2%}"
    if cand > base * (1 + thr):
        return "slower", f"{tested}, beyond the {thr:.1%} count threshold"
    if cand < base / (1 + thr):
        return "faster", f"{tested}, beyond the {thr:.1%} count threshold"
    return "unchanged", f"{tested}, within the {thr:.1%} count threshold"


def fmt_count(value: float) -> str:
    """An instruction count with a unit (``105.3M instr``)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.4g}{unit} instr"
    return f"{value:.0f} instr"
