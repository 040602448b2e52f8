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
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import msgspec
import msgspec.inspect as mi

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
    value = msgspec.json.decode(raw)
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    kind = batch if key in value else one
    return convert(value, kind).to_domain(), kind is batch


def query(params: Mapping[str, str], kind: type[S]) -> S:
    """A query string into its Struct: strings become the numbers the Struct declares."""
    return msgspec.convert(dict(params), kind, strict=False)


def decode(raw: bytes, kind: type[S]) -> S:
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError:
        return msgspec.convert(whole_numbers(msgspec.json.decode(raw), kind), kind)


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
