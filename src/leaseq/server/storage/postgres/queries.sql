-- The named queries of the PostgreSQL backend (loaded by ``leaseq.server.storage.queries``).
--
-- Every statement that needs the time computes ``now`` once, in a materialised CTE
-- (``{now_cte}``), from the database server's clock: the nodes' clocks may disagree, the
-- database's is the one all of them share. Such a statement takes a ``now`` parameter,
-- NULL but in tests (see ``now_ms``). Batches travel as arrays and come back through
-- ``unnest``, so a batch of a thousand jobs is one round trip, not a thousand.

-- name: now_ms
-- The ``now`` of every statement that needs one: the database server's clock, shared by
-- all nodes whatever their own clocks say. A statement that reads it takes a ``now``
-- parameter, NULL in production; a test that injects a ``Clock`` passes its time
-- instead, so leases expire and retries come due without sleeping. The parameter costs
-- nothing measurable: ``now`` is computed once per statement either way.
coalesce(%(now)s::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)

-- name: now_cte
t AS MATERIALIZED (SELECT {now_ms} AS now)

-- name: columns
-- The columns of ``JobRecord`` in field order, qualified so joins never make them
-- ambiguous.
jobs.id, jobs.queue, jobs.task, jobs.payload, jobs.state, jobs.priority, jobs.attempts,
jobs.max_tries, jobs.run_at, jobs.lease_owner, jobs.lease_token, jobs.lease_expires_at,
jobs.last_error, jobs.result, jobs.idempotency_key, jobs.created_at, jobs.updated_at,
jobs.leased_at, jobs.concurrency_key, jobs.idempotency_scope, jobs.last_error_type,
jobs.last_error_message, jobs.tags, jobs.traceparent,
jobs.timeout_ms, jobs.progress, jobs.checkpoint

-- name: channel
-- The NOTIFY channel; the payload is the name of a queue that may have a ready job.
leaseq_jobs

-- name: finished_channel
-- The NOTIFY channel of jobs that finished (DONE, DEAD, CANCELLED), for the waits of
-- every node (``GET /jobs/{id}?wait=``); the payload is their ids, comma-separated.
leaseq_finished

-- name: listen
LISTEN {channel}

-- name: listen_finished
LISTEN {finished_channel}

-- name: select_now
SELECT {now_ms} AS now

-- == jobs: claim, enqueue, the guarded write, expiry, purge ==============================

-- name: is_limited
-- Whether the settings row ``s`` makes a claim of its queue count anything
-- (``QueueSettings.limited``); a queue without such a row takes the plain claim.
(s.paused OR s.concurrency IS NOT NULL OR s.rate_count IS NOT NULL
 OR s.key_concurrency IS NOT NULL)

-- name: lease_picked
-- The CTEs that lease the rows of ``picked`` (seq) and record what a lease leaves
-- behind: events, count deltas, the worker's row (seen, queues, concurrency). The state is checked again: a
-- row of a limited queue is not locked by the pick (its claimers take turns on the
-- queue's row instead), so a cancel committed meanwhile must win. The lease stops at the
-- attempt's timeout, and the last attempt's progress goes (``transitions.lease``).
claimed AS (
    UPDATE jobs SET state = 'LEASED', attempts = jobs.attempts + 1, lease_owner = %(owner)s,
        lease_token = replace(gen_random_uuid()::text, '-', ''),
        lease_expires_at = t.now + least(%(lease_ms)s, jobs.timeout_ms),
        updated_at = t.now, leased_at = t.now, progress = NULL
    FROM picked, t
    WHERE jobs.seq = picked.seq AND jobs.state = 'QUEUED'
    RETURNING jobs.seq, {columns}
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
    INSERT INTO workers AS w (worker_id, last_seen_at, queues, concurrency)
    SELECT %(owner)s, t.now, %(queues)s::text[], %(concurrency)s::integer FROM t
    ON CONFLICT (worker_id) DO UPDATE SET
        last_seen_at = greatest(w.last_seen_at, excluded.last_seen_at),
        queues = excluded.queues, concurrency = excluded.concurrency
)

-- name: claim
-- The claim of queues without settings: one autocommit statement that leases the jobs
-- and records what the lease leaves behind in the same round trip. It walks the ready
-- index of each queue separately (LATERAL), locking at most n rows per queue and
-- skipping rows another claim holds; the best n of those that fit the byte budget
-- (always one at least) are leased. One ``queue = ANY(...)`` scan would instead sort
-- every ready job of the queues: the index order holds only within one queue. If any
-- named queue is limited (one primary-key probe per queue), it takes nothing and names
-- them: the caller then runs ``claim_limited``. The statement always answers one row at
-- least, so the caller learns ``now`` even when nothing was ready. A lease is not
-- durable: the statement commits without waiting for the WAL flush
-- (``synchronous_commit`` off for this transaction only), as a lease lost to a crash
-- of the database only means the job is delivered again; the next durable commit
-- flushes the WAL up to and past it.
WITH {now_cte},
soft AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
lim AS MATERIALIZED (
    SELECT coalesce(array_agg(s.name), ARRAY[]::text[]) AS names FROM queues AS s
    WHERE s.name = ANY(%(queues)s::text[]) AND {is_limited}
),
picked AS (
    SELECT b.seq FROM (
        SELECT c.seq, row_number() OVER w AS pos, sum(c.bytes) OVER w AS total
        FROM t, lim, unnest(%(queues)s::text[]) AS q(name),
        LATERAL (
            SELECT jobs.seq, jobs.priority, jobs.run_at,
                   octet_length(jobs.payload) + coalesce(octet_length(jobs.last_error), 0)
                   + coalesce(octet_length(jobs.checkpoint), 0) AS bytes
            FROM jobs
            WHERE jobs.state = 'QUEUED' AND jobs.queue = q.name AND jobs.run_at <= t.now
            ORDER BY jobs.priority DESC, jobs.run_at, jobs.seq
            LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
        ) AS c
        WHERE cardinality(lim.names) = 0
        WINDOW w AS (ORDER BY c.priority DESC, c.run_at, c.seq ROWS UNBOUNDED PRECEDING)
        ORDER BY c.priority DESC, c.run_at, c.seq
        LIMIT %(n)s
    ) AS b
    WHERE b.pos = 1 OR b.total <= %(max_bytes)s
),
{lease_picked}
SELECT t.now, CASE WHEN cardinality(lim.names) > 0 THEN lim.names END AS limited, claimed.*
FROM t CROSS JOIN soft CROSS JOIN lim LEFT JOIN claimed ON TRUE

-- name: lock_queues
-- The first statement of a limited claim's transaction: the settings rows of the named
-- queues, locked in name order (two claims naming the same queues cannot deadlock).
-- Every claimer of a limited queue, on any node, waits here for the one before it to
-- commit, and only then does ``claim_limited`` start, with a snapshot that sees every
-- lease taken before: its counts are exact, and the check and the write are one step.
SELECT s.name FROM queues AS s WHERE s.name = ANY(%(queues)s::text[])
ORDER BY s.name FOR UPDATE

-- name: claim_limited
-- The claim when a named queue has settings, run after ``lock_queues`` in the same
-- transaction. Per queue: its room (``core.queues.claimable``: none while paused, the
-- concurrency minus its LEASED jobs, the rate count minus its leases in the last window,
-- each count stopping at its limit), then its ready jobs in poll order, one past the
-- room (a sign that a job waited for it) or, with a per-key limit, up to ``key_scan``
-- of them, of which a key keeps only as many as its own room (its LEASED jobs counted
-- up to the limit); then the best n of all queues within the byte budget, as ``claim``.
-- Queues without settings named with them are served as in ``claim``. The lease times
-- of rate-limited queues are logged, and those older than their window pruned. ``limits``
-- brings each limited queue's settings and counts, for ``core.queues.held_back``, on one
-- row only (the driver would decode it again for every row).
WITH {now_cte},
soft AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
named AS MATERIALIZED (
    SELECT q.name, coalesce(s.paused, false) AS paused, s.concurrency, s.rate_count,
           s.rate_per_ms, s.key_concurrency, coalesce({is_limited}, false) AS limited
    FROM unnest(%(queues)s::text[]) AS q(name) LEFT JOIN queues AS s ON s.name = q.name
),
room AS MATERIALIZED (
    SELECT named.*, leased.n AS leased, win.n AS in_window,
           CASE WHEN named.paused THEN 0 ELSE greatest(0, least(%(n)s,
               named.concurrency - leased.n, named.rate_count - win.n)) END AS room
    FROM named CROSS JOIN t
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM (
            SELECT 1 FROM jobs WHERE named.concurrency IS NOT NULL AND NOT named.paused
              AND jobs.queue = named.name AND jobs.state = 'LEASED'
            LIMIT named.concurrency
        ) AS x
    ) AS leased
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM (
            SELECT 1 FROM queue_leases AS l WHERE named.rate_count IS NOT NULL
              AND NOT named.paused AND l.queue = named.name
              AND l.at > t.now - named.rate_per_ms
            LIMIT named.rate_count
        ) AS x
    ) AS win
),
cand AS MATERIALIZED (
    SELECT c.* FROM room, t, LATERAL (
        SELECT jobs.seq, jobs.queue, jobs.priority, jobs.run_at, jobs.concurrency_key,
               octet_length(jobs.payload) + coalesce(octet_length(jobs.last_error), 0)
                   + coalesce(octet_length(jobs.checkpoint), 0) AS bytes
        FROM jobs
        WHERE jobs.state = 'QUEUED' AND jobs.queue = room.name AND jobs.run_at <= t.now
        ORDER BY jobs.priority DESC, jobs.run_at, jobs.seq
        LIMIT CASE WHEN room.key_concurrency IS NULL OR room.paused THEN room.room + 1
                   ELSE %(key_scan)s END
    ) AS c WHERE room.limited
    UNION ALL
    SELECT c.* FROM room, t, LATERAL (
        SELECT jobs.seq, jobs.queue, jobs.priority, jobs.run_at, jobs.concurrency_key,
               octet_length(jobs.payload) + coalesce(octet_length(jobs.last_error), 0)
                   + coalesce(octet_length(jobs.checkpoint), 0) AS bytes
        FROM jobs
        WHERE jobs.state = 'QUEUED' AND jobs.queue = room.name AND jobs.run_at <= t.now
        ORDER BY jobs.priority DESC, jobs.run_at, jobs.seq
        LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
    ) AS c WHERE NOT room.limited
),
keys AS (
    SELECT k.queue, k.concurrency_key, k.kc - held.n AS free FROM (
        SELECT DISTINCT cand.queue, cand.concurrency_key, room.key_concurrency AS kc
        FROM cand JOIN room ON room.name = cand.queue
        WHERE room.key_concurrency IS NOT NULL AND cand.concurrency_key IS NOT NULL
    ) AS k
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM (
            SELECT 1 FROM jobs WHERE jobs.queue = k.queue
              AND jobs.concurrency_key = k.concurrency_key AND jobs.state = 'LEASED'
            LIMIT k.kc
        ) AS x
    ) AS held
),
passed AS MATERIALIZED (
    SELECT r.*, row_number() OVER (PARTITION BY r.queue
                                   ORDER BY r.priority DESC, r.run_at, r.seq) AS queue_rank
    FROM (
        SELECT cand.*, row_number() OVER (PARTITION BY cand.queue, cand.concurrency_key
            ORDER BY cand.priority DESC, cand.run_at, cand.seq) AS key_rank
        FROM cand
    ) AS r
    LEFT JOIN keys ON keys.queue = r.queue AND keys.concurrency_key = r.concurrency_key
    WHERE keys.free IS NULL OR r.key_rank <= keys.free
),
picked AS (
    SELECT b.seq FROM (
        SELECT p.seq, row_number() OVER w AS pos, sum(p.bytes) OVER w AS total
        FROM passed AS p JOIN room ON room.name = p.queue
        WHERE NOT room.limited OR p.queue_rank <= room.room
        WINDOW w AS (ORDER BY p.priority DESC, p.run_at, p.seq ROWS UNBOUNDED PRECEDING)
        ORDER BY p.priority DESC, p.run_at, p.seq
        LIMIT %(n)s
    ) AS b
    WHERE b.pos = 1 OR b.total <= %(max_bytes)s
),
{lease_picked},
logged AS (
    INSERT INTO queue_leases (queue, at)
    SELECT claimed.queue, t.now FROM claimed JOIN room ON room.name = claimed.queue, t
    WHERE room.rate_count IS NOT NULL
),
pruned AS (
    DELETE FROM queue_leases AS l USING room, t
    WHERE l.queue = room.name AND room.rate_per_ms IS NOT NULL AND NOT room.paused
      AND l.at <= t.now - room.rate_per_ms
),
info AS (
    SELECT json_agg(json_build_object(
        'name', room.name, 'paused', room.paused, 'concurrency', room.concurrency,
        'rate_count', room.rate_count, 'rate_per_ms', room.rate_per_ms,
        'key_concurrency', room.key_concurrency, 'leased', room.leased,
        'in_window', room.in_window,
        'ready', (SELECT count(*) FROM passed WHERE passed.queue = room.name),
        'key_dropped', (SELECT count(*) FROM cand WHERE cand.queue = room.name)
                       - (SELECT count(*) FROM passed WHERE passed.queue = room.name)
    )) AS limits
    FROM room WHERE room.limited
)
SELECT t.now, claimed.*,
       CASE WHEN claimed.seq IS NOT DISTINCT FROM (SELECT min(c.seq) FROM claimed AS c)
            THEN info.limits END AS limits
FROM t CROSS JOIN soft CROSS JOIN info LEFT JOIN claimed ON TRUE

-- name: insert_jobs
-- Rows of a batch inserted in order, so ``seq`` keeps the enqueue order, with their
-- events and count deltas; a key already taken (committed, or committed by a concurrent
-- insert we waited for) is skipped, leaves no event, and is looked up afterwards. The
-- NOTIFY commits with the rows or not at all.
WITH ins AS (
    INSERT INTO jobs (id, queue, task, payload, state, priority, attempts, max_tries, run_at,
                      idempotency_key, created_at, updated_at, concurrency_key,
                      idempotency_scope, tags, traceparent,
                      timeout_ms)
    SELECT v.id, v.queue, v.task, v.payload, 'QUEUED', v.priority, 0, v.max_tries, v.run_at,
           v.key, %(now)s, %(now)s, v.ckey, v.scope, v.tags, v.traceparent,
           v.timeout_ms
    FROM unnest(%(id)s::text[], %(queue)s::text[], %(task)s::text[], %(payload)s::text[],
                %(priority)s::int[], %(max_tries)s::int[], %(run_at)s::bigint[],
                %(key)s::text[], %(ckey)s::text[], %(scope)s::text[], %(tags)s::text[],
                %(traceparent)s::text[],
                %(timeout_ms)s::bigint[]) WITH ORDINALITY
         AS v(id, queue, task, payload, priority, max_tries, run_at, key, ckey, scope, tags,
              traceparent,
              timeout_ms, ord)
    ORDER BY v.ord
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING jobs.seq, jobs.id, jobs.queue, jobs.state, jobs.attempts, jobs.updated_at,
              jobs.tags
),
-- One job_tags row per tag of each job inserted (none for the untagged: NULL tags).
tagged AS (
    INSERT INTO job_tags (tag, seq)
    SELECT g.tag, ins.seq FROM ins, json_array_elements_text(ins.tags::json) AS g(tag)
    WHERE ins.tags IS NOT NULL
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
SELECT ins.id, pg_notify('{channel}', ins.queue) FROM ins

-- name: jobs_by_keys
SELECT {columns} FROM jobs
JOIN unnest(%s::text[], %s::text[]) AS k(queue, key)
  ON jobs.queue = k.queue AND jobs.idempotency_key = k.key

-- name: lock_by_ids
-- Locks in id order, so two batches touching the same jobs cannot deadlock.
WITH {now_cte}
SELECT t.now, {columns} FROM jobs, t WHERE jobs.id = ANY(%(ids)s::text[])
ORDER BY jobs.id FOR UPDATE OF jobs

-- name: lock_expired
WITH {now_cte}
SELECT t.now, {columns} FROM jobs, t
WHERE jobs.state = 'LEASED' AND jobs.lease_expires_at <= t.now
ORDER BY jobs.lease_expires_at LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED

-- name: side_effects
-- CTEs that record the transitions of the rows a write statement changed.
--
-- ``upd`` is an earlier CTE returning ``id, queue, state, old_state`` for each job row
-- the statement wrote (``old_state`` NULL for a new job). The events come as arrays
-- (``events.params``) and only those of written jobs are stored: a row that the write's
-- guard refused leaves no event, tally or count. Worker rows are upserted in worker_id
-- order: two batches that touch the same workers lock them in the same order and cannot
-- deadlock. What an event says and how it counts for its worker is decided by the pure
-- functions of ``leaseq.core.transitions``; this only batches and stores.
e AS (
    SELECT e.* FROM unnest(%(e_job)s::text[], %(e_at)s::bigint[], %(e_kind)s::text[],
                           %(e_state)s::text[], %(e_worker)s::text[], %(e_attempt)s::int[],
                           %(e_error)s::text[], %(e_seen)s::bigint[], %(e_done)s::bigint[],
                           %(e_failed)s::bigint[]) WITH ORDINALITY
         AS e(job_id, at, kind, state, worker_id, attempt, error, seen, done, failed, ord)
    WHERE e.job_id IN (SELECT upd.id FROM upd)
),
ev AS (
    INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
    SELECT e.job_id, e.at, e.kind, e.state, e.worker_id, e.attempt, e.error FROM e
    ORDER BY e.ord
),
tally AS (
    INSERT INTO workers AS w (worker_id, last_seen_at, done, failed)
    SELECT e.worker_id, max(e.seen), sum(e.done), sum(e.failed) FROM e
    WHERE e.worker_id IS NOT NULL
    GROUP BY e.worker_id HAVING (max(e.seen), sum(e.done), sum(e.failed)) <> (0, 0, 0)
    ORDER BY e.worker_id
    ON CONFLICT (worker_id) DO UPDATE SET
        last_seen_at = greatest(w.last_seen_at, excluded.last_seen_at),
        done = w.done + excluded.done, failed = w.failed + excluded.failed
),
counts AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT upd.queue, d.state, sum(d.n) FROM upd,
    LATERAL (VALUES (upd.old_state, -1), (upd.state, 1)) AS d(state, n)
    WHERE d.state IS NOT NULL AND upd.old_state IS DISTINCT FROM upd.state
    GROUP BY upd.queue, d.state HAVING sum(d.n) <> 0
)

-- name: write
-- The guarded write of rule results: each row only if it still has the state and token
-- the rule saw, with the events, tallies and count deltas of the rows written. Jobs that
-- became QUEUED wake the long polls of every node, and so does a job that left LEASED in
-- a limited queue: it freed a slot there (one probe of ``queues`` per such queue). Jobs
-- that finished wake the waits for them on every node: one NOTIFY of up to 200 ids
-- (7.4 kB, within the 8 kB a payload may hold) per chunk, not one per job.
WITH upd AS (
    UPDATE jobs SET state = v.state, attempts = v.attempts, run_at = v.run_at,
        lease_owner = v.lease_owner, lease_token = v.lease_token,
        lease_expires_at = v.lease_expires_at, last_error = v.last_error,
        result = v.result, updated_at = v.updated_at, leased_at = v.leased_at,
        idempotency_key = v.idempotency_key, last_error_type = v.last_error_type,
        last_error_message = v.last_error_message,
        progress = v.progress, checkpoint = v.checkpoint
    FROM unnest(%(id)s::text[], %(state)s::text[], %(attempts)s::int[], %(run_at)s::bigint[],
                %(lease_owner)s::text[], %(lease_token)s::text[],
                %(lease_expires_at)s::bigint[], %(last_error)s::text[], %(result)s::text[],
                %(updated_at)s::bigint[], %(leased_at)s::bigint[], %(old_state)s::text[],
                %(old_token)s::text[], %(idempotency_key)s::text[],
                %(last_error_type)s::text[], %(last_error_message)s::text[],
                %(progress)s::text[], %(checkpoint)s::text[])
         AS v(id, state, attempts, run_at, lease_owner, lease_token, lease_expires_at,
              last_error, result, updated_at, leased_at, old_state, old_token,
              idempotency_key, last_error_type, last_error_message,
              progress, checkpoint)
    WHERE jobs.id = v.id AND jobs.state = v.old_state
      AND jobs.lease_token IS NOT DISTINCT FROM v.old_token
    RETURNING jobs.id, jobs.queue, jobs.state, v.old_state
),
{side_effects},
freed AS (
    SELECT pg_notify('{channel}', s.name) FROM queues AS s
    WHERE s.name IN (SELECT upd.queue FROM upd
                     WHERE upd.old_state = 'LEASED' AND upd.state <> 'LEASED')
      AND {is_limited}
),
done AS (
    SELECT pg_notify('{finished_channel}', string_agg(d.id, ',')) FROM (
        SELECT upd.id, (row_number() OVER () - 1) / 200 AS chunk FROM upd
        WHERE upd.state IN ('DONE', 'DEAD', 'CANCELLED') AND upd.old_state <> upd.state
    ) AS d
    GROUP BY d.chunk
)
SELECT upd.id, CASE WHEN upd.state = 'QUEUED' THEN pg_notify('{channel}', upd.queue) END AS notified
FROM upd CROSS JOIN (SELECT count(*) FROM freed) AS f CROSS JOIN (SELECT count(*) FROM done) AS d

-- name: purge
-- One statement: the jobs, their history and their counts go together. Workers not seen
-- for as long go too; one that a concurrent write holds is being seen, so it is skipped.
WITH {now_cte},
gone AS (
    DELETE FROM jobs WHERE seq IN (
        SELECT jobs.seq FROM jobs, t
        WHERE jobs.state IN ('DONE', 'CANCELLED') AND jobs.updated_at < t.now - %(age)s
        LIMIT %(n)s FOR UPDATE OF jobs SKIP LOCKED
    )
    RETURNING jobs.id, jobs.queue, jobs.state, jobs.seq, jobs.tags
),
history AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM gone)),
untagged AS (
    DELETE FROM job_tags AS jt USING (
        SELECT gone.seq, g.tag FROM gone, json_array_elements_text(gone.tags::json) AS g(tag)
        WHERE gone.tags IS NOT NULL
    ) AS d
    WHERE jt.tag = d.tag AND jt.seq = d.seq
),
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

-- == reads of jobs =======================================================================

-- name: get_job
SELECT {columns} FROM jobs WHERE id = %s

-- name: list_jobs
-- {source}, {where}, {seq}: the listing's tables, filter and order column
-- (``common.listing_filter``: with tags, the first tag's rows of job_tags drive the walk,
-- newest first from its primary key); then limit + 1, limit and the
-- byte budget. A page weighs the newest limit + 1 rows first (``octet_length`` reads a
-- TOASTed text's header, not the text), then fetches the columns of those that fit: at
-- most ``limit``, while the running sum of their texts stays within the budget, and
-- always the first (``common.job_bytes`` counts the same). psycopg's client cursor holds
-- a whole answer at once, so the cut must happen here, not while reading rows.
-- ``measured`` tells the caller whether rows were left (``common.cut_page``).
WITH sized AS MATERIALIZED (
    SELECT s.seq, row_number() OVER w AS pos, sum(s.bytes) OVER w AS total,
           count(*) OVER () AS measured
    FROM (
        SELECT {seq} AS seq, octet_length(jobs.payload) + coalesce(octet_length(jobs.result), 0)
                    + coalesce(octet_length(jobs.last_error), 0)
                    + coalesce(octet_length(jobs.progress), 0)
                    + coalesce(octet_length(jobs.checkpoint), 0) AS bytes
        FROM {source} WHERE {where} ORDER BY {seq} DESC LIMIT %s
    ) AS s
    WINDOW w AS (ORDER BY s.seq DESC ROWS UNBOUNDED PRECEDING)
)
SELECT jobs.seq, sized.measured, {columns} FROM sized JOIN jobs ON jobs.seq = sized.seq
WHERE sized.pos <= %s AND (sized.pos = 1 OR sized.total <= %s)
ORDER BY jobs.seq DESC

-- name: next_ready
-- One indexed min per named queue; the scalar subquery keeps each an index probe. A
-- rate-limited queue whose window is full also counts the moment its next lease may be
-- taken: when the lease that makes the window full leaves it.
WITH {now_cte}
SELECT least((
    SELECT min(f.first) FROM unnest(%(queues)s::text[]) AS q(name), LATERAL (
        SELECT min(jobs.run_at) AS first FROM jobs
        WHERE jobs.state = 'QUEUED' AND jobs.queue = q.name AND jobs.run_at > t.now
    ) AS f
), (
    SELECT min(r.at + s.rate_per_ms) FROM queues AS s, LATERAL (
        SELECT l.at FROM queue_leases AS l
        WHERE l.queue = s.name AND l.at > t.now - s.rate_per_ms
        ORDER BY l.at DESC OFFSET s.rate_count - 1 LIMIT 1
    ) AS r
    WHERE s.name = ANY(%(queues)s::text[]) AND s.rate_count IS NOT NULL AND NOT s.paused
)) - t.now AS ready_in
FROM t

-- == queue settings ======================================================================

-- name: settings_columns
s.name, s.paused, s.concurrency, s.rate_count, s.rate_per_ms, s.key_concurrency

-- name: queue_settings
SELECT {settings_columns} FROM queues AS s WHERE s.name = ANY(%(names)s::text[])

-- name: all_queue_settings
SELECT {settings_columns} FROM queues AS s ORDER BY s.name

-- name: make_queue
-- An update's read-modify-write needs a row to lock: one with the defaults is made if
-- the queue had none (a concurrent first update of the queue waits here for the other).
INSERT INTO queues (name, updated_at) VALUES (%(name)s, {now_ms}) ON CONFLICT (name) DO NOTHING

-- name: lock_queue
SELECT {settings_columns} FROM queues AS s WHERE s.name = %(name)s FOR UPDATE

-- name: update_queue
-- Settings rows are made by ``make_queue``; the NOTIFY (when the change frees slots)
-- wakes the long polls of every node, and commits with the change or not at all.
WITH changed AS (
    UPDATE queues SET paused = %(paused)s, concurrency = %(concurrency)s,
        rate_count = %(rate_count)s, rate_per_ms = %(rate_per_ms)s,
        key_concurrency = %(key_concurrency)s, updated_at = {now_ms}
    WHERE name = %(name)s
),
forget AS (DELETE FROM queue_leases WHERE queue = %(name)s AND %(rate_count)s::int IS NULL)
SELECT CASE WHEN %(wake)s THEN pg_notify('{channel}', %(name)s) END AS woken

-- == dead letters ========================================================================

-- name: dead_ids
SELECT id FROM jobs WHERE state = 'DEAD' AND queue = %s
  AND seq > coalesce((SELECT seq FROM jobs WHERE id = %s), 0)
ORDER BY seq LIMIT %s

-- name: dead_groups
-- DEAD jobs grouped by (type, message) when the worker sent a type, else by the whole
-- text, as before types were sent (and for "lease expired"). ``last_error`` is the text
-- of one job of the group (its traceback), for the reader.
SELECT g.type, g.message, g.last_error, g.n, ARRAY(
    SELECT jobs.id FROM jobs
    WHERE jobs.state = 'DEAD' AND jobs.queue = %(queue)s
      AND jobs.last_error_type IS NOT DISTINCT FROM g.type
      AND (CASE WHEN jobs.last_error_type IS NOT NULL THEN jobs.last_error_message END)
          IS NOT DISTINCT FROM g.message
      AND (CASE WHEN jobs.last_error_type IS NULL THEN jobs.last_error END)
          IS NOT DISTINCT FROM g.text
    ORDER BY jobs.seq LIMIT %(ids)s
) AS ids
FROM (
    SELECT d.type, d.message, d.text, min(d.last_error) AS last_error, count(*) AS n
    FROM (
        SELECT last_error_type AS type, last_error,
               CASE WHEN last_error_type IS NOT NULL THEN last_error_message END AS message,
               CASE WHEN last_error_type IS NULL THEN last_error END AS text
        FROM jobs WHERE state = 'DEAD' AND queue = %(queue)s
    ) AS d
    GROUP BY d.type, d.message, d.text
    ORDER BY count(*) DESC, d.type, d.message, d.text LIMIT %(groups)s
) AS g
ORDER BY g.n DESC, g.type, g.message, g.last_error

-- == events ==============================================================================

-- name: events
-- The job, the cursor's seq, limit + 1, limit and the byte budget: weighed, then fetched
-- as ``list_jobs``; an event weighs its error text (``common.event_bytes``).
WITH sized AS MATERIALIZED (
    SELECT s.seq, row_number() OVER w AS pos, sum(s.bytes) OVER w AS total,
           count(*) OVER () AS measured
    FROM (
        SELECT seq, coalesce(octet_length(error), 0) AS bytes FROM job_events
        WHERE job_id = %s AND seq > %s ORDER BY seq LIMIT %s
    ) AS s
    WINDOW w AS (ORDER BY s.seq ROWS UNBOUNDED PRECEDING)
)
SELECT e.seq, sized.measured, e.job_id, e.at, e.kind, e.state, e.worker_id, e.attempt,
       e.error
FROM sized JOIN job_events AS e ON e.seq = sized.seq
WHERE sized.pos <= %s AND (sized.pos = 1 OR sized.total <= %s)
ORDER BY e.seq

-- == workers =============================================================================

-- name: workers
-- Recently seen workers with the jobs they hold (one jobs_held probe each).
SELECT w.worker_id, w.last_seen_at, w.done, w.failed, w.queues, w.concurrency, ARRAY(
    SELECT jobs.id FROM jobs WHERE jobs.state = 'LEASED' AND jobs.lease_owner = w.worker_id
    ORDER BY jobs.seq LIMIT 1000
) AS held
FROM workers AS w
WHERE w.last_seen_at >= {now_ms} - %(within)s
ORDER BY w.last_seen_at DESC LIMIT %(limit)s

-- name: count_workers
SELECT count(*) FROM workers WHERE last_seen_at >= {now_ms} - %(within)s

-- == counts ==============================================================================

-- name: stats
-- Counts are the sums of the job_counts ledger; the oldest ready job of each queue is one
-- probe of jobs_scheduled (the lateral runs only on the QUEUED row of each queue).
WITH {now_cte},
c AS (SELECT queue, state, sum(n)::bigint AS n FROM job_counts GROUP BY queue, state)
SELECT c.queue, c.state, c.n, o.oldest, t.now
FROM c CROSS JOIN t
CROSS JOIN LATERAL (
    SELECT min(jobs.run_at) AS oldest FROM jobs
    WHERE c.state = 'QUEUED' AND jobs.state = 'QUEUED' AND jobs.queue = c.queue
) AS o

-- name: compact
-- Folds the ledger into one row per (queue, state), if no other node is at it (the
-- advisory lock 0x6C6561736563, "leasec" in ASCII: one compaction at a time). The rows
-- deleted are those of this snapshot; deltas committed meanwhile stay and still add up.
WITH go AS (SELECT pg_try_advisory_xact_lock(119182682449251) AS ok),
gone AS (DELETE FROM job_counts WHERE (SELECT ok FROM go) RETURNING queue, state, n)
INSERT INTO job_counts (queue, state, n)
SELECT queue, state, sum(n) FROM gone GROUP BY queue, state

-- == the store ===========================================================================

-- name: ping
SELECT 1

-- name: migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: lock_migrations
SELECT pg_advisory_xact_lock(%s)

-- name: applied_migrations
-- Every version applied. A store applies each migration it has not, in version order,
-- not only those above its highest: branches merged out of order (0010 after 0012) must
-- still reach every database, whichever of them it had run.
SELECT version FROM schema_migrations

-- name: record_migration
INSERT INTO schema_migrations (version, name) VALUES (%s, %s)

-- == schedules ===========================================================================
-- Named parameters: ``scheduling.schedule_params`` and, as arrays, ``step_params``.

-- name: schedule_columns
schedules.name, schedules.cron, schedules.every_ms, schedules.timezone, schedules.job,
schedules.paused, schedules.overlap, schedules.next_run_at, schedules.last_slot,
schedules.last_job_id, schedules.since, schedules.created_at, schedules.updated_at

-- name: get_schedule
SELECT {schedule_columns} FROM schedules WHERE name = %(name)s

-- name: lock_schedule
SELECT {schedule_columns} FROM schedules WHERE name = %(name)s FOR UPDATE

-- name: list_schedules
SELECT {schedule_columns} FROM schedules ORDER BY name

-- name: insert_schedule
-- A PUT of a new name. Two nodes creating the same one race here; the loser inserts
-- nothing and runs its PUT again, as a replacement.
INSERT INTO schedules (name, cron, every_ms, timezone, job, paused, overlap, next_run_at,
                       last_slot, last_job_id, since, created_at, updated_at)
VALUES (%(name)s, %(cron)s, %(every_ms)s, %(timezone)s, %(job)s, %(paused)s, %(overlap)s,
        %(next_run_at)s, %(last_slot)s, %(last_job_id)s, %(since)s, %(created_at)s,
        %(updated_at)s)
ON CONFLICT (name) DO NOTHING
RETURNING name AS id

-- name: update_schedule
-- A replacement, pause or resume of a row this transaction locked (``lock_schedule``).
UPDATE schedules SET cron = %(cron)s, every_ms = %(every_ms)s, timezone = %(timezone)s,
    job = %(job)s, paused = %(paused)s, overlap = %(overlap)s,
    next_run_at = %(next_run_at)s, last_slot = %(last_slot)s, since = %(since)s,
    updated_at = %(updated_at)s
WHERE name = %(name)s

-- name: delete_schedule
WITH gone AS (DELETE FROM schedules WHERE name = %(name)s RETURNING {schedule_columns}),
runs AS (DELETE FROM schedule_runs WHERE schedule IN (SELECT name FROM gone))
SELECT * FROM gone

-- name: any_due_schedule
-- The probe before a pass: most passes find nothing due and open no transaction.
WITH {now_cte}
SELECT EXISTS (
    SELECT 1 FROM schedules, t WHERE NOT schedules.paused AND schedules.next_run_at <= t.now
) AS due

-- name: lock_due_schedules
-- The due rows of unpaused schedules (the schedules_due index), locked for this pass;
-- rows another node's pass holds are skipped, and a row whose pass committed meanwhile is
-- re-read by PostgreSQL and no longer due (its next_run_at moved). With the state of each
-- one's last job, for overlap skip.
WITH {now_cte}
SELECT t.now, {schedule_columns}, jobs.state AS last_state
FROM t CROSS JOIN schedules LEFT JOIN jobs ON jobs.id = schedules.last_job_id
WHERE NOT schedules.paused AND schedules.next_run_at <= t.now
ORDER BY schedules.next_run_at LIMIT %(n)s
FOR UPDATE OF schedules SKIP LOCKED

-- name: take_slots
-- The guarded write of a pass, after its jobs' insert in the same transaction: each slot
-- guard moves only from the slot the pass read (under the row lock it cannot have moved;
-- the guard is the fence), last_job_id names whichever job holds the slot's key (the one
-- just inserted, or one that already held it), and each slot leaves a line in the runs.
WITH v AS (
    SELECT * FROM unnest(%(name)s::text[], %(seen)s::bigint[], %(slot)s::bigint[],
                         %(next_run_at)s::bigint[], %(queue)s::text[], %(key)s::text[],
                         %(skipped)s::int[], %(outcome)s::text[])
         AS v(name, seen, slot, next_run_at, queue, key, skipped, outcome)
),
upd AS (
    UPDATE schedules SET last_slot = v.slot, next_run_at = v.next_run_at,
        last_job_id = coalesce(
            (SELECT jobs.id FROM jobs
             WHERE jobs.queue = v.queue AND jobs.idempotency_key = v.key),
            schedules.last_job_id)
    FROM v
    WHERE schedules.name = v.name AND schedules.last_slot IS NOT DISTINCT FROM v.seen
    RETURNING schedules.name, schedules.last_job_id
),
runs AS (
    INSERT INTO schedule_runs (schedule, slot, at, job_id, skipped, outcome)
    SELECT upd.name, v.slot, %(now)s, CASE WHEN v.key IS NOT NULL THEN upd.last_job_id END,
           v.skipped, v.outcome
    FROM upd JOIN v ON v.name = upd.name
    WHERE v.outcome IS NOT NULL
)
SELECT upd.name AS id, upd.last_job_id FROM upd

-- name: schedule_triggered
WITH upd AS (
    UPDATE schedules SET last_job_id = %(job_id)s WHERE name = %(name)s RETURNING name
)
INSERT INTO schedule_runs (schedule, slot, at, job_id, skipped, outcome)
SELECT upd.name, NULL, %(at)s, %(job_id)s, 0, 'manual' FROM upd

-- name: schedule_runs
SELECT schedule, slot, at, job_id, skipped, outcome FROM schedule_runs
WHERE schedule = %(name)s ORDER BY seq DESC LIMIT %(n)s

-- name: purge_schedule_runs
WITH {now_cte}
DELETE FROM schedule_runs WHERE seq IN (
    SELECT schedule_runs.seq FROM schedule_runs, t WHERE schedule_runs.at < t.now - %(age)s
    LIMIT %(n)s
)
