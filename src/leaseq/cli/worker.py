"""``leaseq worker module:app``: import an ``App`` and run a ``Worker`` for it."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from leaseq.cli.options import flag, opt
from leaseq.client.tasks import App
from leaseq.client.worker import Worker
from leaseq.client.worker_config import WorkerConfig
from leaseq.core import limits

log = logging.getLogger("leaseq.client.worker")


def load_app(path: str) -> App:
    """``package.module:attribute``, imported the way ``python -m`` would (cwd first)."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise typer.BadParameter(f"expected module:attribute, got {path!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        app = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot load {path!r}: {exc}") from exc
    if not isinstance(app, App):
        raise typer.BadParameter(f"{path!r} is a {type(app).__name__}, not a leaseq.App")
    return app


async def _serve(app: App, config: WorkerConfig, url: str | None) -> Worker:
    if url:
        app.url = url
    worker = Worker(app, config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    await worker.run()
    return worker


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it is a dependency, except on Windows): the worker's
    own overhead per job is mostly event-loop machinery (tasks, callbacks, sockets)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(app: App, config: WorkerConfig, url: str | None = None) -> None:
    """Runs until SIGTERM/SIGINT, then exits 0. A plain function still running after the
    grace period cannot be stopped from outside its thread, and the interpreter would
    wait for it at exit, so the process ends with ``os._exit`` once its job is released."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        worker = runner.run(_serve(app, config, url))
    if worker.abandoned_threads:
        log.warning("exiting with %d task thread(s) still running", worker.abandoned_threads)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


_DEFAULTS = WorkerConfig()
"""Where the command reads its defaults: each is written once, in ``WorkerConfig``."""

PutSchedules = Annotated[
    bool,
    typer.Option(
        "--schedules/--no-schedules",
        envvar="LEASEQ_PUT_SCHEDULES",
        show_envvar=True,
        metavar="",
        help="Put the app's declared schedules on the server at start.",
    ),
]


def worker(
    app_path: Annotated[str, typer.Argument(metavar="MODULE:APP", help="e.g. myapp:app")],
    queues: Annotated[
        str | None, opt("queues", "Comma-separated queues; default: those of the app's tasks.")
    ] = ",".join(_DEFAULTS.queues) or None,
    concurrency: Annotated[int, opt("concurrency", "Jobs run at once.")] = _DEFAULTS.concurrency,
    lease_seconds: Annotated[
        float, opt("lease_seconds", "Lease asked for.")
    ] = _DEFAULTS.lease_seconds,
    grace: Annotated[
        float, opt("grace", "Seconds running jobs get on shutdown.")
    ] = _DEFAULTS.grace,
    poll_wait: Annotated[
        float, opt("poll_wait", f"Long-poll wait, seconds (<={limits.MAX_POLL_WAIT_S:g}).")
    ] = _DEFAULTS.poll_wait,
    url: Annotated[str | None, opt("url", "Server URL; default: the App's.")] = None,
    put_schedules: PutSchedules = _DEFAULTS.put_schedules,
    verbose: Annotated[int, flag(VERBOSE_HELP, "-v", "--verbose", count=True)] = 0,
) -> None:
    """Run the tasks of MODULE:APP.

    It polls the queues of the app's tasks unless --queues names others, and prints one
    line when it starts (server, queues, tasks, concurrency) and one per failed job.
    At start it puts the app's schedules on the server, never unpausing a paused one.
    SIGTERM or Ctrl-C stops polling, lets running jobs finish within --grace, releases
    the rest and exits 0; a second signal releases at once."""
    _configure_logging(verbose)
    try:
        config = WorkerConfig(
            queues=tuple(q.strip() for q in (queues or "").split(",") if q.strip()),
            concurrency=concurrency, lease_seconds=lease_seconds, grace=grace,
            poll_wait=poll_wait, put_schedules=put_schedules,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run(load_app(app_path), config, url)


VERBOSE_HELP = "-v: each job's start and end, and failures' tracebacks; -vv: every request too."


def _configure_logging(verbose: int) -> None:
    """The default level shows the start-up line, failures and warnings (per-job lines
    would flood a busy worker's log); ``-v`` adds the per-job lines, ``-vv`` httpx's."""
    level = logging.DEBUG if verbose > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("leaseq").setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request at INFO; that is -vv material.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


def register(cli: typer.Typer) -> None:
    cli.command()(worker)
