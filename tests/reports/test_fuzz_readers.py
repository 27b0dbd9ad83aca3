"""Every reader of the suite's files against hostile input (Hypothesis): any bytes give a result or one line, exit 2.

The readers: a run file (``load_run``, then the store, merge and the pandas table), a checks file, a journal
(``rnnsuite journal``, and what ``--resume`` reads of it) and a store's ``machine.json``. Inputs: arbitrary
bytes, valid files truncated or with bytes replaced, and valid files with one to three fields replaced by a
hostile value (wrong types, huge numbers, NaN, paths, markup, deep nesting) or removed, with duplicate keys
and non-UTF-8 bytes spliced in. "A result" is the reader's own (a ``RunFile``, a list, a ``Journal``) or its
one-line error; anything else (a traceback, a second line, a half-written output) fails.

The profile is derandomized and has no example database, so ``make test`` runs the same examples each time.
``pytest tests/reports/test_fuzz_readers.py --hypothesis-show-statistics`` prints how many each ran.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnsuite.reports.output import build, table
from rnnsuite.reports.runfile import journal as jr
from rnnsuite.reports.runfile.paths import inside
from rnnsuite.reports.runfile.reader import load_check_errors, load_checks, load_run
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runfile.schema import SCHEMA
from rnnsuite.reports.runs import journal_command, merge, store
from tests import synthetic_runs as syn

# Examples per property (the budget of make test: all of them together in about 20 s on two cores).
EXAMPLES = {"bytes": 300, "run": 300, "report": 12, "checks": 200, "journal": 250, "machine": 150}


def fuzz(kind: str) -> settings:
    return settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# ------------------------------------------------------------------------------------------------ inputs

HOSTILE_TEXT = (
    "../../escaped", "/etc/passwd", "C:\\Windows", "..", ".", "", " ", "\x00", "a\nb", "\r\n", "\x1b[31m",
    "<script>alert(1)</script>", "NaN", "-1", "1e999", "\ud800", "\u202e", "💥" * 3, "x" * 5000,
)  # fmt: skip
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**300, -(10**300)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(), st.text(max_size=4), st.floats()), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.integers(min_value=10, max_value=60).map(lambda n: json.loads("[" * n + "]" * n)),
)
SPLICES = (b'"a":1,"a":2,', b"\\ud800", b"{" * 40, b"\x00", b"NaN", b"1" * 5000, b"\n", b"\xff\xfe")


def _paths(data: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key and index path of a JSON value (where a hostile value can go)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*at, k)
            yield from _paths(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*at, i)
            yield from _paths(v, (*at, i))


def _mutated(data: Any, changes: list[tuple[tuple[Any, ...], Any, bool]]) -> Any:
    """``data`` with each path set to its hostile value, or removed."""
    out = copy.deepcopy(data)
    for path, value, remove in changes:
        parent = out
        try:
            for step in path[:-1]:
                parent = parent[step]
            if remove and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change replaced a container on the path
            continue
    return out


def hostile_docs(valid: Any) -> st.SearchStrategy[Any]:
    """A valid document with one to three fields made hostile (or removed)."""
    change = st.tuples(st.sampled_from(list(_paths(valid))), HOSTILE, st.booleans())
    return st.lists(change, min_size=1, max_size=3).map(lambda cs: _mutated(valid, cs))


def mutations(valid: Any) -> st.SearchStrategy[bytes]:
    """A hostile document as bytes; sometimes with bytes spliced in (a key twice, a lone surrogate, ...)."""
    doc = hostile_docs(valid).map(lambda d: json.dumps(d).encode())
    spliced = st.tuples(doc, st.sampled_from(SPLICES), st.floats(0, 1)).map(
        lambda t: t[0][: int(len(t[0]) * t[2])] + t[1] + t[0][int(len(t[0]) * t[2]) :]
    )
    return st.one_of(doc, doc, doc, spliced)


def damaged(raw: bytes) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, the valid file truncated, or one of its bytes replaced."""
    cut = st.integers(0, len(raw)).map(lambda n: raw[:n])
    flip = st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)).map(
        lambda t: raw[: t[0]] + bytes([t[1]]) + raw[t[0] + 1 :]
    )
    return st.one_of(st.binary(max_size=400), cut, flip)


def _valid_run(label: str = "fuzz", case: str = "nn_lstm") -> dict[str, Any]:
    benches = [syn.bench(case, samples=[1e-3, 1.1e-3, 0.9e-3]), syn.bench(case, samples=[2e-3] * 3, pass_="fwd_bwd")]
    checks = [syn.correctness(case, sample={"output": [0.5, 0.25]}), syn.correctness(case, check="backward")]
    data = syn.run(benches, checks, label=label)
    data["machine_info"] |= {"system": "Linux", "machine": "x86_64", "cpu": {"flags": ["avx2", "fma"]}}
    data["rnnsuite"]["errors"] = [
        {"nodeid": "t::x", "test": "check", "key": "k", "case": case, "device": "cpu", "dtype": "float32",
         "pass": None, "check": "forward", "error": "crashed (SIGSEGV)", "output": ["Fatal Python error"]},
    ]  # fmt: skip
    return data


VALID_RUN = _valid_run()
VALID_CHECKS = {
    "schema": SCHEMA,
    "label": "fuzz",
    "machine": VALID_RUN["machine_info"]["rnnsuite"],
    "correctness": VALID_RUN["rnnsuite"]["correctness"],
    "errors": VALID_RUN["rnnsuite"]["errors"],
}


# ------------------------------------------------------------------------------------------------ outcomes


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        yield Path(tmp)


def one_line_error(exc: Exception) -> None:
    assert "\n" not in str(exc), str(exc)


def one_line(main: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str]:
    """A command's ``main`` run here: its exit status and its stderr, which must be one line where it fails."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    text = err.getvalue()
    assert code in (0, 2), f"exit {code}: {text}"
    if code == 2:
        assert text.startswith("error: "), text
        assert text.count("\n") == 1, text
    return code, text


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def run_file_holds(raw: bytes) -> None:
    """The run file's readers on ``raw``: load, the pandas table, store add and merge; a result or one line."""
    with folder() as tmp:
        path = tmp / "run.json"
        path.write_bytes(raw)
        try:
            run = load_run(path)
        except RunFileError as exc:
            one_line_error(exc)
            run = None
        if run is not None:
            table.tidy([run])
        before = files(tmp)
        code, _ = one_line(store.main, ["add", str(tmp / "store"), str(path)])
        stored = files(tmp) - before
        assert (code == 0) == (run is not None)
        if code == 2:
            assert not [p for p in stored if p.endswith(".json")], stored  # nothing half-written
        else:
            assert all(inside(tmp / "store", tmp / p) for p in stored)
        code, _ = one_line(merge.main, [str(tmp / "merged.json"), str(path)])
        assert (tmp / "merged.json").exists() == (code == 0)


# ------------------------------------------------------------------------------------------------ run files


@fuzz("bytes")
@given(damaged(json.dumps(VALID_RUN).encode()))
def test_any_bytes_give_a_run_file_or_one_line(raw: bytes) -> None:
    run_file_holds(raw)


@fuzz("run")
@given(mutations(VALID_RUN))
def test_a_run_file_with_hostile_fields_gives_a_run_file_or_one_line(raw: bytes) -> None:
    run_file_holds(raw)


@fuzz("report")
@given(mutations(VALID_RUN))
def test_the_report_of_a_run_file_with_hostile_fields_is_built_or_one_line(raw: bytes) -> None:
    """The whole report (pandas, the charts, the page): fewer examples, each takes about half a second."""
    with folder() as tmp:
        (tmp / "run.json").write_bytes(raw)
        code, _ = one_line(build.main, [str(tmp / "run.json"), str(tmp / "run.json"), "--out", str(tmp / "out")])
        assert (tmp / "out" / "report.html").exists() == (code == 0)


def test_the_valid_run_file_is_read_and_stored() -> None:
    """The fuzzers' starting point is valid: what they refuse is the damage they did."""
    with folder() as tmp:
        path = syn.write(tmp / "run.json", VALID_RUN)
        assert len(load_run(path).benchmarks) == 2
        assert one_line(store.main, ["add", str(tmp / "store"), str(path)])[0] == 0


# ------------------------------------------------------------------------------------------------ checks files


@fuzz("checks")
@given(st.one_of(mutations(VALID_CHECKS), damaged(json.dumps(VALID_CHECKS).encode())))
def test_a_checks_file_gives_its_records_or_one_line(raw: bytes) -> None:
    with folder() as tmp:
        path = tmp / "checks.json"
        path.write_bytes(raw)
        try:
            checks, errors = load_checks(path), load_check_errors(path)
        except RunFileError as exc:
            one_line_error(exc)
            return
        assert all(isinstance(c, dict) for c in [*checks, *errors])


# ------------------------------------------------------------------------------------------------ journals

NODE = "suite/test_speed.py::test_speed[nn_lstm-cpu-float32-fwd]"


def _valid_journal() -> list[dict[str, Any]]:
    bench = VALID_RUN["benchmarks"][0]
    fingerprint = {"torch build": {"torch": "2.13.0"}, "machine": {"node": "n"}, "options": {"-k": None}}
    header = {"kind": "header", "session": "s1", "pid": 1, "t": 0.0, "label": "fuzz", "metric": "time"}
    header |= {"allocator": "glibc", "shard": None, "checks_from": None, "fingerprint": fingerprint}
    header |= {"machine_info": VALID_RUN["machine_info"], "commit_info": VALID_RUN["commit_info"]}
    header |= {"machine": VALID_RUN["machine_info"]["rnnsuite"], "datetime": "2026-11-26T00:00:00"}
    ident = {"test": "check", "key": "k", "case": "nn_lstm", "device": "cpu", "dtype": "float32", "check": "forward"}
    return [
        header,
        {"kind": "collected", "pid": 1, "nodeids": [NODE, "t::x", "t::y"]},
        {"kind": "start", "nodeid": NODE, "pid": 1, "t": 1.0, "ident": {"test": "benchmark"}},
        {"kind": "check", "nodeid": NODE, "record": VALID_RUN["rnnsuite"]["correctness"][0]},
        {"kind": "peak", "record": VALID_RUN["rnnsuite"]["peaks"][0]},
        {"kind": "benchmark", "nodeid": NODE, "record": bench},
        {"kind": "done", "nodeid": NODE, "pid": 1, "outcome": "passed"},
        {"kind": "start", "nodeid": "t::x", "pid": 2, "t": 2.0, "ident": ident},
        {"kind": "timeout", "nodeid": "t::x", "limit": 600.0},
        {"kind": "error", "nodeid": "t::x", "error": "timed out after 600 s", "output": ["x"], "ident": ident},
        {"kind": "end", "session": "s1", "pid": 1, "status": 1},
    ]


VALID_JOURNAL = _valid_journal()


def journal_lines() -> st.SearchStrategy[bytes]:
    """The valid journal with records made hostile, lines of junk, a torn last line."""
    records = hostile_docs(VALID_JOURNAL).map(lambda recs: [json.dumps(r).encode() for r in recs])
    junk = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(SPLICES)), max_size=3)
    return st.tuples(records, junk, st.integers(0, 12), st.booleans()).map(
        lambda t: b"\n".join([*t[0][: t[2]], *t[1], *t[0][t[2] :]]) + (b"\n" if t[3] else b"")
    )


@fuzz("journal")
@given(st.one_of(journal_lines(), st.binary(max_size=300)))
def test_a_journal_gives_a_run_file_or_one_line(raw: bytes) -> None:
    with folder() as tmp:
        path = tmp / "run.journal.jsonl"
        path.write_bytes(raw)
        try:
            journal = jr.read(path)
        except jr.JournalError as exc:
            one_line_error(exc)
            journal = None
        if journal is not None:  # what --resume and isolate read of it
            assert isinstance(journal.fingerprint, dict)
            journal.finished, journal.unfinished, journal.errors, journal.in_flight(), journal.ended
            journal.timeout_of(NODE)
        code, _ = one_line(journal_command.main, [str(path), "--out", str(tmp / "run.json")])
        assert (tmp / "run.json").exists() == (code == 0)
        if code == 0:
            load_run(tmp / "run.json")  # what it wrote reads back


# ------------------------------------------------------------------------------------------------ machine.json


@fuzz("machine")
@given(st.one_of(damaged(b'{"system": "Linux", "cpu_model": "x", "cores": 2, "gpu": null}'), HOSTILE.map(json.dumps)))
def test_a_stores_machine_json_gives_its_record_or_one_line(raw: bytes | str) -> None:
    with folder() as tmp:
        added = store.add(tmp / "store", syn.write(tmp / "run.json", VALID_RUN))
        (added.parent / store.MACHINE_JSON).write_bytes(raw if isinstance(raw, bytes) else raw.encode())
        try:
            found = store.machine_record(added.parent)
        except store.StoreError as exc:
            one_line_error(exc)
        else:
            assert isinstance(found, dict)
        one_line(store.main, ["list", str(tmp / "store")])
