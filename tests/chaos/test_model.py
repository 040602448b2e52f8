"""5. Model-based test: Hypothesis drives the SQLite storage and a plain-Python model of
the job lifecycle with the same operations, and after every step the store must hold
exactly what the model says.

Time comes from a ``FakeClock`` the machine advances, so lease expiry and retry delays
are exercised without sleeping. The machine owns its event loop: Hypothesis stateful
tests are synchronous, the storage is async. PostgreSQL takes ``now()`` from the database
server, so a clock advance there would be a real sleep; its variant is left to the
conformance suite until that backend lands (see the report in ``docs/reliability.md``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from leaseq import transitions
from leaseq.backoff import Backoff
from leaseq.clock import FakeClock
from leaseq.config import Durability
from leaseq.errors import LeaseLost
from leaseq.model import Action, Job, JobSpec, JobState
from leaseq.storage.base import Change
from leaseq.storage.sqlite import SQLiteStorage

BACKOFF = Backoff(base_s=1.0, cap_s=4.0)
KEYS = st.sampled_from([None, None, "a", "b", "c", "d"])


@dataclass
class ModelJob:
    id: str
    key: str | None
    priority: int
    seq: int
    max_tries: int
    run_at: int
    state: JobState = JobState.QUEUED
    attempts: int = 0
    token: str | None = None
    expires_at: int | None = None
    done_token: str | None = None
    old_tokens: list[str] = field(default_factory=list)


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="leaseq-model-"))
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.jobs: dict[str, ModelJob] = {}
        self.store = self._open()

    def _open(self) -> SQLiteStorage:
        store = SQLiteStorage(str(self.dir / "model.db"), self.clock, Durability.NORMAL)
        self.run(store.open())
        return store

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _pick(self, state: JobState, index: int) -> ModelJob:
        held = sorted((j for j in self.jobs.values() if j.state is state), key=lambda j: j.seq)
        return held[index % len(held)]

    def _has(self, state: JobState) -> bool:
        return any(j.state is state for j in self.jobs.values())

    def _modify(self, job: ModelJob, rule: Any, action: Action) -> Job | Exception:
        (result,) = self.run(self.store.modify([Change(job.id, rule, action)]))
        return result  # type: ignore[no-any-return]

    # -- producers ---------------------------------------------------------------------

    @rule(
        specs=st.lists(
            st.tuples(KEYS, st.integers(0, 1), st.integers(1, 3), st.sampled_from([0, 0, 1500])),
            min_size=1,
            max_size=3,
        )
    )
    def enqueue(self, specs: list[tuple[str | None, int, int, int]]) -> None:
        now = self.clock.now_ms()
        batch = [JobSpec("{}", priority=p, max_tries=t, delay_ms=d, idempotency_key=k)
                 for k, p, t, d in specs]  # fmt: skip
        results = self.run(self.store.enqueue(batch))
        by_key = {j.key: j for j in self.jobs.values() if j.key is not None}
        for spec, (job, created) in zip(batch, results, strict=True):
            known = by_key.get(spec.idempotency_key) if spec.idempotency_key else None
            assert created is (known is None), (spec, created)
            if known is not None:
                assert job.id == known.id
                continue
            model = ModelJob(job.id, spec.idempotency_key, spec.priority, len(self.jobs),
                             spec.max_tries, now + spec.delay_ms)  # fmt: skip
            self.jobs[job.id] = model
            if model.key is not None:
                by_key[model.key] = model

    # -- workers -----------------------------------------------------------------------

    @rule(n=st.integers(1, 3), lease_ms=st.sampled_from([1000, 3000]))
    def claim(self, n: int, lease_ms: int) -> None:
        now = self.clock.now_ms()
        ready = [j for j in self.jobs.values() if j.state is JobState.QUEUED and j.run_at <= now]
        ready.sort(key=lambda j: (-j.priority, j.run_at, j.seq))
        got = self.run(self.store.claim(["default"], "w", n, lease_ms))
        assert [j.id for j in got] == [j.id for j in ready[:n]]
        for job in got:
            m = self.jobs[job.id]
            assert job.lease_token and job.lease_token not in m.old_tokens
            if m.token:
                m.old_tokens.append(m.token)
            m.state, m.attempts, m.token = JobState.LEASED, m.attempts + 1, job.lease_token
            m.expires_at = now + lease_ms

    @precondition(lambda self: self._has(JobState.LEASED))
    @rule(i=st.integers(0, 100), lease_ms=st.sampled_from([1000, 3000]))
    def heartbeat(self, i: int, lease_ms: int) -> None:
        m = self._pick(JobState.LEASED, i)
        rule_ = partial(_heartbeat, m.token or "", lease_ms)
        assert isinstance(self._modify(m, rule_, Action.HEARTBEAT), Job)
        m.expires_at = self.clock.now_ms() + lease_ms

    @precondition(lambda self: self._has(JobState.LEASED))
    @rule(i=st.integers(0, 100))
    def ack(self, i: int) -> None:
        m = self._pick(JobState.LEASED, i)
        assert isinstance(self._modify(m, partial(_ack, m.token or ""), Action.DONE), Job)
        m.state, m.done_token, m.expires_at = JobState.DONE, m.token, None

    @precondition(lambda self: self._has(JobState.LEASED))
    @rule(i=st.integers(0, 100), retry=st.booleans())
    def fail(self, i: int, retry: bool) -> None:
        m = self._pick(JobState.LEASED, i)
        now = self.clock.now_ms()
        job = self._modify(m, partial(_fail, m.token or "", retry), Action.FAILED)
        assert isinstance(job, Job)
        m.old_tokens.append(m.token or "")
        m.token, m.expires_at = None, None
        if retry and m.attempts < m.max_tries:
            ceiling = round(BACKOFF.ceiling_s(m.attempts) * 1000)
            assert now + ceiling // 2 <= job.run_at <= now + ceiling
            m.state, m.run_at = JobState.QUEUED, job.run_at
        else:
            m.state = JobState.DEAD

    @precondition(lambda self: any(j.old_tokens for j in self.jobs.values()))
    @rule(i=st.integers(0, 100), op=st.sampled_from(["ack", "fail", "heartbeat", "release"]))
    def stale(self, i: int, op: str) -> None:
        """An operation under a token the job no longer holds is refused, always."""
        stale = sorted((j for j in self.jobs.values() if j.old_tokens), key=lambda j: j.seq)
        m = stale[i % len(stale)]
        token = m.old_tokens[i % len(m.old_tokens)]
        rules = {"ack": partial(_ack, token), "fail": partial(_fail, token, True),
                 "heartbeat": partial(_heartbeat, token, 1000),
                 "release": partial(_release, token)}  # fmt: skip
        result = self._modify(m, rules[op], Action.DONE)
        assert isinstance(result, LeaseLost), (op, m, result)

    @precondition(lambda self: self._has(JobState.DONE))
    @rule(i=st.integers(0, 100))
    def repeated_ack(self, i: int) -> None:
        """The ack that completed the job, repeated (its answer was lost): 200 again."""
        m = self._pick(JobState.DONE, i)
        job = self._modify(m, partial(_ack, m.done_token or ""), Action.DONE)
        assert isinstance(job, Job) and job.state is JobState.DONE

    # -- time, the reaper, restarts ----------------------------------------------------

    @rule(ms=st.sampled_from([1, 500, 1000, 2999, 3000, 5000]))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms / 1000)

    @rule()
    def reap(self) -> None:
        now = self.clock.now_ms()
        due = {j.id for j in self.jobs.values()
               if j.state is JobState.LEASED and (j.expires_at or 0) <= now}  # fmt: skip
        got = self.run(self.store.expire_leases(transitions.expire, 1000))
        assert {j.id for j in got} == due
        for job_id in due:
            m = self.jobs[job_id]
            m.old_tokens.append(m.token or "")
            m.token, m.expires_at = None, None
            if m.attempts >= m.max_tries:
                m.state = JobState.DEAD
            else:
                m.state, m.run_at = JobState.QUEUED, now

    @rule()
    def restart(self) -> None:
        self.run(self.store.close())
        self.store = self._open()

    @invariant()
    def store_matches_model(self) -> None:
        page = self.run(self.store.list_jobs(None, None, 1000, None))
        stored = {j.id: j for j in page.jobs}
        assert stored.keys() == self.jobs.keys()
        for job_id, m in self.jobs.items():
            j = stored[job_id]
            seen = (j.state, j.attempts, j.lease_token, j.lease_expires_at, j.run_at)
            want = (m.state, m.attempts, m.done_token if m.state is JobState.DONE else m.token,
                    m.expires_at, m.run_at)  # fmt: skip
            assert seen == want, (job_id, seen, want)


def _ack(token: str, job: Job, now: int) -> Job:
    return transitions.ack(job, token, None, now)


def _fail(token: str, retry: bool, job: Job, now: int) -> Job:
    return transitions.fail(job, token, "boom", retry, now, BACKOFF)


def _release(token: str, job: Job, now: int) -> Job:
    return transitions.release(job, token, now)


def _heartbeat(token: str, lease_ms: int, job: Job, now: int) -> Job:
    return transitions.heartbeat(job, token, lease_ms, now)


# 100 examples of 50 steps: 5,000 steps of the SQLite store per run.
LifecycleMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None, database=None
)
test_sqlite_storage_matches_the_model = LifecycleMachine.TestCase
