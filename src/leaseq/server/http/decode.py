"""Request bytes into what the service takes, in one call per route: the body is parsed,
validated into its wire Struct and, when the request has a domain value, made into it
(``wire.*.to_domain``). Queries are validated the same way.

Whole-number floats are allowed in integer fields.

JSON Schema counts ``92.0`` as an integer, and so do clients that write every number as a
float (JavaScript, jq, spreadsheets); msgspec refuses it. The strict typed decode stays
the path of every well-formed request; only a body it refuses is looked at again, with
integral floats made ints where the Struct declares an int, and nowhere else: a payload
is the user's and keeps its ``2.0``, and ``"92"`` or ``92.5`` are still refused, the
error naming the field.

Nesting is bounded (``limits.MAX_JSON_DEPTH``) before anything decodes a body: msgspec
recurses once per level, and a 2 KB body of a thousand brackets would otherwise end in a
``RecursionError`` (a 500, with a traceback per request).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any, Protocol, TypeVar

import msgspec
import msgspec.inspect as mi

from leaseq.core.limits import MAX_JSON_DEPTH
from leaseq.errors import InvalidRequest

S = TypeVar("S", bound=msgspec.Struct)
D = TypeVar("D", covariant=True)


class ToDomain(Protocol[D]):
    """A wire request that knows its domain value (``wire.JobSpecIn`` and the like)."""

    def to_domain(self) -> D: ...


def one_or_batch(
    raw: bytes, key: str, one: type[ToDomain[D]], batch: type[ToDomain[D]]
) -> tuple[D, bool]:
    """The domain value of a body that is either one item or, when it has ``key``, a
    batch of them; and whether it was the batch (the answer has that shape too)."""
    value = parse(raw)
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    kind = batch if key in value else one
    return convert(value, kind).to_domain(), kind is batch


def query(params: Mapping[str, str], kind: type[S]) -> S:
    """A query string into its Struct: strings become the numbers the Struct declares, and
    a list field takes every value of its name (``?tag=a&tag=b``; Starlette's
    ``QueryParams.getlist``), where any other field takes the last."""
    values: dict[str, Any] = dict(params)
    getlist = getattr(params, "getlist", None)
    for name in _list_fields(kind):
        if name in values:
            values[name] = getlist(name) if getlist is not None else [values[name]]
    return msgspec.convert(values, kind, strict=False)


@functools.cache
def _list_fields(kind: type) -> tuple[str, ...]:
    info = _info(kind)
    assert isinstance(info, mi.StructType)
    return tuple(f.encode_name for f in info.fields if isinstance(_bare(f.type), mi.ListType))


def _bare(t: mi.Type) -> mi.Type:
    return _bare(t.type) if isinstance(t, mi.Metadata) else t


def decode(raw: bytes, kind: type[S]) -> S:
    check_depth(raw)
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError:
        return msgspec.convert(whole_numbers(msgspec.json.decode(raw), kind), kind)


def parse(raw: bytes) -> Any:
    """Any JSON body, refused when nested deeper than ``MAX_JSON_DEPTH``."""
    check_depth(raw)
    return msgspec.json.decode(raw)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A JSON string, escapes included; unrolled, so it cannot backtrack badly."""
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_RUN = re.compile(rb"\[+|\]+")
_PEELED = 8
_TOO_DEEP = f"the body is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects"


def check_depth(raw: bytes) -> None:
    """Raises ``InvalidRequest`` for a body nested deeper than ``MAX_JSON_DEPTH``.

    A body with few brackets cannot be deep and passes on two counts. Otherwise it must
    first be valid JSON (a malformed body stays a 400; one too deep for msgspec's own
    stack is refused here), so its brackets balance: strings are cut out, the rest
    reduced to ``[`` and ``]``, the innermost pairs peeled off a few times at C speed,
    and the depth of what is left summed over runs of brackets, of which peeling leaves
    few. A 1 MiB body costs at most a few tens of milliseconds.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    try:
        msgspec.json.decode(raw, type=msgspec.Raw)  # validates without building objects
    except RecursionError:
        raise InvalidRequest(_TOO_DEEP) from None
    brackets = _STRING.sub(b"", raw).translate(_SQUARE, _NOT_BRACKETS)
    peeled = 0
    while brackets and peeled < _PEELED:
        brackets, peeled = brackets.replace(b"[]", b""), peeled + 1
    runs = _RUN.findall(brackets)
    rest = max(accumulate(len(r) if r[0] == 0x5B else -len(r) for r in runs), default=0)
    if peeled + rest > MAX_JSON_DEPTH:
        raise InvalidRequest(_TOO_DEEP)


T = TypeVar("T")


def convert(value: Any, kind: type[T]) -> T:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return msgspec.convert(whole_numbers(value, kind), kind)


def whole_numbers(value: Any, kind: type) -> Any:
    """``value`` with each integral float that stands where ``kind`` wants an int made
    an int; everything else, valid or not, as it was (the convert that follows judges)."""
    return _walk(value, _info(kind))


@functools.cache
def _info(kind: type) -> mi.Type:
    return mi.type_info(kind)


def _walk(value: Any, t: mi.Type) -> Any:
    if isinstance(t, mi.IntType):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(t, mi.Metadata):
        return _walk(value, t.type)
    if isinstance(t, mi.UnionType):
        for member in t.types:
            value = _walk(value, member)
        return value
    if isinstance(t, mi.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in t.fields}
        return {k: _walk(v, fields[k]) if k in fields else v for k, v in value.items()}
    if isinstance(t, mi.ListType) and isinstance(value, list):
        return [_walk(v, t.item_type) for v in value]
    return value
