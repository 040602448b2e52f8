"""The package's sides, checked: which part may import which.

The tree says where a change belongs only while these rules hold, so they are a test and
not a convention: the pure core imports no other side, the server never imports the
client (nor the client the server), the HTTP layer never names a storage backend, and
storage never reaches up into the HTTP layer or the service.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import leaseq

ROOT = Path(leaseq.__file__).parent


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at the top or inside a function, made absolute."""
    package = ".".join(("leaseq", *path.relative_to(ROOT).with_suffix("").parts))
    if path.name == "__init__.py":
        package = package.removesuffix(".__init__")
    else:
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                prefix = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{prefix}.{base}" if base else prefix
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _modules(side: str) -> list[Path]:
    return sorted((ROOT / side).rglob("*.py"))


RULES = [
    ("core", ("leaseq.server", "leaseq.client", "leaseq.cli", "leaseq.dashboard")),
    ("server", ("leaseq.client", "leaseq.cli")),
    ("client", ("leaseq.server", "leaseq.cli", "leaseq.dashboard")),
    ("server/http", ("leaseq.server.storage.sqlite", "leaseq.server.storage.postgres")),
    ("server/storage", ("leaseq.server.http", "leaseq.server.service", "starlette")),
]


@pytest.mark.parametrize(("side", "forbidden"), RULES, ids=[side for side, _ in RULES])
def test_import_rules(side: str, forbidden: tuple[str, ...]) -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(side)
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert broken == []


def test_the_rules_see_imports_inside_functions() -> None:
    """The checker would pass vacuously if it missed an import; show it finds one that
    sits inside a function, as the lazy imports of backends do."""
    found = set(_imports(ROOT / "server" / "storage" / "__init__.py"))
    assert any(name.startswith("leaseq.server.storage.sqlite") for name in found), found


def test_the_server_does_not_load_the_client_at_run_time() -> None:
    """Static rules miss what ``leaseq/__init__.py`` drags in; import the server's entry
    points in a fresh interpreter and look at what got loaded."""
    code = (
        "import sys, leaseq.server.run, leaseq.server.wiring;"
        "print(sorted(m for m in sys.modules if m.startswith(('leaseq.client', 'leaseq.cli'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_public_names_still_resolve() -> None:
    assert leaseq.Client.__module__ == "leaseq.client.sync"
    assert leaseq.App.__module__ == "leaseq.client.tasks"
    assert set(leaseq.__all__) <= set(dir(leaseq))


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def test_modules_and_functions_stay_small() -> None:
    """The size budgets of DESIGN.md: a module over 400 lines or a function over 40 is
    the sign that something has two jobs."""
    over = []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        if (lines := text.count("\n")) > MAX_MODULE_LINES:
            over.append(f"{path.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    over.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length}")
    assert over == []
