"""Trace context with OpenTelemetry (``leaseq[otel]``): the SDK sends the current span's
``traceparent`` on enqueue, and the worker runs each attempt in a CONSUMER span linked
to it, current while the task runs. A real server; the worker runs in this process so
that the SDK's in-memory exporter sees its spans."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import leaseq
from leaseq.client import tracing
from leaseq.client.worker import Worker, WorkerConfig
from leaseq.core.model import JobState

EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (set once: OpenTelemetry allows no second) and its
    exporter, emptied for each test."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def _hex(n: int, digits: int) -> str:
    return f"{n:0{digits}x}"


def _named(found: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in found if s.name == name]


async def test_an_attempt_runs_in_a_span_linked_to_the_enqueue(
    client: leaseq.Client, spans: InMemorySpanExporter
) -> None:
    app = leaseq.App(client.url)
    tracer = trace.get_tracer("test")

    @app.task(queue="traced")
    def charge(amount: int) -> int:
        with tracer.start_as_current_span("inside charge"):  # a child of the attempt
            return amount

    @app.task(queue="traced", max_tries=1)
    async def refund(amount: int) -> None:
        raise ValueError(f"cannot refund {amount}")

    with tracer.start_as_current_span("checkout") as checkout:
        ok = charge.enqueue(5)
        bad = refund.enqueue(7)
    context = checkout.get_span_context()
    ids, flags = (_hex(context.trace_id, 32), _hex(context.span_id, 16)), int(context.trace_flags)
    sent = f"00-{ids[0]}-{ids[1]}-{flags:02x}"
    assert ok.traceparent == sent and bad.traceparent == sent

    worker = Worker(app, WorkerConfig(poll_wait=0.5, put_schedules=False))
    running = asyncio.create_task(worker.run())
    try:
        async with leaseq.AsyncClient(client.url) as aio:
            assert (await aio.wait(ok.id, 20)).result == 5
            assert (await aio.wait(bad.id, 20)).state is JobState.DEAD
    finally:
        worker.stop()
        await asyncio.wait_for(running, 20)
        app.close()

    found = spans.get_finished_spans()
    (attempt,) = _named(found, "charge process")
    assert attempt.kind is SpanKind.CONSUMER
    (link,) = attempt.links
    assert (link.context.trace_id, link.context.span_id) == (context.trace_id, context.span_id)
    assert attempt.context is not None and attempt.context.trace_id != context.trace_id
    attrs = dict(attempt.attributes or {})
    assert attrs["messaging.message.id"] == ok.id and attrs["leaseq.attempt"] == 1
    assert attrs["messaging.destination.name"] == "traced"
    (inside,) = _named(found, "inside charge")  # ran in the pool's thread, in the span
    assert inside.parent is not None and inside.parent.span_id == attempt.context.span_id
    (failed,) = _named(found, "refund process")
    assert failed.status.status_code is StatusCode.ERROR
    assert "cannot refund 7" in (failed.status.description or "")
    assert dict(failed.attributes or {})["error.type"] == "ValueError"


def test_without_a_current_span_nothing_is_sent(
    client: leaseq.Client, spans: InMemorySpanExporter
) -> None:
    assert tracing.traceparent() is None
    job = client.enqueue({"args": []}, task="noop", queue="untraced")
    assert job.traceparent is None
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with trace.get_tracer("test").start_as_current_span("outer"):
        kept = client.enqueue({"args": []}, task="noop", queue="untraced", traceparent=given)
    assert kept.traceparent == given  # the caller's own wins over the current span's


def test_without_opentelemetry_both_do_nothing(
    monkeypatch: pytest.MonkeyPatch, client: leaseq.Client
) -> None:
    monkeypatch.setattr(tracing, "trace", None)
    assert tracing.traceparent() is None
    job = client.enqueue({"args": []}, task="noop", queue="untraced")
    with tracing.attempt(job) as span:
        assert span is None
    tracing.outcome(span, "ValueError", "ValueError: x")  # nothing to mark
