"""The published pages cannot run script: a Content-Security-Policy, and every text field of a run file escaped.

Each text field the schema declares (reports/runfile/schema.py) gets a string of live markup naming it; the
report of two such runs and the history of a store holding them are parsed, and no tag or attribute may
have come from a run file.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.output import build
from rnnsuite.reports.output.page import CSP
from rnnsuite.reports.runfile.record import Field
from rnnsuite.reports.runfile.schema import BENCH, CHECK, ERROR, MACHINE, PEAK, RUN
from rnnsuite.reports.runs import history, store
from tests import synthetic_runs as syn

# Fields whose value the reports act on (a check refused, a table's axis): they keep their value. The
# ``key`` of a benchmark pairs two runs, and ``metric`` must be time or instructions.
KEEP = {"metric", "key", "device", "dtype", "pass", "backend", "size", "outcome", "check", "allocator"}


def hostile(name: str) -> str:
    return f'<script>alert("{name}")</script><img src=x onerror=alert("{name}")><a href="javascript:x">{name}'


def text_fields(fields: tuple[Field, ...]) -> list[str]:
    return [f.name for f in fields if f.kind == "str" and f.name not in KEEP]


def _hostile_run(label: str, scale: float) -> dict[str, Any]:
    benches = [syn.bench("nn_lstm", samples=syn.noisy(1e-3 * scale)), syn.bench("nn_gru", samples=syn.noisy(2e-3))]
    checks = [syn.correctness("nn_lstm"), syn.correctness("nn_gru", outcome="failed")]
    data = syn.run(benches, checks, label=label)
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        extra |= {f: hostile(f"bench.{f}") for f in text_fields(BENCH)}
        extra["cold"] = {"error": hostile("cold.error")}
    for check in data["rnnsuite"]["correctness"]:
        check |= {f: hostile(f"check.{f}") for f in text_fields(CHECK)}
        check["message"] = hostile("check.message")
    data["machine_info"]["rnnsuite"] |= {f: hostile(f"machine.{f}") for f in text_fields(MACHINE)}
    for peak in data["rnnsuite"]["peaks"]:
        peak |= {f: hostile(f"peak.{f}") for f in text_fields(PEAK)}
    error = {f: hostile(f"error.{f}") for f in text_fields(ERROR)}
    error |= {"test": "check", "pass": None, "output": [hostile("error.output")], "case": "nn_lstm"}
    data["rnnsuite"]["errors"] = [error | {"device": "cpu", "dtype": "float32", "check": "forward"}]
    data["rnnsuite"] |= {f: hostile(f"run.{f}") + label for f in text_fields(RUN)}
    data["commit_info"] = {"id": hostile("commit.id"), "dirty": True}
    data["datetime"] = hostile("datetime")
    return data


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser would parse the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def live(page: str) -> list[str]:
    """What in the page could run or load: a script, a handler, a javascript: link, an image not from data:."""
    parser = Tags()
    parser.feed(page)
    out = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe", "object", "embed", "base", "form", "link"):
            out.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                out.append(f"{tag} {name}={value}")
            if tag == "img" and name == "src" and not (value or "").startswith("data:image/png;base64,"):
                out.append(f"img src={value}")
    return out


def policy(page: str) -> list[str]:
    parser = Tags()
    parser.feed(page)
    return [
        dict(attrs).get("content") or ""
        for tag, attrs in parser.tags
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "content-security-policy"
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("hostile")
    return [syn.write(tmp / f"run{i}.json", _hostile_run(f"r{i}", 1.0 + i)) for i in range(2)]


def test_the_report_of_hostile_runs_has_no_live_tag(runs: list[Path], tmp_path: Path) -> None:
    assert build.main([*map(str, runs), "--out", str(tmp_path)]) in (0, 1)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert live(page) == []
    assert policy(page) == [CSP]
    text = html.unescape(page)
    shown = {f for f in _all_names() if f'<script>alert("{f}")' in text}
    assert len(shown) >= 15, sorted(shown)  # the report shows them (escaped), so the test saw them
    assert {"run.label", "bench.case", "error.output", "machine.cpu_model", "datetime"} <= shown


def test_the_history_of_hostile_runs_has_no_live_tag(runs: list[Path], tmp_path: Path) -> None:
    for run in runs:
        store.add(tmp_path / "store", run)
    assert history.main([str(tmp_path / "store"), "--out", str(tmp_path / "h"), "--machine", "all"]) == 0
    page = (tmp_path / "h" / "history.html").read_text(encoding="utf-8")
    assert live(page) == []
    assert policy(page) == [CSP]
    assert "&lt;script&gt;" in page  # a run's label and commit, escaped


def _all_names() -> list[str]:
    groups = {"bench": BENCH, "check": CHECK, "machine": MACHINE, "peak": PEAK, "error": ERROR, "run": RUN}
    named = [f"{g}.{f}" for g, fields in groups.items() for f in text_fields(fields)]
    return [*named, "error.output", "check.message", "cold.error", "commit.id", "datetime"]


def test_the_checker_finds_a_live_tag() -> None:
    """The check itself can fail: markup let through unescaped is found."""
    page = "<html><head></head><body>" + hostile("x") + "</body></html>"
    assert live(page) == ["script", "img src=x", 'img onerror=alert("x")', "a href=javascript:x"]
    assert live(page.replace("<script>", "&lt;script&gt;").replace("<img", "&lt;img").replace("<a", "&lt;a")) == []
    assert policy('<meta http-equiv="Content-Security-Policy" content="x">') == ["x"]
