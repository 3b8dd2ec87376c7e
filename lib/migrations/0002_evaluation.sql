-- Evaluation runs (lib/evaluation). A run is inserted as 'running'; its results and the
-- switch to 'done' are written in one transaction, so no half run ever shows as done.
CREATE TABLE eval_runs (
    run_id              VARCHAR PRIMARY KEY,
    status              VARCHAR NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    created_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    wall_time_s         DOUBLE,
    dataset_name        VARCHAR NOT NULL,
    dataset_source      VARCHAR NOT NULL,
    dataset_split       VARCHAR NOT NULL,
    dataset_fingerprint VARCHAR NOT NULL,
    n_docs              INTEGER NOT NULL,
    n_queries           INTEGER NOT NULL,
    n_qrels             INTEGER NOT NULL,
    k                   INTEGER NOT NULL,
    models              VARCHAR NOT NULL,   -- JSON list of model specs, in order
    config              VARCHAR NOT NULL,   -- JSON of EvaluationConfig
    environment         VARCHAR NOT NULL,   -- JSON: python, library versions, cpu, platform
    error               VARCHAR
);

-- One row per model in a run: identity and measured cost of use.
CREATE TABLE eval_run_models (
    run_id            VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,    -- the spec, the label used everywhere
    position          INTEGER NOT NULL,
    kind              VARCHAR NOT NULL,
    name              VARCHAR NOT NULL,
    revision          VARCHAR NOT NULL,
    identity          VARCHAR NOT NULL,    -- JSON of ModelInfo (never contains a key)
    dim               INTEGER,
    similarity        VARCHAR,
    load_s            DOUBLE,
    encode_docs_s     DOUBLE,
    encode_queries_s  DOUBLE,
    search_s          DOUBLE,
    docs_per_s        DOUBLE,
    queries_per_s     DOUBLE,
    latency_p50_ms    DOUBLE,
    latency_p95_ms    DOUBLE,
    index_bytes       BIGINT,
    api_tokens        BIGINT,
    api_requests      BIGINT,
    api_cost_usd      DOUBLE,
    cache_hits        BIGINT,
    cache_misses      BIGINT,
    PRIMARY KEY (run_id, model)
);

-- Mean and bootstrap CI per model and metric.
CREATE TABLE eval_summary (
    run_id     VARCHAR NOT NULL,
    model      VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    mean       DOUBLE NOT NULL,
    ci_low     DOUBLE NOT NULL,
    ci_high    DOUBLE NOT NULL,
    n_queries  INTEGER NOT NULL,
    tie_group  INTEGER              -- rank of the group of models not separable on it
);

-- Per-query metrics (long form).
CREATE TABLE eval_query_metrics (
    run_id    VARCHAR NOT NULL,
    model     VARCHAR NOT NULL,
    query_id  VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    value     DOUBLE NOT NULL
);

-- Ranked top-k document ids and scores per query.
CREATE TABLE eval_topk (
    run_id    VARCHAR NOT NULL,
    model     VARCHAR NOT NULL,
    query_id  VARCHAR NOT NULL,
    doc_ids   VARCHAR[] NOT NULL,
    scores    DOUBLE[] NOT NULL
);

-- Paired comparisons between models on the same queries.
CREATE TABLE eval_pairs (
    run_id     VARCHAR NOT NULL,
    metric     VARCHAR NOT NULL,
    model_a    VARCHAR NOT NULL,
    model_b    VARCHAR NOT NULL,
    mean_diff  DOUBLE NOT NULL,
    ci_low     DOUBLE NOT NULL,
    ci_high    DOUBLE NOT NULL,
    p_value    DOUBLE NOT NULL,
    n_queries  INTEGER NOT NULL
);

-- Dimension × precision sweep, re-scored from the same vectors.
CREATE TABLE eval_sweep (
    run_id       VARCHAR NOT NULL,
    model        VARCHAR NOT NULL,
    dim          INTEGER NOT NULL,
    precision    VARCHAR NOT NULL,
    index_bytes  BIGINT NOT NULL,
    metric       VARCHAR NOT NULL,
    mean         DOUBLE NOT NULL,
    ci_low       DOUBLE NOT NULL,
    ci_high      DOUBLE NOT NULL
);
