"""The rooms of the code and the arrows between them (docs/guide.md, "The layout"): no import runs back up,
none goes into another room's private name, no module imports itself back through others (a circle), and
nothing of the product imports the lab (lab/: studies about the product, never part of it); a module of suite/, reports/ or cases/ over ``REVIEW_LINES`` is named for
review (a skip that lists them), and one over ``MAX_LINES`` fails. Modules are cut by idea, not by count: a
cap that splits one idea in two makes circles and private reaches, so the review line is a hint, not a rule."""

from __future__ import annotations

import ast
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Most specific first: a module belongs to the first room its name starts with.
ROOMS = (
    "suite.harness", "suite.measure", "suite.plugin", "suite.ab", "suite.commands",
    "reports.runfile", "reports.command_line", "reports.gate", "reports.output", "reports.runs", "reports",
    "cases", "suite",
)  # fmt: skip
# room -> the rooms it may import. "suite" is suite/'s own tests (test_*.py) and conftest.py; "reports" is
# the reports' top level (the zoo report). reports.output holds the report's sections (output/sections/).
ALLOWED = {
    "cases": set(),
    "reports.runfile": set(),
    "reports.command_line": set(),
    "reports.gate": {"reports.runfile", "reports.command_line"},
    "reports.output": {"reports.gate", "reports.runfile", "reports.command_line"},
    "reports.runs": {"reports.gate", "reports.output", "reports.runfile", "reports.command_line"},
    "reports": {"reports.output", "reports.runfile", "reports.command_line"},
    "suite.harness": {"cases", "reports.runfile"},
    "suite.measure": {"cases", "suite.harness"},
    "suite.plugin": {"cases", "reports.runfile", "suite.harness", "suite.measure"},
    "suite.ab": {"reports.gate", "reports.runfile", "reports.command_line", "suite.measure"},
    "suite.commands": {"reports.output", "reports.runs", "reports.runfile", "reports.command_line"},
    "suite": {"cases", "reports.runfile", "suite.harness", "suite.measure", "suite.plugin"},
}
REVIEW_LINES = 400  # STYLE.md: "~400 lines is a hint for review"
MAX_LINES = 600  # past this a module is several ideas whatever its cut
LIMITED = ("suite", "reports", "cases")  # the folders whose modules these lines cover


def room(module: str) -> str | None:
    return next((r for r in ROOMS if module == r or module.startswith(r + ".")), None)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in ("cases", "suite", "reports"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> list[tuple[str, str | None]]:
    """``(module, name)`` of every absolute import in a file (name: None for ``import x``)."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = _in_package(f"{node.module}.{alias.name}")
                found.append((sub, None) if sub in modules() else (_in_package(node.module), alias.name))
        elif isinstance(node, ast.Import):
            found += [(_in_package(alias.name), None) for alias in node.names]
    return found


def _in_package(module: str) -> str:
    """A module's name in its folder (``rnnsuite.cases.api`` -> ``cases.api``: the rooms are the folders)."""
    return module.removeprefix("rnnsuite.")


def arrows(found: dict[str, Path] | None = None) -> tuple[Counter[tuple[str, str]], list[str]]:
    """The imports between rooms, counted, and those that name another room's private name."""
    edges: Counter[tuple[str, str]] = Counter()
    private = []
    for module, path in (modules() if found is None else found).items():
        src = room(module)
        for target, name in imports(path):
            dst = room(target)
            if dst is None or dst == src or src is None:
                continue
            edges[(src, dst)] += 1
            if (name or target.rsplit(".", 1)[-1]).startswith("_"):
                private.append(f"{module} imports {target}{'.' + name if name else ''}")
    return edges, private


def test_no_import_runs_back_up() -> None:
    edges, _ = arrows()
    assert edges, "no imports found between rooms: the scan is broken"
    wrong = sorted(f"{a} -> {b}" for a, b in edges if b not in ALLOWED[a])
    assert not wrong, f"imports against the arrows of README's Layout: {wrong}"


def test_no_import_into_another_rooms_private_name() -> None:
    _, private = arrows()
    assert not private, private


def test_the_arrows_have_no_cycle() -> None:
    """The allowed arrows themselves only point down: rooms ordered so that every arrow goes forward."""
    order, left = [], {r: set(deps) for r, deps in ALLOWED.items()}
    while left:
        ready = sorted(r for r, deps in left.items() if not deps - set(order))
        assert ready, f"the allowed arrows form a cycle among {sorted(left)}"
        order += ready
        for r in ready:
            del left[r]


@pytest.mark.parametrize("module", ["suite.plugin.long", "reports.long", "reports.runfile.journal.long", "cases.long"])
def test_a_module_over_the_limit_is_named(tmp_path: Path, module: str) -> None:
    """The rule fed a module one line over the limit, in each folder it covers (a subpackage too): it is named;
    one outside those folders (examples/, a user's package) is not."""
    long, elsewhere = tmp_path / "long.py", tmp_path / "examples_long.py"
    for path in (long, elsewhere):
        path.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    found = {"rnnsuite_examples.long": elsewhere, module: long}
    assert over_limit(limited(found)) == [f"{long}: {MAX_LINES + 1} lines"]


def limited(found: dict[str, Path]) -> list[Path]:
    """The modules of ``found`` that the line limit covers: those of the ``LIMITED`` folders."""
    return [p for m, p in found.items() if m.split(".")[0] in LIMITED]


def over_limit(paths: list[Path], limit: int = MAX_LINES) -> list[str]:
    counts = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in paths}
    return [f"{p}: {n} lines" for p, n in counts.items() if n > limit]


def test_no_module_of_suite_reports_or_cases_over_the_limit() -> None:
    paths = limited(modules())
    assert {p.relative_to(ROOT).parts[0] for p in paths} == set(LIMITED), "a folder's modules not found"
    assert over_limit(paths) == []


def test_modules_past_the_review_line_are_named() -> None:
    long = over_limit(limited(modules()), REVIEW_LINES)
    if long:
        pytest.skip(f"for review (over {REVIEW_LINES} lines, a hint): {', '.join(long)}")


def test_a_wrong_arrow_and_a_private_import_are_caught(tmp_path: Path) -> None:
    """The rules fed a harness module that imports the plugin (back up) and a private name of cases."""
    bad = tmp_path / "bad.py"
    bad.write_text("from suite.plugin.options import Options\nfrom cases.models import _Secret\n", encoding="utf-8")
    edges, private = arrows({"suite.harness.bad": bad})
    assert ("suite.harness", "suite.plugin") in edges
    assert "suite.plugin" not in ALLOWED["suite.harness"]
    assert private == ["suite.harness.bad imports cases.models._Secret"]


@cache
def project() -> dict[str, Path]:
    """Every module of the project by dotted name: the three folders, the package's own modules, tests/ and lab/."""
    found = dict(modules())
    for path in sorted((ROOT / "rnnsuite").glob("*.py")):  # its own modules; cases, suite, reports are links
        found["rnnsuite" if path.stem == "__init__" else path.stem] = path
    for top in ("tests", "lab"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of ``found`` it imports, at the top or inside a function (a lazy import is an arrow too)."""
    return {m: {t for t, _ in imports(p) if t in found and t != m} for m, p in found.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of ``graph``: its strongly connected components of two modules or more (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circle() -> None:
    graph = import_graph(project())
    assert sum(map(len, graph.values())) > 100, "few imports found: the scan is broken"
    assert circles(graph) == []


def test_an_import_circle_is_caught(tmp_path: Path) -> None:
    """The rule fed the circle issue 29 found (cold imports its server at the top, the server imports cold inside a
    function) beside a one-way chain: the circle is named, the chain is not."""
    files = {
        "suite.measure.cold": "from rnnsuite.suite.measure.cold_server import serve\n",
        "suite.measure.cold_server": "def serve():\n    from rnnsuite.suite.measure.cold import time_cold\n",
        "suite.measure.timing": "from rnnsuite.suite.measure import inject\n",
        "suite.measure.inject": "import torch\n",
    }
    found = {}
    for module, text in files.items():
        found[module] = tmp_path / f"{module}.py"
        found[module].write_text(text, encoding="utf-8")
    assert circles(import_graph(found)) == [["suite.measure.cold", "suite.measure.cold_server"]]


def lab_imports(found: dict[str, Path]) -> list[str]:
    """The modules of ``found`` that import the lab, or name a path inside it (a docstring may mention it)."""
    hits = []
    for module, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
        }
        paths = [
            n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
            and (n.value == "lab" or n.value.startswith("lab/"))
        ]  # fmt: skip
        if paths or any(t == "lab" or t.startswith("lab.") for t, _ in imports(path)):
            hits.append(module)
    return hits


def test_the_product_never_imports_the_lab() -> None:
    assert (ROOT / "lab" / "README.md").is_file(), "the lab has moved: this rule looks in the wrong place"
    assert lab_imports(modules()) == []


@pytest.mark.parametrize(
    "text",
    ["import lab.gate_study\n", "from lab import sensitivity\n", "LAB = ROOT / 'lab' / 'runs'\n"],
    ids=["import", "from", "path"],
)
def test_a_product_module_that_reaches_into_the_lab_is_caught(tmp_path: Path, text: str) -> None:
    bad, fine = tmp_path / "bad.py", tmp_path / "fine.py"
    bad.write_text(text, encoding="utf-8")
    fine.write_text(
        '"""Its figures: lab/fidelity.py."""\nfrom rnnsuite.suite.measure import inject\n', encoding="utf-8"
    )
    assert lab_imports({"suite.measure.bad": bad, "suite.measure.fine": fine}) == ["suite.measure.bad"]


# The project's modules whose file names must differ (zoo/ and examples/ are packages of their own, a
# user's; __init__.py and conftest.py are the folders' own).
NAMED = ("cases", "suite", "reports", "rnnsuite", "tests", "lab")


def same_names(paths: list[Path]) -> dict[str, list[str]]:
    """File name -> the paths that share it (only names held by two or more)."""
    by_name: dict[str, list[str]] = {}
    for p in paths:
        if p.name not in ("__init__.py", "conftest.py"):
            by_name.setdefault(p.name, []).append(str(p))
    return {n: sorted(ps) for n, ps in by_name.items() if len(ps) > 1}


def project_modules() -> list[Path]:
    linked = {ROOT / "rnnsuite" / top for top in ("cases", "suite", "reports")}  # links to the folders
    return [p for top in NAMED for p in (ROOT / top).rglob("*.py") if not any(d in p.parents for d in linked)]


def test_no_two_modules_share_a_file_name() -> None:
    found = project_modules()
    assert any(p.name == "api.py" for p in found), "the scan found no module"
    assert same_names(found) == {}


def test_a_shared_file_name_is_named(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "memory.py", tmp_path / "b" / "memory.py"
    assert same_names([a, b, tmp_path / "a" / "__init__.py", tmp_path / "b" / "__init__.py"]) == {
        "memory.py": [str(a), str(b)]
    }
