"""A poll's answer is read job by job: one job the client cannot read costs only itself."""

from __future__ import annotations

import msgspec

from leaseq.client.calls import poll


def _job(job_id: str, run_at: str) -> dict[str, object]:
    return {
        "id": job_id, "queue": "default", "task": None, "payload": 1, "state": "LEASED",
        "priority": 0, "attempts": 1, "max_tries": 5, "run_at": run_at, "lease_owner": "w",
        "lease_expires_at": "2026-12-01T00:00:30.000Z", "last_error": None, "result": None,
        "idempotency_key": None, "created_at": "2026-12-01T00:00:00.000Z",
        "updated_at": "2026-12-01T00:00:00.000Z", "lease_token": f"token-{job_id}",
    }  # fmt: skip


def test_an_unreadable_job_is_named_and_the_others_are_read() -> None:
    body = {"jobs": [_job("a", "2026-12-01T00:00:00.000Z"), _job("b", "10000-01-01T00:00:00Z"),
                     _job("c", "2026-12-01T00:00:01.000Z")]}  # fmt: skip
    answer = poll("w", ["default"], 3, None, 0).result(200, msgspec.json.encode(body))
    assert [job.id for job in answer.jobs] == ["a", "c"]
    (bad,) = answer.undecodable
    assert (bad.job_id, bad.lease_token) == ("b", "token-b")
    assert "run_at" in bad.error
