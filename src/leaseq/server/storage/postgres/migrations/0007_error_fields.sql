-- Structured errors: the exception's class name and message of the last failure, apart
-- from last_error (the whole text, traceback included). Dead letters group by them when
-- the type is set; the existing jobs_dead index still narrows a queue's DEAD jobs.
ALTER TABLE jobs ADD COLUMN last_error_type text;
ALTER TABLE jobs ADD COLUMN last_error_message text;
