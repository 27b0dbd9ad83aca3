"""The run file's one definition (the records of reports/runfile/schema.py) against its doc, its fakes and the committed run files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rnnsuite.reports.gate import compare_command
from rnnsuite.reports.output import table
from rnnsuite.reports.runfile import legacy
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.record import Field, checked, describe, names, problems
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runfile.schema import (
    BENCH,
    CHECK,
    CHECKS_FILE,
    COLD,
    ERROR,
    MACHINE,
    PEAK,
    PROCESS,
    RUN,
    SCHEMA,
    Bench,
    Check,
    Machine,
    Peak,
    Run,
)
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "run-file.md"
SECTIONS = {
    "### `rnnsuite`": RUN,
    "### `machine_info.rnnsuite`": MACHINE,
    "### `rnnsuite.peaks[i]`": PEAK,
    "### `rnnsuite.correctness[i]`": CHECK,
    "### `benchmarks[i].extra_info`": BENCH,
    "### `extra_info.cold`": COLD,
    "### `extra_info.processes[i]`": PROCESS,
    "## The checks file": CHECKS_FILE,
    "### `rnnsuite.errors[i]`": ERROR,
}
COMMITTED = sorted((ROOT / "docs" / "runs").glob("*.json"))
RUNS = sorted((ROOT / "tests" / "runs").glob("*.json"))  # the tests' own committed files (schema 3)


def _doc_tables() -> dict[str, list[tuple[list[str], str]]]:
    """Each documented record: its rows as (field names, type cell)."""
    tables: dict[str, list[tuple[list[str], str]]] = {}
    heading = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.strip() if line.strip() in SECTIONS else None
        elif heading and line.startswith("| `"):
            first, kind = (cell.strip() for cell in line.strip("|").split("|")[:2])
            tables.setdefault(heading, []).append((re.findall(r"`([^`]+)`", first), kind))
    return tables


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_doc_lists_exactly_the_declared_fields(heading: str) -> None:
    rows = _doc_tables().get(heading, [])
    documented = [name for fields, _ in rows for name in fields]
    assert sorted(documented) == sorted(names(SECTIONS[heading])), f"docs/run-file.md {heading}"


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_doc_flags_agree_with_the_declaration(heading: str) -> None:
    declared = {f.name: f for f in SECTIONS[heading]}
    for fields, kind in _doc_tables()[heading]:
        group: list[Field] = [declared[n] for n in fields]
        assert ("required" in kind) == all(f.required for f in group), f"{fields}: 'required' in {kind!r}"
        assert ("some" in kind) == (not all(f.always for f in group)), f"{fields}: 'some' in {kind!r}"
        assert ("null" in kind) == any(f.nullable for f in group), f"{fields}: 'null' in {kind!r}"
        since = {f.since for f in group}
        assert len(since) == 1, f"{fields}: one row, one schema version"
        assert ("since" in kind) == (since != {1}), f"{fields}: 'since' in {kind!r}"
        assert since == {1} or f"since {since.pop()}" in kind, f"{fields}: version in {kind!r}"


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_doc_types_are_the_annotations(heading: str) -> None:
    """A row of one field names its type as the annotation reads (``describe``), before any flag."""
    declared = {f.name: f for f in SECTIONS[heading]}
    for fields, kind in _doc_tables()[heading]:
        if len(fields) == 1:
            cell = kind.split(", ")[0]
            assert cell == describe(declared[fields[0]].type), f"{heading} {fields[0]}: {kind!r}"


def test_doc_title_names_the_schema_version() -> None:
    assert DOC.read_text(encoding="utf-8").startswith(f"# The run file (schema {SCHEMA})")


def test_fakes_carry_every_always_field_and_no_other() -> None:
    data = syn.run([syn.bench(samples=[1e-3, 2e-3, 3e-3])], [syn.correctness(check="golden")])
    assert set(data["benchmarks"][0]["extra_info"]) == set(names(BENCH, always=True))
    assert set(data["rnnsuite"]["correctness"][0]) == {*names(CHECK, always=True), "kernel"}  # a matrix point
    normwise = {
        f.name for f in CHECK if f.name in ("u", "err_u", "budget_u", "emulated_u", "margin", "norm_at", "err_at")
    }
    assert set(syn.correctness(check="forward")) == {*names(CHECK, always=True), "kernel", *normwise}
    assert set(data["machine_info"]["rnnsuite"]) == set(names(MACHINE, always=True))
    assert set(data["rnnsuite"]) == set(names(RUN, always=True))
    assert set(data["rnnsuite"]["peaks"][0]) == set(names(PEAK))


def test_fake_stats_are_pytest_benchmarks_quartiles() -> None:
    """pytest-benchmark's Stats takes quartiles by its own rule, not numpy's linear interpolation."""
    stats = syn.bench(samples=[1.0, 2.0, 3.0, 4.0])["stats"]
    assert (stats["q1"], stats["median"], stats["q3"]) == (1.5, 2.5, 3.5)  # numpy: 1.75, 2.5, 3.25


@pytest.mark.parametrize(
    ("record", "defect"), [({"key": "k"}, "missing"), (dict.fromkeys(names(CHECK)) | {"extra": 1}, "undeclared")]
)
def test_checked_refuses_a_record_out_of_step(record: dict[str, object], defect: str) -> None:
    with pytest.raises(ValueError, match=defect):
        checked(Check, record, "correctness")


def test_reader_refuses_a_record_without_a_required_field(tmp_path: Path) -> None:
    data = syn.run([syn.bench(samples=[1e-3] * 5)])
    del data["benchmarks"][0]["extra_info"]["pass"]
    with pytest.raises(RunFileError, match="lacks pass"):
        load_run(syn.write(tmp_path / "r.json", data))


def test_there_is_a_committed_run_file() -> None:
    assert COMMITTED, "docs/runs/ holds no run file"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_run_file_uses_only_declared_fields(path: Path) -> None:
    """Every record of a committed file, its old names mapped, has its schema's fields and no other, each of its type."""
    data = json.loads(path.read_text(encoding="utf-8"))
    v = data["rnnsuite"]["schema"]
    for bench in data["benchmarks"]:
        assert problems(Bench, _somes(BENCH, legacy.bench(bench["extra_info"])), schema=v) == []
    for rec in data["rnnsuite"]["correctness"]:
        assert problems(Check, _somes(CHECK, legacy.check(rec)), schema=v) == []
    for peak in data["rnnsuite"]["peaks"]:
        assert problems(Peak, _somes(PEAK, peak), schema=v) == []
    assert problems(Machine, data["machine_info"]["rnnsuite"], schema=v) == []
    assert problems(Run, data["rnnsuite"], schema=v) == []


@pytest.mark.parametrize("path", RUNS, ids=lambda p: p.name)
def test_tests_run_files_old_names_map_to_declared_ones(path: Path) -> None:
    """The tests' schema-3 files (written before ``instrumentation``, so not complete) hold no field undeclared once mapped."""
    data = json.loads(path.read_text(encoding="utf-8"))
    wrong = [w for b in data["benchmarks"] for w in problems(Bench, legacy.bench(b["extra_info"]))]
    wrong += [w for c in data["rnnsuite"]["correctness"] for w in problems(Check, legacy.check(c))]
    assert [w for w in wrong if not w.startswith("missing ")] == []


def _somes(fields: tuple[Field, ...], record: dict[str, object]) -> dict[str, object]:
    """The record less what only some writers add (a committed file may predate them): the rest must be complete."""
    return {k: v for k, v in record.items() if not any(f.name == k and not f.always for f in fields)}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_run_file_loads_tidies_and_compares(path: Path, tmp_path: Path) -> None:
    run = load_run(path)
    df = table.tidy([run])
    assert len(df) == len(run.benchmarks) > 0
    assert df["median_s"].gt(0).all()
    assert df["key"].notna().all()
    assert len(table.checks([run])) == len(run.correctness) > 0
    md = tmp_path / "c.md"
    assert compare_command.main([str(path), str(path), "--markdown", str(md)]) not in (1, 2)  # itself: no failure
    assert "0 slower" in md.read_text(encoding="utf-8")
