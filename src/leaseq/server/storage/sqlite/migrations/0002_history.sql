-- Job history, workers, cheap per-queue counts, and the lease start for run-time metrics.
ALTER TABLE jobs ADD COLUMN leased_at INTEGER;

CREATE TABLE job_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id    TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    state     TEXT    NOT NULL,
    worker_id TEXT,
    attempt   INTEGER NOT NULL,
    error     TEXT
);
CREATE INDEX job_events_by_job ON job_events (job_id, seq);

CREATE TABLE workers (
    worker_id    TEXT    PRIMARY KEY,
    last_seen_at INTEGER NOT NULL,
    done         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workers_by_last_seen ON workers (last_seen_at);

CREATE INDEX jobs_held ON jobs (lease_owner) WHERE state = 'LEASED';
CREATE INDEX jobs_dead ON jobs (queue, last_error) WHERE state = 'DEAD';

-- Per queue: the earliest run_at of QUEUED jobs (oldest ready age, next delayed job).
DROP INDEX jobs_scheduled;
CREATE INDEX jobs_scheduled ON jobs (queue, run_at) WHERE state = 'QUEUED';

-- Counts by queue and state kept by triggers, so /stats and /metrics never scan jobs.
CREATE TABLE queue_counts (
    queue TEXT    NOT NULL,
    state TEXT    NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (queue, state)
);
INSERT INTO queue_counts (queue, state, n)
    SELECT queue, state, count(*) FROM jobs GROUP BY queue, state;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO queue_counts (queue, state, n) VALUES (new.queue, new.state, 1)
        ON CONFLICT (queue, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER jobs_count_update AFTER UPDATE OF state ON jobs
WHEN old.state <> new.state BEGIN
    UPDATE queue_counts SET n = n - 1 WHERE queue = old.queue AND state = old.state;
    INSERT INTO queue_counts (queue, state, n) VALUES (new.queue, new.state, 1)
        ON CONFLICT (queue, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN
    UPDATE queue_counts SET n = n - 1 WHERE queue = old.queue AND state = old.state;
END;
