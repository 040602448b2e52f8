"""Splitting many job specs into enqueue requests the server takes: pure, no I/O.

A batch request is refused whole when it holds more than ``limits.MAX_BATCH`` jobs (422)
or its body is bigger than the server's ``--max-body`` (413, 1 MiB by default). The
client does not know the server's setting, so it sends at most ``DEFAULT_BATCH_BYTES``
of encoded specs per request, half the default, which leaves room for a server set
lower and for the envelope; a caller who knows better passes its own figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from leaseq.client.models import JobSpec
from leaseq.core import limits

DEFAULT_BATCH_BYTES = 512 * 1024
"""Bytes of encoded job specs in one enqueue request when the caller does not say."""

_ENVELOPE = len(b'{"jobs":[]}')


def batches(
    specs: Iterable[JobSpec],
    max_bytes: int = DEFAULT_BATCH_BYTES,
    max_jobs: int = limits.MAX_BATCH,
) -> Iterator[list[JobSpec]]:
    """The specs, in order, in consecutive batches of at most ``max_jobs`` specs whose
    request body (``{"jobs": [...]}``) stays within ``max_bytes``. A spec too big for
    any batch goes alone: the server takes it, or answers 413 for that one only."""
    if max_bytes < 1 or max_jobs < 1:
        raise ValueError("a batch holds at least one job and one byte")
    encoder = msgspec.json.Encoder()
    batch: list[JobSpec] = []
    size = _ENVELOPE
    for spec in specs:
        grows = len(encoder.encode(spec)) + (1 if batch else 0)  # the comma before it
        if batch and (len(batch) == max_jobs or size + grows > max_bytes):
            yield batch
            batch, size, grows = [], _ENVELOPE, grows - 1
        batch.append(spec)
        size += grows
    if batch:
        yield batch
