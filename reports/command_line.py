"""What the command lines share: argparse that reports a bad command line as one line."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import NoReturn

USAGE = 4  # a bad command line, as pytest's usage error (the exit codes: README, "Exit codes")
LINE = 2000  # the most characters of an error line (a message may quote a crafted file's text)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


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
        say(str(exc))
        return USAGE
    except errors as exc:
        say(str(exc))
    except OSError as exc:
        say(f"cannot write {exc.filename or 'the output'}: {exc.strerror or exc}")
    return 2


def say(message: str) -> None:
    """``error: MESSAGE`` as one line on stderr: control characters (a newline, a terminal escape) from a crafted
    file become spaces, a lone surrogate a replacement character, and the line stops at ``LINE`` characters."""
    text = _CONTROL.sub(" ", message).encode("utf-8", "replace").decode("utf-8")
    print(f"error: {text[:LINE]}{'...' if len(text) > LINE else ''}", file=sys.stderr)
