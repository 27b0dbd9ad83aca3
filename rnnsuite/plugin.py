"""The pytest plugin (entry point ``pytest11``): the suite's options wherever pytest runs, the suite only when asked.

Installed with rnnsuite, it is loaded by every pytest session of the environment, so it stays inert
until a run asks for the suite:

- ``pytest --rnnsuite CASES`` (a module or a ``.py`` file; repeatable): the suite's tests of those cases
  join the session (the folder of ``rnnsuite.suite`` is added to what pytest collects), with the same
  ids, options, journal and run file as ``pytest suite`` in a checkout; the shipped cases stay out;
- a run of the suite's own folder (``pytest suite`` in a checkout; ``pytest --pyargs rnnsuite.suite``).

Otherwise it declares options and nothing else: no hook of the suite runs, no fixture is added, no
warnings filter or exit status changes, and torch is not imported.

The options are declared after the initial conftests (``pytest_load_initial_conftests``), each as
``--rnnsuite-NAME`` and, where nothing took the name first, ``--NAME``: a project whose conftest
declares its own ``--device`` keeps it, and the suite's is ``--rnnsuite-device`` there.
"""

from __future__ import annotations

from collections.abc import Generator
from importlib.util import find_spec
from pathlib import Path

import pytest

HOOKS = "rnnsuite.suite.plugin.hooks"
MARKERS = (
    "correctness: value, shape and gradient checks against the references",
    "speed: the benchmark tier (timed with pytest-benchmark)",
    "slow_tier: a correctness test of the slower tier, run only with --slow-tier or a -m naming it (make test does)",
    "cases(*names): restrict a matrix test to these cases",
    "check(name, also=()): a correctness test's check name in the run file (declared in "
    "rnnsuite/reports/runfile/declared_checks.py; also: other names it records)",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnnsuite", "RNN suite")
    group.addoption(
        "--rnnsuite",
        action="append",
        default=[],
        metavar="CASES",
        help="check (and, with the benchmark options, time) the cases of this module or .py file with the "
        "rnnsuite suite, beside this session's own tests (repeatable, or a comma list)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser) -> Generator[None, None, None]:
    """Declare the suite's options once the initial conftests have declared theirs (a name they took stays theirs)."""
    result = yield
    from rnnsuite.suite.plugin.options import add_options

    add_options(parser)
    return result


def suite_dir() -> Path:
    """The folder of the suite's tests (``rnnsuite/suite``; in a checkout, ``suite/``), resolved."""
    import rnnsuite.suite  # torch-free (its __init__ is a docstring)

    return Path(rnnsuite.suite.__file__).resolve().parent


def asked_cases(config: pytest.Config) -> list[str]:
    """The modules of every ``--rnnsuite`` (each a module or a comma list of them)."""
    return [m.strip() for v in config.getoption("rnnsuite", None) or [] for m in str(v).split(",") if m.strip()]


def _covers(arg: str, folder: Path, pyargs: bool) -> bool:
    """Whether a command-line argument names ``folder`` or a path in it; or, in a checkout, a folder above it
    (``pytest .`` there collects suite/). An installed suite lies in site-packages, which a project's own
    ``pytest`` never collects even when its venv is inside the project: that folder above it does not count."""
    text = arg.split("::", 1)[0]
    if pyargs and not Path(text).exists():
        spec = find_spec(text) if text and not text.startswith(".") else None
        if spec is None or spec.origin is None:
            return False
        text = str(Path(spec.origin).parent if spec.origin.endswith("__init__.py") else spec.origin)
    path = Path(text).resolve()
    installed = "site-packages" in folder.parts
    return path == folder or folder in path.parents or (not installed and path in folder.parents)


def pytest_configure(config: pytest.Config) -> None:
    """The suite's markers; where the run asks for the suite: its session hooks, and with ``--rnnsuite`` its
    folder to collect."""
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    folder = suite_dir()
    pyargs = bool(config.getoption("pyargs", False))
    runs_suite = any(_covers(a, folder, pyargs) for a in config.args)
    if not asked_cases(config) and not runs_suite:
        return
    if asked_cases(config) and not runs_suite:
        config.args.append(str(folder))
    if not config.pluginmanager.has_plugin(HOOKS):
        config.pluginmanager.import_plugin(HOOKS)
