-- Truncation made visible, and chunking (issue 15): per run and model, the corpus's token
-- lengths under the model's own tokenizer (special tokens and document prompt included), the
-- share of documents and of tokens cut off at its input limit, and — for `chunk=` specs scored
-- by their best chunk (MaxP) — the chunks indexed. NULL for runs stored before, and for what a
-- model cannot tell (BM25 reads whole documents; an API model without a known tokenizer).
ALTER TABLE eval_run_models ADD COLUMN token_limit INTEGER;           -- tokens read per input
ALTER TABLE eval_run_models ADD COLUMN doc_tokens_p50 DOUBLE;
ALTER TABLE eval_run_models ADD COLUMN doc_tokens_p95 DOUBLE;
ALTER TABLE eval_run_models ADD COLUMN doc_tokens_max BIGINT;
ALTER TABLE eval_run_models ADD COLUMN truncated_docs_share DOUBLE;   -- documents with tokens cut off
ALTER TABLE eval_run_models ADD COLUMN truncated_tokens_share DOUBLE; -- tokens cut off, of all tokens
ALTER TABLE eval_run_models ADD COLUMN n_chunks BIGINT;               -- vectors indexed (documents unless chunked)
ALTER TABLE eval_run_models ADD COLUMN chunk_tokens INTEGER;          -- tokens per chunk (NULL: not chunked)
ALTER TABLE eval_run_models ADD COLUMN chunk_overlap INTEGER;
ALTER TABLE eval_run_models ADD COLUMN truncation_note VARCHAR;       -- how tokens were counted, or why n/a
ALTER TABLE eval_run_models ADD COLUMN truncation_source VARCHAR;     -- a hybrid: the dense part these numbers are from
