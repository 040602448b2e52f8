"""Named SQL: each backend keeps its statements in one ``queries.sql``, loaded by name.

As procrastinate's ``sql/queries.sql``, a block starts with a ``-- name: <name>`` line and
runs to the next one. Whole-line comments are for the reader and are not sent. A block
may use a block defined above it by writing ``{name}`` (the job columns, PostgreSQL's
``now``), replaced once, when the file is loaded. Any other ``{hole}`` is for the few
statements whose text depends on the call (an ``IN`` list, the columns an update sets):
``fill`` puts the part built at run time there, and all the rest stays in the file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

_HEADER = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)
_HOLE = re.compile(r"\{(\w+)\}")


@functools.cache
def load(package: str) -> Mapping[str, str]:
    """The named queries of ``package``'s ``queries.sql``, parsed once per process."""
    text = resources.files(package).joinpath("queries.sql").read_text(encoding="utf-8")
    return MappingProxyType(parse(text))


def parse(text: str) -> dict[str, str]:
    """Splits ``text`` into its named blocks and expands each block's uses of others."""
    parts = _HEADER.split(text)  # [preamble, name, body, name, body, ...]
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in found:
            raise ValueError(f"queries.sql names {name!r} twice")
        lines = [
            line.rstrip()
            for line in body.splitlines()
            if line.strip() and not line.lstrip().startswith("--")
        ]
        found[name] = _HOLE.sub(lambda m: found.get(m[1], m[0]), "\n".join(lines))
    return found


def fill(query: str, **parts: str) -> str:
    """``query`` with its run-time holes filled; a hole left open is an error."""
    return _HOLE.sub(lambda m: parts[m[1]], query)
