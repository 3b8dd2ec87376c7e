-- The leaderboard file's schema (lib/leaderboard/store.py): the mteb/results rows, mteb's
-- metadata, benchmarks, provenance. A refresh writes it into a brand-new file and swaps that
-- file in whole, so this file has no migrations: a change here bumps SCHEMA_VERSION in
-- store.py, and a file with another version is reloaded (first start) or refused with
-- "run python -m lib refresh". (History: app-database migrations 0001 and 0005; 0008 drops
-- those tables from the app database.)

CREATE TABLE leaderboard_schema (
    version INTEGER NOT NULL
);


CREATE TABLE mteb_results (
    -- Source order (file ordinal, row in file). mteb's polars means add rows in this
    -- order; summing in the same order reproduces its floating-point near-ties.
    row_id         BIGINT NOT NULL,
    model_name     VARCHAR NOT NULL,
    model_revision VARCHAR,
    task_name      VARCHAR NOT NULL,
    split          VARCHAR,
    subset         VARCHAR,
    language       VARCHAR[],
    score          DOUBLE,
    -- mteb's experiment id (``_serialize_experiment_kwargs_to_name``), '' for the base run
    experiment_id  VARCHAR NOT NULL DEFAULT '',
    is_public      BOOLEAN,
    trained_on     BOOLEAN,
    -- 'mteb/results' for the published dataset, 'local' for a team's own result folders
    source         VARCHAR NOT NULL
);

CREATE TABLE models (
    name                  VARCHAR PRIMARY KEY,
    revision              VARCHAR,
    release_date          DATE,
    languages             VARCHAR[],
    n_parameters          BIGINT,
    n_active_parameters   BIGINT,
    n_embedding_parameters BIGINT,
    memory_usage_mb       DOUBLE,
    max_tokens            DOUBLE,      -- NULL when unbounded or unknown
    embed_dim             INTEGER,     -- the largest dimension (as mteb's leaderboard shows)
    embed_dims            INTEGER[],   -- every dimension the model offers (MRL), when listed
    license               VARCHAR,
    open_weights          BOOLEAN,
    public_training_code  VARCHAR,
    public_training_data  VARCHAR,
    framework             VARCHAR[],
    reference             VARCHAR,
    similarity_fn_name    VARCHAR,
    use_instructions      BOOLEAN,
    training_datasets     VARCHAR[],   -- as declared
    training_datasets_all VARCHAR[],   -- with similar tasks (ModelMeta.get_training_datasets); NULL = unknown
    adapted_from          VARCHAR,
    superseded_by         VARCHAR,
    modalities            VARCHAR[],
    model_type            VARCHAR[],
    query_prompt          VARCHAR,
    document_prompt       VARCHAR,
    in_mteb_registry      BOOLEAN NOT NULL
);

CREATE TABLE tasks (
    name          VARCHAR PRIMARY KEY,
    type          VARCHAR NOT NULL,
    category      VARCHAR,
    languages     VARCHAR[],
    domains       VARCHAR[],
    main_score    VARCHAR,
    modalities    VARCHAR[],
    eval_splits   VARCHAR[],
    hf_subsets    VARCHAR[],
    is_public     BOOLEAN,
    is_aggregate  BOOLEAN,
    superseded_by VARCHAR,
    reference     VARCHAR,
    license       VARCHAR,
    description   VARCHAR
);

CREATE TABLE benchmarks (
    name            VARCHAR PRIMARY KEY,
    display_name    VARCHAR,
    aliases         VARCHAR[],
    description     VARCHAR,
    reference       VARCHAR,
    kind            VARCHAR NOT NULL,   -- mteb class: Benchmark, RtebBenchmark, HUMEBenchmark, ...
    aggregations    VARCHAR[] NOT NULL, -- BenchmarkAggregation values, in order
    custom_groupings VARCHAR[],         -- names of CustomGrouping dimensions (not computed here)
    sort_by         VARCHAR[],          -- summary_sort_column; NULL = Rank (Borda)
    rank_column     VARCHAR,            -- summary_rank_column
    public_only     BOOLEAN NOT NULL,   -- RtebBenchmark filters is_public before the summary
    show_zero_shot  BOOLEAN NOT NULL,
    join_split      BOOLEAN NOT NULL,   -- whether mteb's split join uses the split column
    join_subset     BOOLEAN NOT NULL,   -- ... and the subset column
    superseded_by   VARCHAR[],
    on_leaderboard  BOOLEAN NOT NULL,
    position        INTEGER NOT NULL
);

-- One row per task of a benchmark, with the instance-level (benchmark-scoped) languages.
CREATE TABLE benchmark_tasks (
    benchmark  VARCHAR NOT NULL,
    task_name  VARCHAR NOT NULL,
    position   INTEGER NOT NULL,
    languages  VARCHAR[],
    PRIMARY KEY (benchmark, task_name)
);

-- mteb's ``_build_valid_triples``: every (task, split, subset) a benchmark expects,
-- duplicates included (they are part of mteb's join semantics).
CREATE TABLE benchmark_scope (
    benchmark VARCHAR NOT NULL,
    task_name VARCHAR NOT NULL,
    split     VARCHAR,
    subset    VARCHAR
);

CREATE TABLE refreshes (
    id              INTEGER PRIMARY KEY,
    refreshed_at    TIMESTAMP NOT NULL,
    source          VARCHAR NOT NULL,   -- where mteb/results came from (repo@sha or a path)
    source_revision VARCHAR,            -- the dataset commit, or a content fingerprint
    local_results   VARCHAR,            -- the local result folder, if any
    mteb_version    VARCHAR NOT NULL,
    n_rows          BIGINT NOT NULL,
    n_local_rows    BIGINT NOT NULL,
    n_models        INTEGER NOT NULL,
    n_tasks         INTEGER NOT NULL,
    n_benchmarks    INTEGER NOT NULL,
    seconds         DOUBLE NOT NULL,
    -- Where the results came from, in words a reader can act on (issue 12): how the source
    -- was chosen (--results / EMS_MTEB_RESULTS / hub / bundled snapshot), the date of the
    -- results themselves (not of the refresh), and why a fallback was used.
    source_kind     VARCHAR,
    source_date     DATE,
    source_note     VARCHAR
);
