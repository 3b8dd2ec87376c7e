-- Labelling (lib/labelling): sets of documents and queries without judgements, their
-- TREC-style pools, and the judgements people and LLMs make on the pooled pairs.
-- Every judgement is its own row, written the moment it is made (a reload, a second tab
-- or a killed server loses nothing); the latest row per (pair, judge) is that judge's grade,
-- so undo is "delete that judge's latest row" and re-grading is "insert another".

CREATE SEQUENCE label_judgement_seq START 1;

CREATE TABLE label_sets (
    set_id        VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    source        VARCHAR NOT NULL,     -- where the documents came from
    fingerprint   VARCHAR NOT NULL,     -- of the documents and queries (datasets.Collection)
    query_source  VARCHAR NOT NULL,     -- file / pasted / synthetic / none
    notes         VARCHAR NOT NULL      -- JSON list of what the reader decided
);

CREATE TABLE label_docs (
    set_id    VARCHAR NOT NULL,
    doc_id    VARCHAR NOT NULL,
    position  INTEGER NOT NULL,
    text      VARCHAR NOT NULL,
    PRIMARY KEY (set_id, doc_id)
);

CREATE TABLE label_queries (
    set_id      VARCHAR NOT NULL,
    query_id    VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    text        VARCHAR NOT NULL,
    synthetic   BOOLEAN NOT NULL,       -- written by a chat model from one document
    source_doc  VARCHAR,                -- that document (synthetic queries only)
    generator   VARCHAR,                -- model and prompt version that wrote it
    PRIMARY KEY (set_id, query_id)
);

-- One row per system pooled into a set: which model, its identity, and the depth used.
CREATE TABLE label_pool_systems (
    set_id      VARCHAR NOT NULL,
    system      VARCHAR NOT NULL,       -- the model spec (or 'synthetic-source')
    position    INTEGER NOT NULL,
    depth       INTEGER NOT NULL,
    identity    VARCHAR NOT NULL,       -- JSON of ModelInfo (never a key)
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (set_id, system)
);

-- Which system put which document into the pool of which query, at which rank.
CREATE TABLE label_pool (
    set_id    VARCHAR NOT NULL,
    query_id  VARCHAR NOT NULL,
    doc_id    VARCHAR NOT NULL,
    system    VARCHAR NOT NULL,
    rank      INTEGER NOT NULL,         -- 1-based
    score     DOUBLE,
    PRIMARY KEY (set_id, query_id, doc_id, system)
);

CREATE TABLE label_judgements (
    id              BIGINT PRIMARY KEY DEFAULT nextval('label_judgement_seq'),
    set_id          VARCHAR NOT NULL,
    query_id        VARCHAR NOT NULL,
    doc_id          VARCHAR NOT NULL,
    judge           VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL CHECK (kind IN ('human', 'llm', 'synthetic')),
    grade           INTEGER NOT NULL CHECK (grade IN (0, 1, 2)),
    model           VARCHAR,            -- LLM judges: the chat model
    prompt_version  VARCHAR,            -- LLM judges: e.g. 'umbrela-bing-zeroshot@e2c4e41'
    raw_score       INTEGER,            -- LLM judges: the model's own 0-3 score
    created_at      TIMESTAMP NOT NULL
);

-- LLM answers per (query text, passage text, model, prompt version): a re-run asks nothing twice.
CREATE TABLE llm_judge_cache (
    query_hash         VARCHAR NOT NULL,
    doc_hash           VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,   -- model name @ server URL
    prompt_version     VARCHAR NOT NULL,
    raw_score          INTEGER NOT NULL,
    answer             VARCHAR NOT NULL,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    created_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (query_hash, doc_hash, model, prompt_version)
);
