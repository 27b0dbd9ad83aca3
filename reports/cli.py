"""What the command lines share: argparse that reports a bad command line as one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

USAGE = 4  # a bad command line, as pytest's usage error (the exit codes: README, "Exit codes")


class UsageError(Exception):
    """A bad command line; the message is one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors become a one-line :class:`UsageError` (exit 4 at the caller), not a usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def one_line_errors(body: Callable[[], int], *errors: type[Exception]) -> int:
    """Run a command's body; a bad command line (exit 4), one of ``errors`` or a failed write (exit 2) becomes one line.

    Args:
        body: the command after its arguments are known; returns the exit code.
        errors: the exceptions, besides ``UsageError``, whose message is the one line.

    Returns:
        The body's exit code; 0 for ``--help``; 4 (``USAGE``) for a bad command line; 2 on one of those errors.
    """
    try:
        return body()
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot write {exc.filename or 'the output'}: {exc.strerror or exc}", file=sys.stderr)
    return 2
