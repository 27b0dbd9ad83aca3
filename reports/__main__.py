"""``python -m reports build|compare ...``: the reports' command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m reports {build,compare,history,store,merge,journal} ... (add --help for a sub-command's options)"
    if not args or args[0] in ("-h", "--help"):
        print(usage)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "build":
        from reports.build import main as sub
    elif command == "compare":
        from reports.compare import main as sub
    elif command == "history":
        from reports.history import main as sub
    elif command == "store":
        from reports.store import main as sub
    elif command == "merge":
        from reports.merge import main as sub
    elif command == "journal":
        from reports.journal_cli import main as sub
    else:
        print(f"error: unknown command {command!r}; {usage}", file=sys.stderr)
        return 2
    return sub(rest)


if __name__ == "__main__":
    sys.exit(main())
