"""The named queries of the PostgreSQL backend.

Every statement that needs the time computes ``now`` once, in a materialised CTE, from
the database server's clock: the nodes' clocks may disagree, the database's is the one
all of them share. Such a statement takes a ``now`` parameter, NULL but in tests (see
``postgres_history.NOW_MS``). Batches travel as arrays and come back through ``unnest``, so a batch
of a thousand jobs is one round trip, not a thousand.
"""

from __future__ import annotations

from leaseq.server.storage.postgres_history import NOW_MS, side_effects

CHANNEL = "leaseq_jobs"
"""The NOTIFY channel; the payload is the name of a queue that may have a ready job."""

MIGRATION_LOCK = 0x6C65_6173_6571  # "leaseq" in ASCII: the advisory lock key of migrations

_T = f"t AS MATERIALIZED (SELECT {NOW_MS} AS now)"

_FIELDS = (
    "id", "queue", "task", "payload", "state", "priority", "attempts", "max_tries",
    "run_at", "lease_owner", "lease_token", "lease_expires_at", "last_error", "result",
    "idempotency_key", "created_at", "updated_at", "leased_at",
)  # fmt: skip
COLUMNS = ", ".join(f"jobs.{name}" for name in _FIELDS)
"""The columns of ``Job`` in field order, qualified so joins never make them ambiguous."""

SELECT_NOW = f"SELECT {NOW_MS}"

# A claim is one autocommit statement: it leases the jobs and records what the lease
# leaves behind (events, count deltas, the worker's last_seen) in the same round trip.
# It walks the ready index of each queue separately (LATERAL), locking at most n rows per
# queue and skipping rows another claim holds; the best n of those are leased. One
# ``queue = ANY(...)`` scan would instead sort every ready job of the queues: the index
# order holds only within one queue. The statement always answers one row at least, so
# the caller learns ``now`` even when nothing was ready. A lease is not durable: the
# statement commits without waiting for the WAL flush (``synchronous_commit`` off for this
# transaction only), as a lease lost to a crash of the database only means the job is
# delivered again; the next durable commit flushes the WAL up to and past it.
CLAIM = f"""
WITH {_T},
soft AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
picked AS (
    SELECT c.seq FROM t, unnest(%(queues)s::text[]) AS q(name),
    LATERAL (
        SELECT jobs.seq, jobs.priority, jobs.run_at FROM jobs
        WHERE jobs.state = 'QUEUED' AND jobs.queue = q.name AND jobs.run_at <= t.now
        ORDER BY jobs.priority DESC, jobs.run_at, jobs.seq
        LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
    ) AS c
    ORDER BY c.priority DESC, c.run_at, c.seq
    LIMIT %(n)s
),
claimed AS (
    UPDATE jobs SET state = 'LEASED', attempts = jobs.attempts + 1, lease_owner = %(owner)s,
        lease_token = replace(gen_random_uuid()::text, '-', ''),
        lease_expires_at = t.now + %(lease_ms)s, updated_at = t.now, leased_at = t.now
    FROM picked, t
    WHERE jobs.seq = picked.seq
    RETURNING jobs.seq, {COLUMNS}
),
-- The 'leased' event of each job, in poll order. transitions.event_for(Action.LEASED,
-- None, job) is the source of truth, mirrored here: kind 'leased', state 'LEASED', the
-- new owner and attempt count, no error, at the lease's updated_at.
ev AS (
    INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
    SELECT claimed.id, claimed.updated_at, 'leased', 'LEASED', claimed.lease_owner,
           claimed.attempts, NULL
    FROM claimed ORDER BY claimed.priority DESC, claimed.run_at, claimed.seq
),
cnt AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT claimed.queue, d.state, d.n * count(*)
    FROM claimed, (VALUES ('QUEUED', -1), ('LEASED', 1)) AS d(state, n)
    GROUP BY claimed.queue, d.state, d.n
),
-- The owner is seen whether or not it got a job: this branch reads t, not claimed. A
-- lease adds nothing to done or failed (transitions.worker_tally).
seen AS (
    INSERT INTO workers AS w (worker_id, last_seen_at) SELECT %(owner)s, t.now FROM t
    ON CONFLICT (worker_id) DO UPDATE SET
        last_seen_at = greatest(w.last_seen_at, excluded.last_seen_at)
)
SELECT t.now, claimed.* FROM t CROSS JOIN soft LEFT JOIN claimed ON TRUE
"""

# Rows of a batch inserted in order, so ``seq`` keeps the enqueue order, with their
# events and count deltas; a key already taken (committed, or committed by a concurrent
# insert we waited for) is skipped, leaves no event, and is looked up afterwards. The
# NOTIFY commits with the rows or not at all.
INSERT = f"""
WITH ins AS (
    INSERT INTO jobs (id, queue, task, payload, state, priority, attempts, max_tries, run_at,
                      idempotency_key, created_at, updated_at)
    SELECT v.id, v.queue, v.task, v.payload, 'QUEUED', v.priority, 0, v.max_tries, v.run_at,
           v.key, %(now)s, %(now)s
    FROM unnest(%(id)s::text[], %(queue)s::text[], %(task)s::text[], %(payload)s::text[],
                %(priority)s::int[], %(max_tries)s::int[], %(run_at)s::bigint[],
                %(key)s::text[]) WITH ORDINALITY
         AS v(id, queue, task, payload, priority, max_tries, run_at, key, ord)
    ORDER BY v.ord
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING jobs.seq, jobs.id, jobs.queue, jobs.state, jobs.attempts, jobs.updated_at
),
-- The 'enqueued' event of each job inserted. transitions.event_for(Action.ENQUEUED,
-- None, job) is the source of truth, mirrored here (cheaper than sending the events of
-- a thousand-job batch as arrays and joining them back): kind 'enqueued', the new state,
-- no worker, the attempt count (0), no error, at the job's updated_at.
ev AS (
    INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
    SELECT ins.id, ins.updated_at, 'enqueued', ins.state, NULL, ins.attempts, NULL
    FROM ins ORDER BY ins.seq
),
cnt AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT ins.queue, ins.state, count(*) FROM ins GROUP BY ins.queue, ins.state
)
SELECT ins.id, pg_notify('{CHANNEL}', ins.queue) FROM ins
"""

SELECT_BY_KEYS = f"""
SELECT {COLUMNS} FROM jobs
JOIN unnest(%s::text[], %s::text[]) AS k(queue, key)
  ON jobs.queue = k.queue AND jobs.idempotency_key = k.key
"""

# Locks in id order, so two batches touching the same jobs cannot deadlock.
LOCK_BY_IDS = f"""
WITH {_T}
SELECT t.now, {COLUMNS} FROM jobs, t WHERE jobs.id = ANY(%(ids)s::text[])
ORDER BY jobs.id FOR UPDATE OF jobs
"""

LOCK_EXPIRED = f"""
WITH {_T}
SELECT t.now, {COLUMNS} FROM jobs, t
WHERE jobs.state = 'LEASED' AND jobs.lease_expires_at <= t.now
ORDER BY jobs.lease_expires_at LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
"""

# The guarded write of rule results: each row only if it still has the state and token
# the rule saw, with the events, tallies and count deltas of the rows written. Jobs that
# became QUEUED wake the long polls of every node.
WRITE = f"""
WITH upd AS (
    UPDATE jobs SET state = v.state, attempts = v.attempts, run_at = v.run_at,
        lease_owner = v.lease_owner, lease_token = v.lease_token,
        lease_expires_at = v.lease_expires_at, last_error = v.last_error,
        result = v.result, updated_at = v.updated_at, leased_at = v.leased_at
    FROM unnest(%(id)s::text[], %(state)s::text[], %(attempts)s::int[], %(run_at)s::bigint[],
                %(lease_owner)s::text[], %(lease_token)s::text[],
                %(lease_expires_at)s::bigint[], %(last_error)s::text[], %(result)s::text[],
                %(updated_at)s::bigint[], %(leased_at)s::bigint[], %(old_state)s::text[],
                %(old_token)s::text[])
         AS v(id, state, attempts, run_at, lease_owner, lease_token, lease_expires_at,
              last_error, result, updated_at, leased_at, old_state, old_token)
    WHERE jobs.id = v.id AND jobs.state = v.old_state
      AND jobs.lease_token IS NOT DISTINCT FROM v.old_token
    RETURNING jobs.id, jobs.queue, jobs.state, v.old_state
),
{side_effects("upd")}
SELECT upd.id, CASE WHEN upd.state = 'QUEUED' THEN pg_notify('{CHANNEL}', upd.queue) END
FROM upd
"""

# One statement: the jobs, their history and their counts go together. Workers not seen
# for as long go too; one that a concurrent write holds is being seen, so it is skipped.
PURGE = f"""
WITH {_T},
gone AS (
    DELETE FROM jobs WHERE seq IN (
        SELECT jobs.seq FROM jobs, t
        WHERE jobs.state IN ('DONE', 'CANCELLED') AND jobs.updated_at < t.now - %(age)s
        LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
    )
    RETURNING jobs.id, jobs.queue, jobs.state
),
history AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM gone)),
counts AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT queue, state, -count(*) FROM gone GROUP BY queue, state
),
idle AS (
    DELETE FROM workers WHERE worker_id IN (
        SELECT workers.worker_id FROM workers, t WHERE workers.last_seen_at < t.now - %(age)s
        FOR UPDATE OF workers SKIP LOCKED
    )
)
SELECT count(*) FROM gone
"""

GET = f"SELECT {COLUMNS} FROM jobs WHERE id = %s"

DEAD_IDS = """
SELECT id FROM jobs WHERE state = 'DEAD' AND queue = %s
  AND seq > coalesce((SELECT seq FROM jobs WHERE id = %s), 0)
ORDER BY seq LIMIT %s
"""

# Counts are the sums of the job_counts ledger; the oldest ready job of each queue is one
# probe of jobs_scheduled (the lateral runs only on the QUEUED row of each queue).
STATS = f"""
WITH {_T},
c AS (SELECT queue, state, sum(n)::bigint AS n FROM job_counts GROUP BY queue, state)
SELECT c.queue, c.state, c.n, o.oldest, t.now
FROM c CROSS JOIN t
CROSS JOIN LATERAL (
    SELECT min(jobs.run_at) AS oldest FROM jobs
    WHERE c.state = 'QUEUED' AND jobs.state = 'QUEUED' AND jobs.queue = c.queue
) AS o
"""

# One indexed min per named queue; the scalar subquery keeps each an index probe.
NEXT_READY = f"""
WITH {_T}
SELECT (
    SELECT min(f.first) FROM unnest(%(queues)s::text[]) AS q(name), LATERAL (
        SELECT min(jobs.run_at) AS first FROM jobs
        WHERE jobs.state = 'QUEUED' AND jobs.queue = q.name AND jobs.run_at > t.now
    ) AS f
) - t.now
FROM t
"""

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
