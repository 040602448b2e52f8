"""The OpenAPI document, generated from the route table and the wire Structs.

msgspec produces the JSON Schemas, so the document cannot drift from what the server
actually accepts; ``/docs`` renders it with Swagger UI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import msgspec.inspect as mi

from leaseq import __version__
from leaseq.core import limits
from leaseq.core.tokens import Role
from leaseq.server.http.wire import ErrorOut

REF = "#/components/schemas/{name}"

PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "pattern": limits.SCHEDULE_NAME_PATTERN},
}
"""Path parameters that have a rule (a schedule's name); any other is a plain string."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    body: tuple[type, ...] = ()
    query: type | None = None
    path_params: type | None = None
    """A Struct whose fields type the path's ``{names}``; without one they are any string."""
    responses: Mapping[int, type | tuple[type, ...]] = field(default_factory=dict)
    """Status -> answer type; a tuple when one status has several shapes (single or batch)."""
    role: Role | None = Role.READ
    """Who may call it when tokens are configured; None is open to all (``/health``)."""


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    types: list[type] = [ErrorOut]
    for e in endpoints:
        types.extend(e.body)
        types.extend(t for kinds in e.responses.values() for t in _kinds(kinds))
    types = list(dict.fromkeys(types))
    refs, components = msgspec.json.schema_components(types, ref_template=REF)
    ref_of = dict(zip(types, refs, strict=True))
    for t in _nested_structs(types):
        _field_rules(t, components[t.__name__])
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, ref_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": "leaseq", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(e: Endpoint, ref_of: dict[type, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": e.summary, "operationId": _operation_id(e)}
    if e.role is not None:
        op["security"] = [{"bearer": []}]
        op["description"] = f"Needs a {e.role} or admin token when tokens are configured."
    if e.body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _one_of(ref_of, e.body)}},
        }
    params = _parameters(e)
    if params:
        op["parameters"] = params
    op["responses"] = {
        str(status): {
            "description": " or ".join(t.__name__ for t in _kinds(kinds)),
            "content": {"application/json": {"schema": _one_of(ref_of, _kinds(kinds))}},
        }
        for status, kinds in e.responses.items()
    }
    op["responses"]["default"] = {
        "description": "Error",
        "content": {"application/json": {"schema": ref_of[ErrorOut]}},
    }
    return op


def _field_rules(kind: type, schema: dict[str, Any]) -> None:
    """States a Struct's rules between fields (``wire._In``), which msgspec cannot see in
    ``__post_init__``: exactly one given is ``oneOf`` a branch per field that requires it
    not null; at most one is ``anyOf`` a branch per field that allows only null."""
    props = schema.get("properties", {})
    exactly: tuple[str, ...] = getattr(kind, "EXACTLY_ONE", ())
    if exactly:
        schema["oneOf"] = [
            {"required": [name], "properties": {name: _not_null(props[name])}} for name in exactly
        ]
    _set_by_server(kind, props)
    at_most: tuple[str, ...] = getattr(kind, "AT_MOST_ONE", ())
    if at_most:
        schema["anyOf"] = [
            {"properties": {name: {"type": "null"} for name in at_most if name != given}}
            for given in at_most
        ]
    if getattr(kind, "AT_LEAST_ONE_FIELD", False):
        schema["minProperties"] = 1


def _set_by_server(kind: type, props: dict[str, Any]) -> None:
    """Fields a request inherits but must leave at their default (``SET_BY_SLOT``) may
    only be that default, or absent."""
    fixed: dict[str, Any] = getattr(kind, "SET_BY_SLOT", {})
    for name, default in fixed.items():
        props[name] = {"type": "null"} if default is None else {"enum": [default]}


def _nested_structs(types: list[type]) -> list[type]:
    """``types`` and every Struct inside them, once each: a rule between fields holds on a
    nested request too (a schedule's ``job``)."""
    found: dict[type, None] = {}

    def walk(t: mi.Type) -> None:
        if isinstance(t, mi.StructType):
            if t.cls in found:
                return
            found[t.cls] = None
            for f in t.fields:
                walk(f.type)
        elif isinstance(t, mi.Metadata):
            walk(t.type)
        elif isinstance(t, mi.UnionType):
            for member in t.types:
                walk(member)
        elif isinstance(t, mi.ListType | mi.DictType):
            walk(t.item_type if isinstance(t, mi.ListType) else t.value_type)

    for info in mi.multi_type_info(types):
        walk(info)
    return list(found)


def _not_null(prop: dict[str, Any]) -> Any:
    """The schema of an optional field (``X | None``, an ``anyOf`` with null) without null."""
    members = [m for m in prop.get("anyOf", [prop]) if m != {"type": "null"}]
    return members[0] if len(members) == 1 else {"anyOf": members}


def _kinds(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _one_of(ref_of: dict[type, Any], kinds: tuple[type, ...]) -> Any:
    return ref_of[kinds[0]] if len(kinds) == 1 else {"oneOf": [ref_of[t] for t in kinds]}


def _operation_id(e: Endpoint) -> str:
    words = [w for w in e.path.replace("{", "").replace("}", "").split("/") if w]
    return "_".join([e.method.lower(), *words]) or "root"


def _parameters(e: Endpoint) -> list[dict[str, Any]]:
    typed = {} if e.path_params is None else _properties(e.path_params)
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": typed.get(name) or PATH_PARAMETERS.get(name, {"type": "string"})}
        for name in _path_names(e.path)
    ]  # fmt: skip
    if e.query is not None:
        schema = _schema(e.query)
        required = set(schema.get("required", ()))
        params.extend(
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        )
    return params


def _schema(kind: type) -> dict[str, Any]:
    (_,), components = msgspec.json.schema_components([kind], ref_template=REF)
    schema: dict[str, Any] = components[kind.__name__]
    return schema


def _properties(kind: type) -> dict[str, Any]:
    props: dict[str, Any] = _schema(kind)["properties"]
    return props


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
