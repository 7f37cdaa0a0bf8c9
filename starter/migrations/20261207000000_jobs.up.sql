-- torn's durable job queue (torn::jobs), in SQL that SQLite and PostgreSQL both run.
-- Times are Unix milliseconds; ids are random 63-bit integers made by the app.

-- A job is 'ready' (due at run_at), 'running' (taken by locked_by, whose lease ends at
-- run_at) or 'dead' (failed for good, kept with its last error); one that succeeded is deleted.
CREATE TABLE torn_jobs (
    id BIGINT PRIMARY KEY,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- The job's data, as JSON.
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    -- Attempts started, this one included.
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX torn_jobs_due ON torn_jobs (queue, state, run_at);

-- The latest time each schedule fired. An instance fires a time only by moving fire_at forward
-- to it, so a time fires once however many instances keep the schedule, and never again once a
-- later one has.
CREATE TABLE torn_job_schedules (
    name TEXT PRIMARY KEY,
    fire_at BIGINT NOT NULL
);
