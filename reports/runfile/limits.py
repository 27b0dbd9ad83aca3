"""The limits of what a reader takes from a file, and the strict JSON parse every reader of the suite's files uses.

Run files, checks files, journals and a store's ``machine.json`` are untrusted input (docs/run-file.md,
"Untrusted input"): each is refused in one line, before it is parsed into pandas, where it is

- larger than ``MAX_BYTES`` (64 MiB: a full ``make report`` run file is about 10 MiB, the committed H100
  run of 208 benchmarks 1.4 MB); at most ``MAX_BYTES + 1`` bytes are ever read;
- a run or checks file of more than ``MAX_RECORDS`` records (benchmarks, checks, peaks and errors
  together), or a journal of more than ``MAX_JOURNAL_LINES`` lines;
- not JSON as the suite writes it: nested deeper than ``MAX_DEPTH`` (the suite writes 6 levels), an
  object with a key twice (two readers could take different values), a string with half of a UTF-16
  surrogate pair (it cannot be written back as UTF-8), or an integer beyond ``MAX_INT`` (2**53, the
  integers a float64 holds exactly, as I-JSON, RFC 7493, advises: the tables are pandas float64 columns).

NaN and the infinities are accepted (Python's ``json`` writes them); the readers check each field's
type and range after this.

This module imports only the standard library (the suite's journal and the torch-free reports both use it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MAX_BYTES = 64 * 2**20
MAX_RECORDS = 100_000
MAX_JOURNAL_LINES = 1_000_000
MAX_DEPTH = 32
MAX_INT = 2**53

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


class BadJSON(ValueError):
    """A file that is not JSON as the suite writes it, or over a limit; the message is one line."""


def read_capped(path: Path, what: str = "file") -> bytes:
    """The bytes of ``path``, at most ``MAX_BYTES`` of them.

    Raises:
        BadJSON: the file holds more than ``MAX_BYTES`` bytes.
        OSError: it cannot be read (``FileNotFoundError`` where it is missing).
    """
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BadJSON(f"{path}: larger than {MAX_BYTES // 2**20} MiB, the limit of a {what}; refused")
    return data


def parse(text: str) -> Any:
    """``json.loads`` that refuses what the module's docstring lists, with a one-line message.

    Raises:
        json.JSONDecodeError: not JSON (truncated, a stray byte). BadJSON: over a limit, a key twice,
            a lone surrogate, an integer beyond 2**53.
    """
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_int)
    except RecursionError:
        raise BadJSON(f"nested deeper than Python's JSON reader can follow (the limit: {MAX_DEPTH})") from None
    _walk(data, bool(_SURROGATE_ESCAPE.search(text)))
    return data


def _int(text: str) -> int:
    value = int(text) if len(text) <= 20 else None  # never int() of a long text: 4,300 digits take a while
    if value is None or not -MAX_INT <= value <= MAX_INT:
        raise BadJSON(f"the integer {text[:24]}{'...' if len(text) > 24 else ''} is beyond 2**53")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BadJSON(f"the key {key[:40]!r} appears twice in one object")
            seen.add(key)
    return found


def _walk(data: Any, surrogates: bool) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and (where the text escapes one) a lone surrogate; no recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if surrogates and isinstance(node, str):
            _utf8(node)
            continue
        if depth > MAX_DEPTH and isinstance(node, (dict, list)):
            raise BadJSON(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            if surrogates:
                for key in node:
                    _utf8(key)
            stack.extend((v, depth + 1) for v in node.values() if surrogates or isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if surrogates or isinstance(v, (dict, list)))


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadJSON("a string holds half of a UTF-16 surrogate pair (not Unicode text)") from None
