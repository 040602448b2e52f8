-- A B-tree entry must fit in a third of a page (about 2.7 kB), so indexing last_error made
-- a fail that buried a job with a long error (a traceback well under the 64 KiB the API
-- accepts) fail with "index row size exceeds maximum", and the job stayed LEASED. Index
-- the queue's DEAD jobs by seq instead: it narrows dead-letter listings and groups to the
-- queue's DEAD jobs as before (and serves dead_ids' order), and holds any error.
DROP INDEX IF EXISTS jobs_dead;
CREATE INDEX jobs_dead ON jobs (queue, seq) WHERE state = 'DEAD';
