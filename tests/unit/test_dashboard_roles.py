"""The dashboard's sign-in strips a role prefix the way ``leaseq.core.tokens`` does, so
its list of roles must be the server's."""

from __future__ import annotations

import re
from pathlib import Path

from leaseq.core.tokens import Role

API_JS = Path(__file__).parents[2] / "src/leaseq/dashboard/static/lib/api.js"


def test_the_dashboard_knows_the_roles_of_core_tokens() -> None:
    found = re.search(r"const ROLES = \[(.*?)\];", API_JS.read_text())
    assert found is not None
    assert re.findall(r'"(\w+)"', found[1]) == [r.value for r in Role]
