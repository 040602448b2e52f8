"""The fused ack-and-poll on every backend: the acks are applied, and durable, before
the claim (``QueueService.ack_and_poll`` over each store of the conformance fixture)."""

from __future__ import annotations

from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.core.queues import QueueChange
from leaseq.errors import LeaseLost
from leaseq.server.config import Settings
from leaseq.server.service import QueueService
from tests.storage.conftest import Store


async def test_acks_land_before_the_claim_and_survive_a_restart(store: Store) -> None:
    service = QueueService(store.storage, Settings())
    await service.update_queue("q", QueueChange(concurrency=1))
    await service.enqueue([NewJob(payload="1", queue="q"), NewJob(payload="2", queue="q")])
    (first,) = await service.poll("w", ["q"], 2)
    assert await service.poll("w", ["q"]) == []  # the queue's one slot is taken
    acks = [Ack(first.id, first.lease_token or "", '{"ok": true}'), Ack(first.id, "stale")]
    outcomes, jobs = await service.ack_and_poll(acks, "w", ["q"], 1)
    done, refused = outcomes
    assert isinstance(done, JobRecord) and done.state is JobState.DONE
    assert isinstance(refused, LeaseLost)
    (second,) = jobs  # the slot the ack freed, taken by this very claim
    assert second.id != first.id and second.state is JobState.LEASED
    await store.reopen()
    again = await store.storage.get(first.id)
    assert again is not None and again.state is JobState.DONE and again.result == '{"ok": true}'
