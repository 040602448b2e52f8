-- Unique while active: a job of scope 'active' holds its idempotency key only while it is
-- QUEUED or LEASED; the transition that finishes it clears the key (core/transitions).
ALTER TABLE jobs ADD COLUMN idempotency_scope TEXT NOT NULL DEFAULT 'stored';

-- Schedules: cron or every, the job template (a NewJob as JSON), and the slot guard.
-- last_slot is the last slot taken (enqueued, or skipped for overlap), written in the
-- transaction that inserts its job; next_run_at is NULL while paused.
CREATE TABLE schedules (
    name        TEXT    PRIMARY KEY,
    cron        TEXT,
    every_ms    INTEGER,
    timezone    TEXT    NOT NULL,
    job         TEXT    NOT NULL,
    paused      INTEGER NOT NULL,
    overlap     TEXT    NOT NULL,
    next_run_at INTEGER,
    last_slot   INTEGER,
    last_job_id TEXT,
    since       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The scheduler's pass reads only the due rows of unpaused schedules, through this.
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;

-- What each slot came to: a job ('enqueued'), nothing because the previous job was still
-- active ('overlap'), or a run outside the slots ('manual'); ``skipped`` counts the
-- earlier slots missed while no node ran (after downtime, one job, not a burst).
CREATE TABLE schedule_runs (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule TEXT    NOT NULL,
    slot     INTEGER,
    at       INTEGER NOT NULL,
    job_id   TEXT,
    skipped  INTEGER NOT NULL,
    outcome  TEXT    NOT NULL
);
CREATE INDEX schedule_runs_by_schedule ON schedule_runs (schedule, seq);
CREATE INDEX schedule_runs_by_at ON schedule_runs (at);
