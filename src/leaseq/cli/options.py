"""What every ``leaseq`` command shares about its options.

Each setting is a flag and a ``LEASEQ_<NAME>`` variable, named after the parameter, and
``--help`` shows both; the defaults come from the frozen config objects (``Settings``,
``WorkerConfig``), never from the command's signature alone.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


def opt(name: str, help: str) -> Any:
    """The option of parameter ``name``, also read from ``LEASEQ_<NAME>``."""
    return typer.Option(envvar=f"LEASEQ_{name.upper()}", help=help, show_envvar=True)


def flag(help: str, *names: str, count: bool = False) -> Any:
    """An on/off option (or a counted one, like ``-vv``): shown as the flag alone, without
    the ``<bool>`` or ``<int>`` value column typer gives it, since it takes no value."""
    return typer.Option(*names, help=help, metavar="", count=count, show_default=False)


def _as_flag(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


class FlagCommand(TyperCommand):
    """A command whose ``--help`` option is shown like the other flags (no ``<bool>``)."""

    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


class FlagGroup(TyperGroup):
    """The same for ``leaseq --help``."""

    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))
