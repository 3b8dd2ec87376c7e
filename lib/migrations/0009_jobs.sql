-- Background jobs (lib/jobs.py): evaluations, LLM judging and synthetic queries run in the
-- server process, not in a page's script run. A job row is written when it is submitted
-- (queued), updated while it runs (stage, fraction, ETA, log) and finished in one statement.
-- A job left queued/running by a process that died is marked 'interrupted' when the next
-- process opens the file (it is then the only writer, so the old owner is gone).
CREATE TABLE jobs (
    job_id           VARCHAR PRIMARY KEY,
    kind             VARCHAR NOT NULL,           -- evaluate | judge | synth
    title            VARCHAR NOT NULL,           -- one line for people
    status           VARCHAR NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled',
                                                        'interrupted')),
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    params           VARCHAR NOT NULL,           -- JSON: what to run again (never a key)
    stage            VARCHAR,
    fraction         DOUBLE,
    eta_s            DOUBLE,
    log              VARCHAR,                    -- newline-separated stage lines, newest last
    result_ref       VARCHAR,                    -- run id / label set id the job wrote
    error            VARCHAR,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    owner            VARCHAR,                    -- process token (lib.evaluation.runs.owner_token)
    user_id          VARCHAR                     -- who submitted it (team mode), NULL locally
);
