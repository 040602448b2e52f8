"""The ``leaseq`` command: ``serve`` and ``migrate`` here, ``worker`` and the operator
commands in their modules. Each ``serve`` option is a flag or a ``LEASEQ_*`` variable with
``Settings``' default; both feed one validated ``Settings``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from leaseq.cli import fleet as cli_fleet
from leaseq.cli import ops as cli_ops
from leaseq.cli import queues as cli_queues
from leaseq.cli import schedules as cli_schedules
from leaseq.cli import waiting as cli_waiting
from leaseq.cli import worker as cli_worker
from leaseq.cli.options import FlagCommand, FlagGroup, opt
from leaseq.server.config import Durability, LogFormat, Settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="leaseq: a durable HTTP job queue.",
    cls=FlagGroup,
)


@app.callback()
def _root() -> None:
    """leaseq: a durable HTTP job queue. Server and operator tools."""


_DEFAULTS = Settings()
"""Where ``serve`` and ``migrate`` read their defaults: each is written once, in ``Settings``."""

_HELP = {
    "host": "Interface to listen on.",
    "port": "TCP port.",
    "db": "sqlite:///path or postgresql:// URL.",
    "lease_seconds": "Default lease length.",
    "retry_base": "Backoff base, seconds.",
    "retry_cap": "Backoff cap, seconds.",
    "reap_interval": "Seconds between reaper passes.",
    "retention": "Seconds DONE/CANCELLED jobs are kept; 0 keeps them forever.",
    "max_body": "Largest request body, bytes.",
    "max_answer_bytes": "A poll or a page of jobs or events stops before the job that would"
    " take it past this many bytes of payloads, results and errors (it always answers one;"
    " next_cursor goes on).",
    "durability": "SQLite: full (power-safe) or normal (crash-safe).",
    "log_level": "debug, info, warning, error.",
    "log_format": "text or json.",
    "token": "Require bearer tokens: role:secret (roles: read, producer, worker, admin) or a"
    " bare admin secret; repeat or comma-separate.",
    "poll_rate": "Polls/s allowed per client address (429 above); 0 = off.",
    "max_queue_depth": "Ready jobs per queue before enqueue gets 429; 0 = off.",
    "ssl_certfile": "TLS certificate (PEM).",
    "ssl_keyfile": "TLS private key (PEM).",
    "max_header_bytes": "Largest request line plus headers, bytes (431 above).",
    "header_timeout": "Seconds to send a request's headers (408 and closed after).",
    "keep_alive": "Seconds an idle keep-alive connection stays open.",
    "max_connections": "Open connections at once (503 above); 0 = the fd limit less a headroom.",
    "allow_origin": "A browser origin (scheme://host[:port]) accepted besides the server's"
    " own; repeat or comma-separate. '*' is refused.",
    "allowed_host": "A Host name to answer for besides loopback names; given, Host is"
    " checked on any address. Repeat or comma-separate.",
}
"""The help of each ``serve`` flag, by parameter name (which is also its ``LEASEQ_`` name)."""


def _flag(name: str) -> Any:
    return opt(name, _HELP[name])


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, _flag("host")] = _DEFAULTS.host,
    port: Annotated[int, _flag("port")] = _DEFAULTS.port,
    db: Annotated[str, _flag("db")] = _DEFAULTS.db,
    lease_seconds: Annotated[float, _flag("lease_seconds")] = _DEFAULTS.lease_seconds,
    retry_base: Annotated[float, _flag("retry_base")] = _DEFAULTS.retry_base,
    retry_cap: Annotated[float, _flag("retry_cap")] = _DEFAULTS.retry_cap,
    reap_interval: Annotated[float, _flag("reap_interval")] = _DEFAULTS.reap_interval,
    retention: Annotated[float, _flag("retention")] = _DEFAULTS.retention,
    max_body: Annotated[int, _flag("max_body")] = _DEFAULTS.max_body,
    max_answer_bytes: Annotated[int, _flag("max_answer_bytes")] = _DEFAULTS.max_answer_bytes,
    durability: Annotated[Durability, _flag("durability")] = _DEFAULTS.durability,
    log_level: Annotated[str, _flag("log_level")] = _DEFAULTS.log_level,
    log_format: Annotated[LogFormat, _flag("log_format")] = _DEFAULTS.log_format,
    # Repeatable, so typer's default is None, not Settings' empty tuple.
    token: Annotated[list[str] | None, _flag("token")] = None,
    poll_rate: Annotated[float, _flag("poll_rate")] = _DEFAULTS.poll_rate,
    max_queue_depth: Annotated[int, _flag("max_queue_depth")] = _DEFAULTS.max_queue_depth,
    ssl_certfile: Annotated[str | None, _flag("ssl_certfile")] = _DEFAULTS.ssl_certfile,
    ssl_keyfile: Annotated[str | None, _flag("ssl_keyfile")] = _DEFAULTS.ssl_keyfile,
    max_header_bytes: Annotated[int, _flag("max_header_bytes")] = _DEFAULTS.max_header_bytes,
    header_timeout: Annotated[float, _flag("header_timeout")] = _DEFAULTS.header_timeout,
    keep_alive: Annotated[float, _flag("keep_alive")] = _DEFAULTS.keep_alive,
    max_connections: Annotated[int, _flag("max_connections")] = _DEFAULTS.max_connections,
    allow_origin: Annotated[list[str] | None, _flag("allow_origin")] = None,
    allowed_host: Annotated[list[str] | None, _flag("allowed_host")] = None,
) -> None:
    """Start the job server."""
    fields = settings_fields(ctx.params)
    try:
        settings = Settings(**fields)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from leaseq.server.run import serve as run

    run(settings)


REPEATED = {"token": "tokens", "allow_origin": "allow_origins", "allowed_host": "allowed_hosts"}
"""Repeatable flags (one value per flag) and the tuple field of Settings each feeds."""


def settings_fields(params: dict[str, Any]) -> dict[str, Any]:
    """``serve``'s parameters as Settings fields: every one is the field of its name,
    except the repeatable flags of ``REPEATED``; Settings validates them all at once.
    Origins and hosts may also be comma-separated (tokens split their own commas)."""
    fields = dict(params)
    for flag, field in REPEATED.items():
        values = fields.pop(flag) or ()
        if flag != "token":
            values = [v.strip() for value in values for v in value.split(",") if v.strip()]
        fields[field] = tuple(values)
    return fields


# The worker and the operator commands live in their own modules; registered after
# ``serve`` so the help lists the server first.
cli_worker.register(app)
cli_ops.register(app)
cli_waiting.register(app)
cli_queues.register(app)
cli_schedules.register(app)
cli_fleet.register(app)


@app.command()
def migrate(
    db: Annotated[str, _flag("db")] = _DEFAULTS.db,
) -> None:
    """Apply pending schema migrations and exit. `serve` applies them too at start-up;
    this lets a deployment migrate once before rolling out new nodes."""
    import asyncio

    from leaseq.errors import LeaseqError
    from leaseq.server.storage import open_storage

    async def run() -> None:
        storage = open_storage(db)
        await storage.open()
        await storage.close()

    try:
        asyncio.run(run())
    except LeaseqError as exc:
        typer.echo(f"leaseq migrate: {exc.message}", err=True)
        raise typer.Exit(4) from exc
    typer.echo("schema is up to date")


def _flags_as_flags(cli: typer.Typer) -> None:
    """Every command's ``--help`` shown as a flag (see ``FlagCommand``), set here once
    rather than at each registration."""
    for info in cli.registered_commands:
        if info.cls is None or info.cls is TyperCommand:
            info.cls = FlagCommand


_flags_as_flags(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
