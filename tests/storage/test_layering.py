"""Storage sits below the service: it imports neither the service, the HTTP layer nor
the client, and each backend keeps to its own folder."""

from __future__ import annotations

import ast
from pathlib import Path

import leaseq.server.storage as storage

ROOT = Path(storage.__file__).parent
FORBIDDEN = ("leaseq.server.http", "leaseq.server.service", "leaseq.client")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_storage_imports_nothing_above_it() -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in ROOT.rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    }
    assert not offending


def test_a_backend_does_not_import_the_other() -> None:
    for backend, other in (("sqlite", "postgres"), ("postgres", "sqlite")):
        for path in (ROOT / backend).rglob("*.py"):
            assert not any(
                name.startswith(f"leaseq.server.storage.{other}") for name in _imports(path)
            ), path
