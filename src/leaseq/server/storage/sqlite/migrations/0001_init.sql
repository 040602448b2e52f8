-- Times are integer milliseconds since the epoch; payload and result are JSON text.
CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    queue            TEXT    NOT NULL,
    task             TEXT,
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    priority         INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    max_tries        INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_token      TEXT,
    lease_expires_at INTEGER,
    last_error       TEXT,
    result           TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- The claim walks this index in poll order and stops after n rows.
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, run_at, seq) WHERE state = 'QUEUED';
-- The earliest future run_at, for long polls waiting on delayed jobs and retries.
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE state = 'QUEUED';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'LEASED';
CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('DONE', 'CANCELLED');
CREATE UNIQUE INDEX jobs_idempotency ON jobs (queue, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Browsing: GET /jobs by state, by queue, newest first.
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_queue ON jobs (queue, seq);
