-- Times are integer milliseconds since the epoch, as in SQLite, so rows map onto the same
-- Job model; payload and result are JSON text stored verbatim (never re-encoded).
CREATE TABLE jobs (
    seq              bigserial PRIMARY KEY,
    id               text    NOT NULL UNIQUE,
    queue            text    NOT NULL,
    task             text,
    payload          text    NOT NULL,
    state            text    NOT NULL,
    priority         integer NOT NULL,
    attempts         integer NOT NULL,
    max_tries        integer NOT NULL,
    run_at           bigint  NOT NULL,
    lease_owner      text,
    lease_token      text,
    lease_expires_at bigint,
    last_error       text,
    result           text,
    idempotency_key  text,
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL
);

-- The claim walks this index in poll order (one queue at a time) and stops after n rows.
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, run_at, seq) WHERE state = 'QUEUED';
-- The earliest future run_at, for long polls waiting on delayed jobs and retries.
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE state = 'QUEUED';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'LEASED';
CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state IN ('DONE', 'CANCELLED');
-- Also the arbiter of INSERT ... ON CONFLICT, which makes idempotent enqueue race-safe
-- across nodes.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (queue, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- Browsing: GET /jobs by state, by queue, newest first.
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_queue ON jobs (queue, seq);
