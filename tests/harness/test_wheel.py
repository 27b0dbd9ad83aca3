"""rnnsuite as a user installs it: the wheel and sdist, a fresh venv without the checkout, the example project.

One module-scoped build: ``python -m build`` makes the sdist and the wheel, ``twine check`` passes them, and
the wheel is installed (not editable) into a fresh venv whose other packages are hard links of this venv's
(torch and the rest; nothing is downloaded), less this venv's editable installs, so the checkout is not
on its ``sys.path``. In a copy of examples/user-project (a project of its own: its RNN, its case module, its
unit test) the tests then run ``rnnsuite check``, ``pytest --rnnsuite`` and plain ``pytest`` as the
project's CI would, and plant a defect in its model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from filelock import FileLock

import rnnsuite

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "user-project"
COMMANDS = ("check", "bench", "report", "resume", "build", "compare", "ab", "store", "history", "merge")
# This venv's editable installs (rnnsuite, its examples): left out of the fresh venv's copy.
EDITABLE = re.compile(r"^(__editable__|_?rnnsuite|rnnsuite_examples)|\.pth$")

pytestmark = pytest.mark.slow


def _run(cmd: Sequence[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RNNSUITE_", "PYTHONPATH"))}
    return subprocess.run(list(cmd), cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=600, check=False)


def _fresh_venv(where: Path) -> Path:
    """A new venv whose site-packages are hard links of this one's, less the editable installs."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = where / ours.relative_to(sys.prefix)
    for entry in ours.iterdir():
        if EDITABLE.search(entry.name) or entry.name in ("rnnsuite", "__pycache__"):
            continue
        target = theirs / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, copy_function=os.link, symlinks=True, dirs_exist_ok=True)
        else:
            os.link(entry, target)
    for script in ("pip", "pip3"):  # pip's own entry scripts point at this venv's interpreter
        (where / "bin" / script).unlink(missing_ok=True)
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, the wheel, a fresh venv with the wheel installed, and a copy of the example project.

    Made once per session: xdist's workers share it through a lock (two builds of one source tree at once
    would write its build/ and egg-info together).
    """
    base = tmp_path_factory.getbasetemp().parent / "rnnsuite-wheel"
    base.mkdir(exist_ok=True)
    with FileLock(str(base) + ".lock"):
        if not (base / "done").exists():
            _build(base)
            (base / "done").write_text("", encoding="utf-8")
    python = base / "venv" / "bin" / "python"
    wheel = next((base / "dist").glob("rnnsuite-*.whl"))
    sdist = next((base / "dist").glob("rnnsuite-*.tar.gz"))
    return {"wheel": wheel, "sdist": sdist, "python": python, "bin": python.parent, "project": base / "project"}


def _build(base: Path) -> None:
    done = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(base / "dist"), str(ROOT)], base)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    python = _fresh_venv(base / "venv")
    project = base / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    wheel = next((base / "dist").glob("rnnsuite-*.whl"))
    for what in ([str(wheel)], ["--no-build-isolation", str(project)]):
        done = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *what], base)
        assert done.returncode == 0, done.stderr[-2000:]
    shutil.rmtree(project / "my_rnn")  # the installed package is the one imported, as in the user's CI
    shutil.rmtree(project / "build", ignore_errors=True)


def test_the_distributions_pass_twine_check(built: dict[str, Path]) -> None:
    done = _run([sys.executable, "-m", "twine", "check", "--strict", str(built["wheel"]), str(built["sdist"])], ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_claims_only_its_own_name_and_carries_no_tests_or_data(built: dict[str, Path]) -> None:
    names = zipfile.ZipFile(built["wheel"]).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"rnnsuite", f"rnnsuite-{rnnsuite.__version__}.dist-info"}, tops
    assert "rnnsuite/suite/test_correctness.py" in names  # the suite's tests are the product
    assert "rnnsuite/cases/api.py" in names
    data = [n for n in names if n.endswith((".json", ".csv"))]  # docs/runs' and tests/runs' run files, lab/runs' csv
    assert not [n for n in names if n.startswith(("tests/", "rnnsuite/tests/", "docs/", "lab/"))] + data
    meta = zipfile.ZipFile(built["wheel"]).read(f"rnnsuite-{rnnsuite.__version__}.dist-info/entry_points.txt")
    assert b"[pytest11]" in meta
    assert b"rnnsuite = rnnsuite.cli:main" in meta


def test_the_sdist_carries_the_package_once(built: dict[str, Path]) -> None:
    import tarfile

    with tarfile.open(built["sdist"]) as tar:
        tops = {n.split("/")[1] for n in tar.getnames() if n.count("/") >= 1}
    assert "rnnsuite" in tops
    assert not tops & {"cases", "suite", "reports", "tests", "docs", "lab"}, tops


def test_one_version_source(built: dict[str, Path]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("version")
    assert version is None  # dynamic: rnnsuite.__version__ is the only source
    done = _run([str(built["bin"] / "rnnsuite"), "--version"], built["project"])
    assert done.stdout.strip() == f"rnnsuite {rnnsuite.__version__}"
    assert built["wheel"].name.startswith(f"rnnsuite-{rnnsuite.__version__}-")


def test_the_checkout_is_off_the_fresh_venvs_path(built: dict[str, Path]) -> None:
    done = _run([str(built["python"]), "-c", "import rnnsuite, sys; print(rnnsuite.__file__); print(sys.path)"],
                built["project"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(ROOT) not in done.stdout
    assert "site-packages/rnnsuite/__init__.py" in done.stdout.splitlines()[0]


def test_every_command_has_help_and_a_bad_option_is_one_line_exit_4(built: dict[str, Path]) -> None:
    exe = str(built["bin"] / "rnnsuite")
    top = _run([exe, "--help"], built["project"])
    assert top.returncode == 0
    assert all(re.search(rf"^  {c}\b", top.stdout, re.M) for c in COMMANDS), top.stdout
    # Each command's --help through the command's own entry, in one process (a process each costs seconds of
    # imports; the console script itself is run above and below).
    each = (
        "import contextlib, io; from rnnsuite.cli import COMMANDS, main\n"
        "for c in COMMANDS:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        code = main([c, '--help'])\n"
        "    print(c, code, len(out.getvalue().strip()))\n"
    )
    done = _run([str(built["python"]), "-c", each], built["project"])
    helped = {c: (int(code), int(size)) for c, code, size in (line.split() for line in done.stdout.splitlines())}
    assert set(helped) >= set(COMMANDS), done.stderr
    assert all(code == 0 and size > 0 for code, size in helped.values()), helped
    for bad in (["frobnicate"], ["build", "--no-such-option"], ["check", "--dtype", "float8"]):
        done = _run([exe, *bad], built["project"])
        assert done.returncode == 4, (bad, done.stdout[-500:], done.stderr[-500:])
        assert "Traceback" not in done.stderr + done.stdout
        assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1, (bad, done.stderr)


def test_rnnsuite_check_runs_the_projects_case_in_four_dtypes(built: dict[str, Path]) -> None:
    done = _run([str(built["bin"] / "rnnsuite"), "check", "my_rnn.rnn_cases", "-q", "-rA"], built["project"])
    assert done.returncode == 0, done.stdout[-3000:]
    for dtype in ("float64", "float32", "bfloat16", "float16"):
        assert f"test_forward[gate_gru-cpu-{dtype}]" in done.stdout
    assert "nn_lstm" not in done.stdout  # the shipped cases run only when asked for
    assert "test_model" not in done.stdout  # the project's own tests are not the suite's


def test_a_planted_defect_fails_naming_the_case_and_the_check(built: dict[str, Path]) -> None:
    exe = str(built["bin"] / "rnnsuite")
    done = _run([exe, "check", "my_rnn.rnn_cases", "-q", "--dtype", "float64"], built["project"], MY_RNN_DEFECT="1")
    assert done.returncode == 1, done.stdout[-3000:]
    assert re.search(r"FAILED \S*test_correctness.py::test_forward\[gate_gru-cpu-float64\]", done.stdout)


def test_pytest_rnnsuite_adds_the_checks_to_the_projects_session(built: dict[str, Path]) -> None:
    cmd = [
        str(built["python"]),
        "-m",
        "pytest",
        "--rnnsuite",
        "my_rnn.rnn_cases",
        "-q",
        "-rA",
        "-p",
        "no:cacheprovider",
    ]
    # One dtype: rnnsuite check runs the four (above); this is the plugin's way into the project's session.
    done = _run([*cmd, "--benchmark-disable", "--dtype", "float16"], built["project"])
    assert done.returncode == 0, done.stdout[-3000:]
    assert "PASSED tests/test_model.py::test_shapes_and_a_deprecation_warning_that_stays_a_warning" in done.stdout
    assert "test_forward[gate_gru-cpu-float16]" in done.stdout
    defect = _run([*cmd, "--benchmark-disable", "--dtype", "float32"], built["project"], MY_RNN_DEFECT="1")
    assert defect.returncode == 1
    assert "FAILED" in defect.stdout
    assert "gate_gru-cpu-float32" in defect.stdout


def test_plain_pytest_in_the_project_is_untouched_by_the_plugin(built: dict[str, Path]) -> None:
    done = _run([str(built["python"]), "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"], built["project"])
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed, 1 warning" in done.stdout  # the DeprecationWarning stays a warning
    assert "gate_gru" not in done.stdout


def test_rnnsuite_bench_writes_a_run_file_with_the_same_version(built: dict[str, Path]) -> None:
    run = built["project"] / "run.json"
    fast = ["--min-time", "0.005", "--min-rounds", "1", "--no-cold", "--no-peak", "--pass", "fwd", "--dtype", "float32"]
    done = _run([str(built["bin"] / "rnnsuite"), "bench", "my_rnn.rnn_cases", "-q", *fast, f"--benchmark-json={run}"],
                built["project"])  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    data = json.loads(run.read_text(encoding="utf-8"))
    assert data["machine_info"]["rnnsuite"]["rnnsuite"] == rnnsuite.__version__
    assert sorted(b["name"] for b in data["benchmarks"]) == [  # its baseline at the same shape comes with it
        "test_speed[gate_gru-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1]",
        "test_speed[nn_gru-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1]",
    ]


def test_a_folder_that_holds_the_venv_does_not_ask_for_the_installed_suite(built: dict[str, Path]) -> None:
    """A project whose venv lies inside it runs plain ``pytest`` there: the installed suite (in site-packages,
    below that folder) must not count as asked for, or the plugin would import torch into every run."""
    code = "import sys; from rnnsuite.plugin import _covers, suite_dir; print(_covers(sys.argv[1], suite_dir(), False))"
    above = built["python"].parents[2]  # the folder that holds the venv
    inside = _run([str(built["python"]), "-c", "from rnnsuite.plugin import suite_dir; print(suite_dir())"], above)
    assert "site-packages" in inside.stdout
    for arg, expected in ((above, "False"), (Path(inside.stdout.strip()), "True")):
        done = _run([str(built["python"]), "-c", code, str(arg)], above)
        assert done.stdout.strip() == expected, (arg, done.stdout, done.stderr)
