"""``python -m rnnsuite_zoo.manifest OUT.json``: what the zoo report needs to know of each zoo case, from its declaration.

For each case group (``zoo_mingru``): the package and its version, the summary, the baseline it is timed
beside, and its known defects (checks, modes, dtypes, reason, reproducer). The report (rnnsuite
``reports/zoo.py``, torch-free) reads this beside the checks file and the run files.
"""

from __future__ import annotations

import json
import sys
from importlib import import_module
from importlib.metadata import version

# module -> the PyPI distribution whose layers it declares
PACKAGES = {
    "mingru": "mingru-pytorch",
    "ncps": "ncps",
    "mambapy": "mambapy",
    "sru": "sru",
    "xlstm": "xlstm",
}


def manifest(modules: dict[str, str] = PACKAGES) -> dict[str, dict[str, object]]:
    """Each case group of the importable zoo modules, with its package; a module that does not import is left out."""
    from rnnsuite.cases.registry import CASES

    out: dict[str, dict[str, object]] = {}
    for module, dist in modules.items():
        before = set(CASES)
        try:
            import_module(f"rnnsuite_zoo.{module}")
        except ImportError:
            continue
        for name in sorted(set(CASES) - before):
            c = CASES[name]
            group = getattr(c, "group", None) or name
            entry = out.setdefault(
                group,
                {
                    "package": dist,
                    "version": version(dist),
                    "summary": c.summary,
                    "baseline": c.baseline,
                    "defects": [],
                },
            )
            for d in getattr(c, "known_defects", ()):
                entry["defects"].append(  # type: ignore[union-attr]
                    {
                        "mode": getattr(c, "mode", None),
                        "check": d.check,
                        "dtypes": [str(t).removeprefix("torch.") for t in d.dtypes],
                        "reason": d.reason,
                        "reproducer": d.reproducer,
                    }
                )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m rnnsuite_zoo.manifest OUT.json", file=sys.stderr)
        return 4
    with open(argv[0], "w") as f:
        json.dump(manifest(), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
