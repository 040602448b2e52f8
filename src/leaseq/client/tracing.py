"""Trace context across the queue, with ``opentelemetry-api`` when it is installed
(``pip install 'leaseq[otel]'``); without it both functions do nothing.

A job carries the W3C ``traceparent`` of the span that enqueued it: ``traceparent()`` is
what an enqueue sends when the caller gave none. The worker runs each attempt inside
``attempt(job)``, a span of its own (kind CONSUMER) *linked* to the producer's context
rather than its child: an attempt may run long after the request that enqueued it ended,
and a retried job has several attempts, which OpenTelemetry's messaging conventions model
as links. The span is current while the task runs (a plain function gets the context
through ``contextvars``, ``running.execute``), so the task's own spans are its children.
No global provider is set here: with none configured the API's spans are no-ops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    from opentelemetry import trace
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the optional extra is not installed
    trace = None  # type: ignore[assignment]

from leaseq.client.models import Job

TRACER = "leaseq"
"""The instrumentation scope of the worker's spans."""


def traceparent() -> str | None:
    """The current span's context as a ``traceparent`` (None when there is no valid
    span, or no OpenTelemetry)."""
    if trace is None:
        return None
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def attempt(job: Job) -> Iterator[Any]:
    """A span for one attempt at ``job``, linked to the context it was enqueued in; the
    span (or None without OpenTelemetry, or with no provider configured) is what
    ``with`` gives.

    With the API installed but no ``TracerProvider`` set (in code, or by
    ``OTEL_PYTHON_TRACER_PROVIDER``), every span would be a no-op, and making one per
    attempt (its tracer, links, attributes, the context it is made current in) cost a
    worker about a sixth of its CPU per job; so then none is made."""
    if trace is None or isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        yield None
        return
    links = []
    if job.traceparent is not None:
        parent = TraceContextTextMapPropagator().extract({"traceparent": job.traceparent})
        context = trace.get_current_span(parent).get_span_context()
        if context.is_valid:
            links.append(Link(context))
    attributes: dict[str, str | int] = {
        "messaging.system": "leaseq",
        "messaging.destination.name": job.queue,
        "messaging.message.id": job.id,
        "leaseq.task": job.task or "",
        "leaseq.attempt": job.attempts,
    }
    tracer = trace.get_tracer(TRACER)
    name = f"{job.task or 'job'} process"
    with tracer.start_as_current_span(
        name, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        yield span


def outcome(span: Any, error_type: str | None, summary: str | None) -> None:
    """Marks the attempt's span failed when its task failed (``Outcome``'s fields)."""
    if span is None or summary is None:
        return
    span.set_status(Status(StatusCode.ERROR, summary))
    if error_type is not None:
        span.set_attribute("error.type", error_type)
