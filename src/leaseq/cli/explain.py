"""What the operator commands add to the server's answers so that they say the right
thing: a refusal named by the flag the operator typed, the total behind a page, and why
an id was not requeued."""

from __future__ import annotations

import re

from leaseq.client import Client, Job, JobSpec
from leaseq.core.limits import MAX_BATCH
from leaseq.core.model import JobState
from leaseq.errors import InvalidRequest, JobNotFound

_AT_FIELD = re.compile(r"\s*-?\s*at `\$\.(\w+)`")
NOT_FOUND = "no such job"


def enqueue_one(client: Client, spec: JobSpec) -> Job:
    """One job; a refusal names the flag the operator typed, not the field (``$.…``)."""
    try:
        job = client.enqueue_spec(spec)
    except InvalidRequest as exc:
        found = _AT_FIELD.search(exc.message)
        if found is None:
            raise
        name = found[1]
        where = "PAYLOAD" if name == "payload" else "--" + name.replace("_", "-")
        raise InvalidRequest(f"{where}: {_AT_FIELD.sub('', exc.message)}") from None
    return job


def total(client: Client, state: JobState | None, queue: str | None) -> int:
    """How many jobs a listing would hold without ``--limit``, from the counts the server
    keeps (one cheap request, no scan)."""
    queues = client.stats()
    chosen = [s for name, s in queues.items() if queue is None or name == queue]
    states = [state] if state is not None else list(JobState)
    return sum(getattr(s, st.value) for s in chosen for st in states)


def requeue_checked(client: Client, ids: list[str]) -> tuple[int, dict[str, str]]:
    """Requeues the DEAD ones of ``ids``: how many, and why each other one was not. The
    server answers only a count, so each id is looked at first."""
    skipped: dict[str, str] = {}
    dead_ids = []
    for job_id in ids:
        try:
            state = client.get_job(job_id).state
        except JobNotFound:
            skipped[job_id] = NOT_FOUND
            continue
        if state is JobState.DEAD:
            dead_ids.append(job_id)
        else:
            skipped[job_id] = f"it is {state}, not DEAD"
    batches = (dead_ids[i : i + MAX_BATCH] for i in range(0, len(dead_ids), MAX_BATCH))
    count = sum(client.requeue_dead(batch) for batch in batches)
    if count < len(dead_ids):
        # Requeued or cancelled by someone else between the look and the requeue.
        skipped["(the others)"] = f"{len(dead_ids) - count} stopped being DEAD meanwhile"
    return count, skipped
