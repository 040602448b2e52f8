-- The named queries of the SQLite backend (loaded by ``leaseq.server.storage.queries``).
-- Parameters are positional (``?``); ``{columns}`` is the block of that name, and any
-- other ``{hole}`` is filled at run time by the module that runs the query.

-- name: columns
-- The columns of ``JobRecord``, in field order.
id, queue, task, payload, state, priority, attempts, max_tries, run_at, lease_owner,
lease_token, lease_expires_at, last_error, result, idempotency_key, created_at,
updated_at, leased_at, concurrency_key, idempotency_scope, last_error_type,
last_error_message, tags, traceparent,
timeout_ms, progress, checkpoint

-- == jobs: enqueue, claim, the guarded write, expiry, purge, reads ======================

-- name: insert_job
INSERT INTO jobs ({columns})
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
        ?, ?, ?)

-- name: insert_tags
-- The tag rows of one job just inserted, by its id; its tags are a JSON array.
INSERT INTO job_tags (tag, seq)
SELECT t.value, jobs.seq FROM jobs, json_each(jobs.tags) AS t WHERE jobs.id = ?

-- name: job_by_key
SELECT {columns} FROM jobs WHERE queue = ? AND idempotency_key = ?

-- name: ready
-- The head of one queue's ready jobs, in poll order; a claim merges the heads of the
-- queues it names.
SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_ready
WHERE state = 'QUEUED' AND queue = ? AND run_at <= ?
ORDER BY priority DESC, run_at, seq LIMIT ?

-- name: lease
-- {seqs}: one ``?`` per job taken. The lease (now + lease_ms) stops at the attempt's
-- timeout; the last attempt's progress goes (``transitions.lease``).
UPDATE jobs SET state = 'LEASED', attempts = attempts + 1, lease_owner = ?,
lease_token = lower(hex(randomblob(16))),
lease_expires_at = ? + min(?, coalesce(timeout_ms, ?)), updated_at = ?,
leased_at = ?, progress = NULL WHERE seq IN ({seqs})
RETURNING seq, {columns}

-- name: jobs_by_ids
-- {ids}: one ``?`` per id.
SELECT {columns} FROM jobs WHERE id IN ({ids})

-- name: update_job
-- {sets}: ``column = ?`` for just the columns the write changes. SQLite rewrites an
-- index entry when the statement sets one of its columns, so naming only what changed
-- spares most of the indexes on ``jobs`` (an ack touches four columns, a heartbeat two).
UPDATE jobs SET {sets} WHERE id = ? AND state = ? AND lease_token IS ?

-- name: expired
SELECT {columns} FROM jobs WHERE state = 'LEASED' AND lease_expires_at <= ?
ORDER BY lease_expires_at LIMIT ?

-- name: purge_jobs
DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs INDEXED BY jobs_finished
WHERE state IN ('DONE', 'CANCELLED') AND updated_at < ? LIMIT ?)
RETURNING id, queue, state, seq, tags

-- name: purge_tags
DELETE FROM job_tags WHERE tag = ? AND seq = ?

-- name: get_job
SELECT {columns} FROM jobs WHERE id = ?

-- name: list_jobs
-- {source}, {where} and {seq}: the listing's tables, filter and order column
-- (``common.listing_filter``). With tags, the first tag's rows of job_tags drive the walk
-- (CROSS JOIN keeps them the outer loop in SQLite, read newest first from its primary
-- key) and each job is one primary-key probe; the other tags are probes of job_tags.
SELECT {seq} AS seq, {columns} FROM {source} WHERE {where} ORDER BY {seq} DESC LIMIT ?

-- name: first_scheduled
SELECT min(run_at) AS first FROM jobs INDEXED BY jobs_scheduled
WHERE state = 'QUEUED' AND queue = ? AND run_at > ?

-- == queue settings and the claim of a limited queue ====================================

-- name: settings_columns
name, paused, concurrency, rate_count, rate_per_ms, key_concurrency

-- name: queue_settings
-- {names}: one ``?`` per name.
SELECT {settings_columns} FROM queues WHERE name IN ({names})

-- name: all_queue_settings
SELECT {settings_columns} FROM queues ORDER BY name

-- name: limited_queues
-- {names}: one ``?`` per name. The queues among them whose claims must count something
-- (``QueueSettings.limited``); a claim of any other queue takes the plain path.
SELECT {settings_columns} FROM queues WHERE name IN ({names})
AND (paused OR concurrency IS NOT NULL OR rate_count IS NOT NULL
     OR key_concurrency IS NOT NULL)

-- name: upsert_queue
INSERT INTO queues ({settings_columns}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused,
concurrency = excluded.concurrency, rate_count = excluded.rate_count,
rate_per_ms = excluded.rate_per_ms, key_concurrency = excluded.key_concurrency,
updated_at = excluded.updated_at

-- name: leased_count
-- Exact inside the writer's transaction: the writer keeps ``queue_counts`` itself.
SELECT n FROM queue_counts WHERE queue = ? AND state = 'LEASED'

-- name: ready_keyed
-- The head of a queue with a per-key limit, with each job's key.
SELECT seq, priority, run_at, concurrency_key FROM jobs INDEXED BY jobs_ready
WHERE state = 'QUEUED' AND queue = ? AND run_at <= ?
ORDER BY priority DESC, run_at, seq LIMIT ?

-- name: leased_with_key
-- Counting stops at the limit: the claim only needs to know how much room is left.
SELECT count(*) AS n FROM (SELECT 1 FROM jobs INDEXED BY jobs_leased_keys
WHERE state = 'LEASED' AND queue = ? AND concurrency_key = ? LIMIT ?)

-- name: prune_leases
DELETE FROM queue_leases WHERE queue = ? AND at <= ?

-- name: forget_leases
DELETE FROM queue_leases WHERE queue = ?

-- name: leases_in_window
SELECT count(*) AS n FROM queue_leases WHERE queue = ? AND at > ?

-- name: log_lease
INSERT INTO queue_leases (queue, at) VALUES (?, ?)

-- name: rate_frees_at
-- The lease whose leaving the window lets the next one in: the (in window - count + 1)th
-- oldest, when the window is full.
SELECT at FROM queue_leases WHERE queue = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?

-- == dead letters ========================================================================

-- name: dead_ids
SELECT id FROM jobs WHERE state = 'DEAD' AND queue = ?
AND seq > coalesce((SELECT seq FROM jobs WHERE id = ?), 0)
ORDER BY seq LIMIT ?

-- name: dead_group_key
-- The key dead letters group by: (type, message) when the worker sent a type, else the
-- whole text, as before types were sent (and for "lease expired").
last_error_type, CASE WHEN last_error_type IS NOT NULL THEN last_error_message END,
CASE WHEN last_error_type IS NULL THEN last_error END

-- name: dead_groups
-- ``error`` is the text of one job of the group (its traceback), for the reader.
SELECT last_error_type AS type,
       CASE WHEN last_error_type IS NOT NULL THEN last_error_message END AS message,
       CASE WHEN last_error_type IS NULL THEN last_error END AS text,
       min(last_error) AS last_error, count(*) AS n
FROM jobs INDEXED BY jobs_dead
WHERE state = 'DEAD' AND queue = :queue GROUP BY {dead_group_key}
ORDER BY count(*) DESC, type, message, text LIMIT :groups

-- name: dead_group_ids
SELECT id FROM jobs INDEXED BY jobs_dead
WHERE state = 'DEAD' AND queue = :queue AND last_error_type IS :type
  AND CASE WHEN last_error_type IS NOT NULL THEN last_error_message END IS :message
  AND CASE WHEN last_error_type IS NULL THEN last_error END IS :text
ORDER BY seq LIMIT :ids

-- == events ==============================================================================

-- name: insert_event
INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: events
SELECT seq, job_id, at, kind, state, worker_id, attempt, error FROM job_events
WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?

-- name: purge_events
DELETE FROM job_events WHERE job_id = ?

-- == workers =============================================================================

-- name: tally_worker
INSERT INTO workers (worker_id, last_seen_at, done, failed) VALUES (?, ?, ?, ?)
ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = max(last_seen_at,
excluded.last_seen_at), done = done + excluded.done, failed = failed + excluded.failed

-- name: touch_worker
-- A poll: the worker is seen now, polling these queues (JSON) with this concurrency.
INSERT INTO workers (worker_id, last_seen_at, done, failed, queues, concurrency)
VALUES (?, ?, 0, 0, ?, ?)
ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = max(last_seen_at,
excluded.last_seen_at), queues = excluded.queues, concurrency = excluded.concurrency

-- name: workers
SELECT worker_id, last_seen_at, done, failed, queues, concurrency FROM workers
WHERE last_seen_at >= ?
ORDER BY last_seen_at DESC LIMIT ?

-- name: held_jobs
SELECT id FROM jobs INDEXED BY jobs_held WHERE state = 'LEASED' AND lease_owner = ?
LIMIT 1000

-- name: count_workers
SELECT count(*) FROM workers WHERE last_seen_at >= ?

-- name: purge_workers
DELETE FROM workers WHERE last_seen_at < ?

-- == counts ==============================================================================

-- name: add_count
INSERT INTO queue_counts (queue, state, n) VALUES (?, ?, ?)
ON CONFLICT (queue, state) DO UPDATE SET n = n + excluded.n

-- name: queue_counts
SELECT queue, state, n FROM queue_counts

-- name: oldest_queued
SELECT min(run_at) AS oldest FROM jobs INDEXED BY jobs_scheduled
WHERE state = 'QUEUED' AND queue = ?

-- == the store ===========================================================================

-- name: ping
SELECT 1

-- name: migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,
name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)

-- name: applied_migrations
-- Every version applied. A store applies each migration it has not, in version order,
-- not only those above its highest: branches merged out of order (0010 after 0012) must
-- still reach every database, whichever of them it had run.
SELECT version FROM schema_migrations

-- name: record_migration
INSERT INTO schema_migrations (version, name) VALUES (?, ?)

-- == schedules ===========================================================================
-- Named parameters (``:name``): ``scheduling.schedule_params`` and ``step_params``.

-- name: schedule_columns
schedules.name, schedules.cron, schedules.every_ms, schedules.timezone, schedules.job,
schedules.paused, schedules.overlap, schedules.next_run_at, schedules.last_slot,
schedules.last_job_id, schedules.since, schedules.created_at, schedules.updated_at

-- name: get_schedule
SELECT {schedule_columns} FROM schedules WHERE name = ?

-- name: list_schedules
SELECT {schedule_columns} FROM schedules ORDER BY name

-- name: upsert_schedule
INSERT INTO schedules (name, cron, every_ms, timezone, job, paused, overlap, next_run_at,
                       last_slot, last_job_id, since, created_at, updated_at)
VALUES (:name, :cron, :every_ms, :timezone, :job, :paused, :overlap, :next_run_at,
        :last_slot, :last_job_id, :since, :created_at, :updated_at)
ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, every_ms = excluded.every_ms,
    timezone = excluded.timezone, job = excluded.job, paused = excluded.paused,
    overlap = excluded.overlap, next_run_at = excluded.next_run_at,
    last_slot = excluded.last_slot, last_job_id = excluded.last_job_id,
    since = excluded.since, updated_at = excluded.updated_at

-- name: delete_schedule
DELETE FROM schedules WHERE name = ? RETURNING {schedule_columns}

-- name: delete_schedule_runs
DELETE FROM schedule_runs WHERE schedule = ?

-- name: any_due_schedule
-- The reader's probe before a pass: most passes find nothing due and never queue behind
-- the writer.
SELECT 1 AS due FROM schedules INDEXED BY schedules_due
WHERE paused = 0 AND next_run_at <= ? LIMIT 1

-- name: due_schedules
-- The due rows of unpaused schedules, oldest slot first, with the state of each one's
-- last job (overlap skip).
SELECT {schedule_columns}, jobs.state AS last_state
FROM schedules INDEXED BY schedules_due LEFT JOIN jobs ON jobs.id = schedules.last_job_id
WHERE schedules.paused = 0 AND schedules.next_run_at <= ?
ORDER BY schedules.next_run_at LIMIT ?

-- name: take_slot
-- The slot guard: moves only from the slot the pass read. The writer's one transaction
-- already serialises passes, and a second store on the file waits on BEGIN IMMEDIATE and
-- then reads the moved guard; the guard is the fence should either ever fail.
UPDATE schedules SET last_slot = :slot, next_run_at = :next_run_at,
    last_job_id = coalesce(:job_id, last_job_id)
WHERE name = :name AND last_slot IS :seen

-- name: set_last_job
UPDATE schedules SET last_job_id = :job_id WHERE name = :name

-- name: insert_schedule_run
INSERT INTO schedule_runs (schedule, slot, at, job_id, skipped, outcome)
VALUES (:name, :slot, :at, :job_id, :skipped, :outcome)

-- name: schedule_runs
SELECT schedule, slot, at, job_id, skipped, outcome FROM schedule_runs
WHERE schedule = ? ORDER BY seq DESC LIMIT ?

-- name: purge_schedule_runs
DELETE FROM schedule_runs WHERE seq IN (SELECT seq FROM schedule_runs
WHERE at < ? LIMIT ?)
