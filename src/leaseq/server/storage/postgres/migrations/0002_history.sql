-- Job history, workers, cheap per-queue counts, and the lease start for run-time metrics.
ALTER TABLE jobs ADD COLUMN leased_at bigint;

-- seq comes from a sequence, which never blocks: concurrent writers append freely. A job's
-- transitions are serialised by its row lock, so its events are in seq order.
CREATE TABLE job_events (
    seq       bigserial PRIMARY KEY,
    job_id    text    NOT NULL,
    at        bigint  NOT NULL,
    kind      text    NOT NULL,
    state     text    NOT NULL,
    worker_id text,
    attempt   integer NOT NULL,
    error     text
);
CREATE INDEX job_events_by_job ON job_events (job_id, seq);

CREATE TABLE workers (
    worker_id    text    PRIMARY KEY,
    last_seen_at bigint  NOT NULL,
    done         bigint  NOT NULL DEFAULT 0,
    failed       bigint  NOT NULL DEFAULT 0
);
CREATE INDEX workers_by_last_seen ON workers (last_seen_at);

CREATE INDEX jobs_held ON jobs (lease_owner) WHERE state = 'LEASED';
CREATE INDEX jobs_dead ON jobs (queue, last_error) WHERE state = 'DEAD';

-- Per queue: the earliest run_at of QUEUED jobs (oldest ready age, next delayed job).
DROP INDEX jobs_scheduled;
CREATE INDEX jobs_scheduled ON jobs (queue, run_at) WHERE state = 'QUEUED';

-- Counts by queue and state as an append-only ledger of deltas: every write inserts its
-- own rows (no row is shared, so concurrent transitions never wait on each other), the
-- sum per (queue, state) is the exact count in any snapshot, and housekeeping folds the
-- rows into one per (queue, state) now and then (see `compact` in postgres/queries.sql).
CREATE TABLE job_counts (
    queue text   NOT NULL,
    state text   NOT NULL,
    n     bigint NOT NULL
);
INSERT INTO job_counts (queue, state, n)
    SELECT queue, state, count(*) FROM jobs GROUP BY queue, state;
