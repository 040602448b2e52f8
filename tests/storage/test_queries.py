"""The named-query loader: blocks by name, uses of earlier blocks, run-time holes."""

from __future__ import annotations

import re

import pytest

from leaseq.server.storage import queries

TEXT = """-- A preamble is not a query.

-- name: columns
-- The reader's note, not sent.
id, queue

-- name: get
SELECT {columns} FROM jobs WHERE id = ?

-- name: some
SELECT {columns} FROM jobs WHERE id IN ({ids})
"""


def test_blocks_are_named_expanded_and_stripped_of_comments() -> None:
    parsed = queries.parse(TEXT)
    assert parsed == {
        "columns": "id, queue",
        "get": "SELECT id, queue FROM jobs WHERE id = ?",
        "some": "SELECT id, queue FROM jobs WHERE id IN ({ids})",
    }
    assert queries.fill(parsed["some"], ids="?, ?") == (
        "SELECT id, queue FROM jobs WHERE id IN (?, ?)"
    )


def test_a_hole_left_open_or_a_name_given_twice_is_an_error() -> None:
    with pytest.raises(KeyError):
        queries.fill(queries.parse(TEXT)["some"])
    with pytest.raises(ValueError, match="twice"):
        queries.parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


@pytest.mark.parametrize(
    ("backend", "holes"),
    [
        ("sqlite", {"lease": ["seqs"], "jobs_by_ids": ["ids"], "update_job": ["sets"],
                    "list_jobs": ["seq", "source", "where", "seq"], "queue_settings": ["names"],
                    "limited_queues": ["names"]}),
        ("postgres", {"list_jobs": ["seq", "source", "where", "seq"]}),
    ],
)  # fmt: skip
def test_each_backend_leaves_only_its_run_time_holes(
    backend: str, holes: dict[str, list[str]]
) -> None:
    loaded = queries.load(f"leaseq.server.storage.{backend}")
    found = {name: re.findall(r"\{(\w+)\}", sql) for name, sql in loaded.items()}
    assert {name: h for name, h in found.items() if h} == holes
    lines = [line.lstrip() for sql in loaded.values() for line in sql.splitlines()]
    assert not [line for line in lines if line.startswith("--")]
