"""A record of the run file that is its own schema: a dataclass whose fields declare the JSON.

A field's annotation is its type (``X | None``: null is allowed; ``X | Absent`` with the default
``ABSENT``: only some writers add it); its metadata (``meta``) holds the doc line, the schema
version that added it (``since``), whether a reader requires it, and its JSON key where that is no
Python name (``pass``). ``to_dict`` generates a record's dict from the declaration and checks every
value against its type; ``from_dict`` reads one back, nested records (the cold record) included.
``declared`` gives the same declaration as ``Field`` rows for the tables and the doc test.

This module imports only the standard library (the suite and the torch-free reports both use it).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

R = TypeVar("R")


class Absent(enum.Enum):
    """The value of a field that only some writers add, while it is not added (``to_dict`` leaves it out)."""

    ABSENT = "absent"


ABSENT: typing.Final = Absent.ABSENT


def meta(
    doc: str, *, since: int = 1, required: bool = False, key: str | None = None, default: Any = dataclasses.MISSING
) -> Any:
    """A field's declaration: its doc line, the schema that added it, whether readers require it, its JSON key."""
    return dataclasses.field(default=default, metadata={"doc": doc, "since": since, "required": required, "key": key})


@typing.dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(meta,))
def record(cls: type[R]) -> type[R]:
    """Make ``cls`` a run-file record: a frozen, keyword-only dataclass whose fields are declared with ``meta``."""
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a record, as its dataclass declares it.

    Attributes:
        name: the JSON key.
        kind: ``str``, ``int``, ``float``, ``bool``, ``list`` or ``dict`` (a nested record is a ``dict``).
        doc: what it holds (one line; docs/run-file.md says more).
        nullable: null is allowed (the annotation includes ``None``).
        required: a reader refuses a file whose record lacks it.
        always: every record the suite writes has it (false: the default is ``ABSENT``).
        since: the schema version that added it.
        attr: the dataclass attribute (``pass_`` for ``pass``).
        type: the annotation, resolved.
    """

    name: str
    kind: str
    doc: str
    nullable: bool = False
    required: bool = False
    always: bool = True
    since: int = 1
    attr: str = ""
    type: Any = None


def _members(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)


def _kind(tp: Any) -> str:
    core = [a for a in _members(tp) if a not in (type(None), Absent)]
    first = core[0]
    if dataclasses.is_dataclass(first) or typing.get_origin(first) is dict:
        return "dict"
    if typing.get_origin(first) is list:
        return "list"
    return str(first.__name__)


_DECLARED: dict[type, tuple[Field, ...]] = {}


def declared(cls: type) -> tuple[Field, ...]:
    """The fields of a record class, in declaration order."""
    if cls in _DECLARED:
        return _DECLARED[cls]
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp, m = hints[f.name], f.metadata
        nullable = type(None) in _members(tp)
        always = f.default is not ABSENT
        name = m["key"] or f.name
        out.append(Field(name, _kind(tp), m["doc"], nullable, m["required"], always, m["since"], f.name, tp))
    _DECLARED[cls] = tuple(out)
    return _DECLARED[cls]


def names(
    fields: Iterable[Field], *, always: bool = False, required: bool = False, schema: int | None = None
) -> tuple[str, ...]:
    """The field names of a schema version (default: every one), optionally only those every record has or that readers require."""
    return tuple(
        f.name
        for f in fields
        if (f.always or not always) and (f.required or not required) and (schema is None or f.since <= schema)
    )


def kinds(fields: Iterable[Field], kind: str) -> tuple[str, ...]:
    """The names of the fields of one ``kind`` (e.g. the int columns of a table)."""
    return tuple(f.name for f in fields if f.kind == kind)


def describe(tp: Any, detail: bool = False) -> str:
    """A type as docs/run-file.md writes it: ``float or null``, ``list of float``, ``object``.

    ``detail``: as an error names it, with what an object holds (``object of int``) and a record's name.
    """
    parts = []
    for a in _members(tp):
        if a is type(None):
            parts.append("null")
        elif isinstance(a, type) and dataclasses.is_dataclass(a):
            parts.append(a.__name__ if detail else "object")
        elif typing.get_origin(a) is dict:
            parts.append(f"object of {describe(typing.get_args(a)[1], detail)}" if detail else "object")
        elif typing.get_origin(a) is list:
            parts.append(f"list of {describe(typing.get_args(a)[0], detail)}")
        elif a is not Absent:
            parts.append(getattr(a, "__name__", str(a)))
    return " or ".join(dict.fromkeys(parts))


def conforms(value: Any, tp: Any) -> bool:
    """Whether a JSON value (or a record) is of the declared type; an int is a float, a bool no number."""
    if tp is Any:
        return True
    if len(members := _members(tp)) > 1:
        return any(conforms(value, a) for a in members)
    origin = typing.get_origin(tp)
    if tp is type(None) or tp is Absent:
        return value is None if tp is type(None) else value is ABSENT
    if tp in (int, float):
        return isinstance(value, (int, float) if tp is float else int) and not isinstance(value, bool)
    if tp in (str, bool):
        return isinstance(value, tp)
    if origin is list:
        return isinstance(value, (list, tuple)) and all(conforms(v, typing.get_args(tp)[0]) for v in value)
    if origin is dict:
        k, v = typing.get_args(tp)
        return isinstance(value, dict) and all(conforms(a, k) and conforms(b, v) for a, b in value.items())
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return isinstance(value, tp) or (isinstance(value, dict) and not problems(tp, value, strict=False))
    raise TypeError(f"no rule for the type {tp!r}")


def problems(cls: type, data: Mapping[str, Any], *, strict: bool = True, schema: int | None = None) -> list[str]:
    """What is wrong with a record's dict; empty when nothing is.

    Args:
        cls: the record class.
        data: the dict.
        strict: a writer's record: every ``always`` field of the schema and no undeclared one.
            False (a reader): only the ``required`` fields must be there, and other keys are let be.
        schema: the version the record is of (an older one lacks the fields added since); default: any.
    """
    fields = declared(cls)
    need = names(fields, always=True, schema=schema) if strict else names(fields, required=True)
    out = [f"missing {n}" for n in need if n not in data]
    if strict:
        known = set(names(fields))
        out += [f"undeclared {k}" for k in data if k not in known]
    out += [
        f"{f.name} is {_json_type(data[f.name])}, not {describe(f.type, detail=True)}"
        for f in fields
        if f.name in data and not conforms(data[f.name], f.type)
    ]
    return out


def _json_type(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return "null" if value is None else "object" if isinstance(value, dict) else "list"
    return type(value).__name__


def to_dict(rec: Any) -> dict[str, Any]:
    """A record's JSON dict, generated from its declaration (``ABSENT`` fields left out, nested records too).

    Raises:
        ValueError: a value is not of its field's type (a writer and the declaration disagree).
    """
    cls = type(rec)
    out = {f.name: _dump(v) for f in declared(cls) if (v := getattr(rec, f.attr)) is not ABSENT}
    wrong = problems(cls, out)
    if wrong:
        raise ValueError(f"{cls.__name__}: out of step with reports/runfile/schema.py: {'; '.join(wrong)}")
    return out


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def from_dict(cls: type[R], data: Mapping[str, Any], what: str, *, strict: bool = True, schema: int | None = None) -> R:
    """A record read from its dict (nested records too).

    A field the dict lacks is ``ABSENT`` when only some writers add it, and None when its record
    is of an older schema than the field (``strict`` False: any field not required). Nested
    records are read as strictly as their parent.

    Raises:
        ValueError: ``problems`` found something, named after ``what`` (e.g. ``extra_info``).
    """
    wrong = problems(cls, data, strict=strict, schema=schema)
    if wrong:
        raise ValueError(f"{what}: {'; '.join(wrong)}")
    kwargs = {
        f.attr: _load(f.type, data[f.name], strict) if f.name in data else (ABSENT if not f.always else None)
        for f in declared(cls)
    }
    return cls(**kwargs)


def _load(tp: Any, value: Any, strict: bool) -> Any:
    """A nested value as its type declares it: a dict of a record as the record, a list of them as records."""
    for a in _members(tp):
        if isinstance(a, type) and dataclasses.is_dataclass(a) and isinstance(value, dict) and conforms(value, a):
            return from_dict(a, value, getattr(a, "__name__", "record"), strict=strict)
        if typing.get_origin(a) is list and isinstance(value, list):
            return [_load(typing.get_args(a)[0], v, strict) for v in value]
    return value


def checked(cls: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A writer's record dict, rebuilt from its record: every field, no other, each of its type.

    Raises:
        ValueError: naming ``what`` and the fields out of step with reports/runfile/schema.py.
    """
    return to_dict(from_dict(cls, data, f"{what}: fields out of step with reports/runfile/schema.py"))
