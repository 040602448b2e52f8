"""With ``opentelemetry-api`` installed but no tracer provider, the worker makes no span
per attempt (each would be a no-op); once a provider is set, it does. In a fresh
process: OpenTelemetry takes one global provider per process, and the SDK tests set one."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from datetime import UTC, datetime
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from leaseq.client import tracing
from leaseq.client.models import Job
from leaseq.core.model import JobState

now = datetime.now(UTC)
job = Job(id="j", queue="q", task="t", payload=None, state=JobState.LEASED, priority=0,
          attempts=1, max_tries=3, run_at=now, lease_owner="w", lease_expires_at=now,
          last_error=None, result=None, idempotency_key=None, created_at=now, updated_at=now)
with tracing.attempt(job) as span:
    print("unconfigured", span)
trace.set_tracer_provider(TracerProvider())
with tracing.attempt(job) as span:
    print("configured", type(span).__name__, span.is_recording(), span.name)
"""


def test_no_span_without_a_provider_and_a_recording_one_with() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()  # fmt: skip
    assert out == ["unconfigured None", "configured _Span True t process"]
