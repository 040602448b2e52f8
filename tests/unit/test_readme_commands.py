"""The README opens with two commands, and CI runs the second one as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands(root: Path = ROOT) -> tuple[str, str]:
    """The first ``bash`` block of the README: line 1 serves, line 2 tests."""
    found = re.search(r"```bash\n(.*?)```", (root / "README.md").read_text(), re.S)
    assert found is not None, "the README has no bash block"
    serve, tests = found[1].strip().splitlines()
    return serve, tests


def test_both_lines_install_in_place_into_one_venv() -> None:
    # Editable installs leave the package files where they are, so line 2 reinstalling
    # while line 1's server runs cannot pull the dashboard's files from under it.
    for line in readme_commands():
        assert line.startswith("python3 -m venv .venv && .venv/bin/pip install -q -e "), line


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = readme_commands()
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()
