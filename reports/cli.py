"""What the command lines share: argparse that reports a bad command line as one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn


class UsageError(Exception):
    """A bad command line; the message is one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors become a one-line :class:`UsageError` (exit 2 at the caller), not a usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def one_line_errors(body: Callable[[], int], *errors: type[Exception]) -> int:
    """Run a command's body; a bad command line, one of ``errors`` or a failed write becomes one line on stderr, exit 2.

    Args:
        body: the command after its arguments are known; returns the exit code.
        errors: the exceptions, besides ``UsageError``, whose message is the one line.

    Returns:
        The body's exit code; 0 for ``--help``; 2 on one of those errors.
    """
    caught: tuple[type[Exception], ...] = (UsageError, *errors)
    try:
        return body()
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except caught as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot write {exc.filename or 'the output'}: {exc.strerror or exc}", file=sys.stderr)
    return 2
