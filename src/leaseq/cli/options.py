"""What every ``leaseq`` command shares about its options.

Each setting is a flag and a ``LEASEQ_<NAME>`` variable, named after the parameter, and
``--help`` shows both; the defaults come from the frozen config objects (``Settings``,
``WorkerConfig``), never from the command's signature alone.
"""

from __future__ import annotations

from typing import Any

import typer


def opt(name: str, help: str) -> Any:
    """The option of parameter ``name``, also read from ``LEASEQ_<NAME>``."""
    return typer.Option(envvar=f"LEASEQ_{name.upper()}", help=help, show_envvar=True)
