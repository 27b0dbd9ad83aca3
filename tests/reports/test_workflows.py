"""The workflows follow least privilege: no pull_request_target, permissions per job, actions pinned by commit,
the store's cache saved and the site deployed only on the default branch (read as text: no YAML parser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
DEFAULT_BRANCH = "if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"


def code(text: str) -> str:
    """A workflow less its comment lines (they may name what the workflow must not do)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def problems(text: str) -> list[str]:
    """What breaks the rules in one workflow's text."""
    text, out = code(text), []
    if "pull_request_target" in text:
        out.append("pull_request_target")
    if not re.search(r"^permissions: \{\}", text, flags=re.MULTILINE):
        out.append("no empty top-level permissions")
    jobs = re.split(r"^  (?=[a-z][\w-]*:\n)", text.split("\njobs:\n", 1)[-1], flags=re.MULTILINE)[1:]
    out += [f"job {job.split(':')[0]} has no permissions" for job in jobs if "\n    permissions:" not in job]
    for uses in re.findall(r"uses: (\S+)", text):
        if not re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", uses):
            out.append(f"not pinned: {uses}")
    for step in re.findall(r"- uses: actions/(?:cache/save|deploy-pages)@\S+[^\n]*\n(?:        .*\n)*", text):
        if DEFAULT_BRANCH not in step:
            out.append(f"written off the default branch: {step.split()[2]}")
    return out


@pytest.mark.parametrize("name", ["ab.yml", "matrix.yml"])
def test_a_workflow_follows_least_privilege(name: str) -> None:
    assert problems((WORKFLOWS / name).read_text(encoding="utf-8")) == []


def test_the_store_is_saved_only_on_the_default_branch() -> None:
    text = code((WORKFLOWS / "matrix.yml").read_text(encoding="utf-8"))
    save = text.index("actions/cache/save@")
    assert text[save : text.index("\n      - ", save)].count(DEFAULT_BRANCH) == 1
    assert "\n  deploy:\n    needs: publish\n    " + DEFAULT_BRANCH in text
    assert "pull_request" not in text  # a pull request's run files never reach the store
    assert "store add" not in code((WORKFLOWS / "ab.yml").read_text(encoding="utf-8"))


def test_the_checker_finds_each_break() -> None:
    bad = (
        "on:\n  pull_request_target:\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: actions/cache/save@" + "0" * 40 + "\n        with:\n          path: store\n"
    )
    assert problems(bad) == [
        "pull_request_target",
        "no empty top-level permissions",
        "job a has no permissions",
        "not pinned: actions/checkout@v4",
        "written off the default branch: actions/cache/save@" + "0" * 40,
    ]
