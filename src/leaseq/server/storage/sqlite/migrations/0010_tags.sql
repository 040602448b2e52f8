-- Tags and trace context (issue 16). A job's tags are written once, at enqueue: as a JSON
-- array on the job (read with it, NULL when it has none) and one row per tag in job_tags,
-- which GET /jobs?tag= walks newest first (tag, seq DESC), so a page of a tag reads that
-- tag's rows, never the jobs without it. The purge deletes a job's rows with the job.
ALTER TABLE jobs ADD COLUMN tags TEXT;
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
CREATE TABLE job_tags (
    tag TEXT    NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tag, seq)
) WITHOUT ROWID;
-- GET /jobs?task=T, newest first.
CREATE INDEX jobs_by_task ON jobs (task, seq);
