"""The HTTP layer's import rules, read from the source: ``http/`` never imports a storage
backend (it reaches storage only through the service), and the domain (``core/``, the
error tree) never imports the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import leaseq

ROOT = Path(leaseq.__file__).parent
BACKENDS = ("leaseq.server.storage.sqlite", "leaseq.server.storage.postgres")
WEB = ("starlette", "uvicorn", "prometheus_client", "leaseq.server")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from leaseq.server.storage import sqlite`` imports the backend too.
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offending(paths: list[Path], banned: tuple[str, ...]) -> dict[str, set[str]]:
    found = {
        str(p.relative_to(ROOT)): {n for n in _imports(p) if n.startswith(banned)} for p in paths
    }
    return {path: names for path, names in found.items() if names}


def test_http_imports_no_storage_backend() -> None:
    http = sorted((ROOT / "server" / "http").glob("*.py"))
    assert http
    assert _offending(http, BACKENDS) == {}


def test_the_domain_imports_no_web_framework() -> None:
    domain = [*sorted((ROOT / "core").glob("*.py")), ROOT / "errors.py"]
    assert _offending(domain, WEB) == {}
