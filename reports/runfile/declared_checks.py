"""The check names of the run file's correctness records, declared once.

A record's ``check`` names what was checked; stored runs are compared by ``(key, check)``, so a
name is part of the format. Each correctness test under suite/ claims its name with
``@pytest.mark.check(NAME)`` (and ``also=(...)`` for other names it records, as the forward check
records ``golden``); the name is never derived from the test's function name, so renaming a test
renames nothing. tests/harness/test_check_names.py checks that the names the tests claim are
exactly the ones declared here, and that no two tests claim one name for the same case: a new,
changed or dropped name needs an entry here (and ``RENAMED`` keeps an old name readable).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# name: what the check is. Every name since schema 1 unless said.
CHECK_NAMES: dict[str, str] = {
    "forward": "outputs against the NumPy reference, norm-wise budget",
    "golden": "outputs against the chapter's printed values",
    "edge_saturated": "outputs with the inputs and states scaled until gates saturate, against the reference",
    "edge_long": "outputs of one sequence of 1,000 steps at a small width, against the reference",
    "backward": "gradients against the NumPy reference's backward, norm-wise budget",
    "determinism": "two forwards of one model give the same bits",
    "gradcheck": "torch.autograd.gradcheck in float64",
    "forward_compile": "the torch.compile'd model's outputs against the reference",
    "backward_compile": "the torch.compile'd model's gradients against the reference",
    "autocast_forward": "outputs under torch.autocast against the reference",
    "autocast_backward": "gradients under torch.autocast against the reference",
    "autocast_check_catches_a_wrong_reference": "the autocast check fails on a wrong reference",
    "equivalence": "a hand-written cell or cell loop equals the built-in layer, step by step",
    "seed_cells_are_not_lstm_or_gru": "the chapter's own cells differ from nn.LSTMCell / nn.GRUCell",
    "seed_lstm_is_an_lstm_with_tied_gates": "the chapter's LSTM cell is an LSTM with tied gates",
    "seed_gru_is_not_even_a_tied_gru": "the chapter's GRU cell is not a GRU with tied gates",
    "chapter_printed_shapes": "the chapter's printed shapes",
    "char_rnn_outputs_are_log_probabilities": "the character RNN's outputs are log-probabilities",
    "tagger_training": "the chapter's tagger learns both sentences",
    "state_isolation": "the tagger's state does not leak between sentences",
    "chapter_style_state_would_leak": "the chapter's way of keeping state would leak (the check has teeth)",
    "reference_fd": "a NumPy reference's backward against finite differences (key CASE-cpu-float64)",
    "reference_nontrivial": "a NumPy reference's outputs and gradients are not trivial",
    "chapter_loop_prints_the_chapter_numbers": "the chapter's loop prints the chapter's numbers",
    "generic_rnn_reference_agrees_with_the_chapter_loop": "the generic RNN reference equals the chapter's loop",
    "suite_catches_broken_implementation": "a broken implementation fails the forward or backward check",
    "default_tolerances_start_from_assert_close": "the default tolerances start from torch.testing.assert_close's",
    "bad_input_raises_the_documented_error": "a bad input raises the error the module documents",
    "a_missing_error_is_a_failure": "a bad input that raises no error is a failure",
    "packed_padding_is_exactly_zero": "a packed sequence's padded outputs are exactly zero",
    "padding_check_catches_a_leak": "the padding check fails on a leak",
    "dropout_in_train_differs_and_is_reproducible": "dropout in training mode differs from eval and repeats under a seed",
    "noncontiguous_equals_contiguous": "a non-contiguous input gives the contiguous input's outputs",
    "kernel_flag_switches_the_lstm_path": "--kernel native switches nn.LSTM off oneDNN",
    "the_fast_op_names_are_the_profilers_events": "the kernel record's op names are the profiler's",
    "kernel_flags_refuse_an_unknown_kernel": "an unknown kernel is refused",
    "a_matrix_point_runs_under_its_kernel": "each matrix test runs under its point's kernel",
}

# Old name -> new name, for a check renamed after runs were stored (none yet).
RENAMED: dict[str, str] = {}


@dataclass(frozen=True)
class Claim:
    """A test's claim on check names: ``cases`` None means every case."""

    test: str
    names: tuple[str, ...]
    cases: frozenset[str] | None


def problems(claims: Iterable[Claim], declared: Iterable[str] = CHECK_NAMES) -> list[str]:
    """What is wrong with a set of claims, one line each (empty: nothing).

    - a name claimed but not declared (a new or changed name without its entry);
    - a name declared but claimed by no test (a dropped or renamed name left behind);
    - two tests claiming one name for one case (or one of them for every case).
    """
    claims, known = list(claims), set(declared)
    found = []
    claimed = {n for c in claims for n in c.names}
    found += [
        f"check name {n!r} ({', '.join(c.test for c in claims if n in c.names)}) is not declared"
        for n in sorted(claimed - known)
    ]
    found += [f"declared check name {n!r} is claimed by no test" for n in sorted(known - claimed)]
    for i, a in enumerate(claims):
        for b in claims[i + 1 :]:
            for n in sorted(set(a.names) & set(b.names)):
                if a.cases is None or b.cases is None or a.cases & b.cases:
                    found.append(f"check name {n!r} is claimed by both {a.test} and {b.test}")
    return found
