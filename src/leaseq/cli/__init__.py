"""The ``leaseq`` command. Every option is a flag or a ``LEASEQ_*`` variable; both feed
one validated ``Settings``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from leaseq.cli import ops as cli_ops
from leaseq.cli import worker as cli_worker
from leaseq.server.config import Durability, LogFormat, Settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="leaseq: a durable HTTP job queue."
)


@app.callback()
def _root() -> None:
    """leaseq: a durable HTTP job queue. Server and operator tools."""


def _opt(env: str, help: str) -> Any:
    return typer.Option(envvar=f"LEASEQ_{env}", help=help, show_envvar=True)


@app.command()
def serve(
    host: Annotated[str, _opt("HOST", "Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, _opt("PORT", "TCP port.")] = 8080,
    db: Annotated[
        str, _opt("DB", "sqlite:///path or postgresql:// URL.")
    ] = "sqlite:///./leaseq.db",
    lease_seconds: Annotated[float, _opt("LEASE_SECONDS", "Default lease length.")] = 30.0,
    retry_base: Annotated[float, _opt("RETRY_BASE", "Backoff base, seconds.")] = 1.0,
    retry_cap: Annotated[float, _opt("RETRY_CAP", "Backoff cap, seconds.")] = 3600.0,
    reap_interval: Annotated[float, _opt("REAP_INTERVAL", "Seconds between reaper passes.")] = 1.0,
    retention: Annotated[
        float, _opt("RETENTION", "Seconds DONE/CANCELLED jobs are kept; 0 keeps them forever.")
    ] = 7 * 24 * 3600.0,
    max_body: Annotated[int, _opt("MAX_BODY", "Largest request body, bytes.")] = 1024 * 1024,
    durability: Annotated[
        Durability, _opt("DURABILITY", "SQLite: full (power-safe) or normal (crash-safe).")
    ] = Durability.FULL,
    log_level: Annotated[str, _opt("LOG_LEVEL", "debug, info, warning, error.")] = "info",
    log_format: Annotated[LogFormat, _opt("LOG_FORMAT", "text or json.")] = LogFormat.TEXT,
    token: Annotated[
        list[str] | None,
        _opt(
            "TOKEN",
            "Require bearer tokens: role:secret (roles: read, producer, worker,"
            " admin) or a bare admin secret; repeat or comma-separate.",
        ),
    ] = None,
    poll_rate: Annotated[
        float, _opt("POLL_RATE", "Polls/s allowed per client address (429 above); 0 = off.")
    ] = 0.0,
    max_queue_depth: Annotated[
        int, _opt("MAX_QUEUE_DEPTH", "Ready jobs per queue before enqueue gets 429; 0 = off.")
    ] = 0,
    ssl_certfile: Annotated[str | None, _opt("SSL_CERTFILE", "TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[str | None, _opt("SSL_KEYFILE", "TLS private key (PEM).")] = None,
) -> None:
    """Start the job server."""
    try:
        settings = Settings(
            host=host, port=port, db=db, lease_seconds=lease_seconds, retry_base=retry_base,
            retry_cap=retry_cap, reap_interval=reap_interval, retention=retention,
            max_body=max_body, durability=durability, log_level=log_level, log_format=log_format,
            tokens=tuple(token or ()), poll_rate=poll_rate, max_queue_depth=max_queue_depth,
            ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from leaseq.server.run import serve as run

    run(settings)


# The worker and the operator commands live in their own modules; registered after
# ``serve`` so the help lists the server first.
cli_worker.register(app)
cli_ops.register(app)


@app.command()
def migrate(
    db: Annotated[
        str, _opt("DB", "sqlite:///path or postgresql:// URL.")
    ] = "sqlite:///./leaseq.db",
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
