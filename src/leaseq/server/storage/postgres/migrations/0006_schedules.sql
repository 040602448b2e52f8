-- Unique while active: a job of scope 'active' holds its idempotency key only while it is
-- QUEUED or LEASED; the transition that finishes it clears the key (core/transitions).
ALTER TABLE jobs ADD COLUMN idempotency_scope text NOT NULL DEFAULT 'stored';

-- Schedules: cron or every, the job template (a NewJob as JSON), and the slot guard.
-- last_slot is the last slot taken (enqueued, or skipped for overlap), written in the
-- transaction that inserts its job; next_run_at is NULL while paused.
CREATE TABLE schedules (
    name        text    PRIMARY KEY,
    cron        text,
    every_ms    bigint,
    timezone    text    NOT NULL,
    job         text    NOT NULL,
    paused      boolean NOT NULL,
    overlap     text    NOT NULL,
    next_run_at bigint,
    last_slot   bigint,
    last_job_id text,
    since       bigint  NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL
);
-- The scheduler's pass reads only the due rows of unpaused schedules, through this.
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE NOT paused;

-- What each slot came to: a job ('enqueued'), nothing because the previous job was still
-- active ('overlap'), or a run outside the slots ('manual'); ``skipped`` counts the
-- earlier slots missed while no node ran (after downtime, one job, not a burst).
CREATE TABLE schedule_runs (
    seq      bigserial PRIMARY KEY,
    schedule text    NOT NULL,
    slot     bigint,
    at       bigint  NOT NULL,
    job_id   text,
    skipped  integer NOT NULL,
    outcome  text    NOT NULL
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs (schedule, seq);
CREATE INDEX schedule_runs_by_at ON schedule_runs (at);
