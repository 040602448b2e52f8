"""Request bodies into wire Structs, with whole-number floats allowed in integer fields.

JSON Schema counts ``92.0`` as an integer, and so do clients that write every number as a
float (JavaScript, jq, spreadsheets); msgspec refuses it. The strict typed decode stays
the path of every well-formed request; only a body it refuses is looked at again, with
integral floats made ints where the Struct declares an int, and nowhere else: a payload
is the user's and keeps its ``2.0``, and ``"92"`` or ``92.5`` are still refused, the
error naming the field.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

S = TypeVar("S", bound=msgspec.Struct)


def decode(raw: bytes, kind: type[S]) -> S:
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError:
        return msgspec.convert(whole_numbers(msgspec.json.decode(raw), kind), kind)


def convert(value: Any, kind: type[S]) -> S:
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
