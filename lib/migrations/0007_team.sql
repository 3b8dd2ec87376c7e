-- Team mode (issue 18): who owns each run, label set and uploaded dataset, and whether the owner
-- shared it with the team. user_id is the signed-in person's OIDC subject (`sub`), or the local
-- user's name (EMS_USER / --user / the OS login) for the CLI and the app on loopback. NULL: stored
-- before owners were recorded; such rows belong to the local user (lib/team.py). `eval_runs.owner`
-- (0003) is something else: the *process* that runs the evaluation, for crash recovery.
ALTER TABLE eval_runs ADD COLUMN user_id VARCHAR;
ALTER TABLE eval_runs ADD COLUMN shared BOOLEAN DEFAULT false;
ALTER TABLE label_sets ADD COLUMN user_id VARCHAR;
ALTER TABLE label_sets ADD COLUMN shared BOOLEAN DEFAULT false;

-- Uploaded datasets kept under <EMS_CACHE_DIR>/uploads/<user folder>/<content hash> (lib/evaluation/uploads.py).
-- One row per (owner, kept folder): the same upload by two people is two private copies.
CREATE TABLE team_datasets (
    user_id     VARCHAR NOT NULL,
    dataset_id  VARCHAR NOT NULL,      -- the kept folder's name (content hash)
    name        VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('evaluation', 'collection')),
    source      VARCHAR NOT NULL,      -- what load_dataset / load_collection reads
    split       VARCHAR NOT NULL,
    n_bytes     BIGINT NOT NULL,
    n_docs      INTEGER NOT NULL,
    n_queries   INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    shared      BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, dataset_id)
);

-- How to name a user on screen (their e-mail or name from the identity provider), by user_id.
CREATE TABLE team_users (
    user_id    VARCHAR PRIMARY KEY,
    display    VARCHAR NOT NULL,
    last_seen  TIMESTAMP NOT NULL
);
