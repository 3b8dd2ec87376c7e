-- The fusion weight sweep (issue 15): for each score-fusion hybrid of a run (min-max or z-score,
-- weight alpha on the first system), the headline metrics at alpha = 0.0, 0.1, ..., 1.0 with their
-- bootstrap CIs, re-fused from the same component rankings; plus one 'cross-validated' row per
-- metric (alpha NULL): alpha picked on one half of the queries, scored on the other half, both
-- ways — what tuning alpha is worth on unseen queries, since the best alpha of the sweep flatters.
CREATE TABLE eval_fusion_sweep (
    run_id     VARCHAR NOT NULL,
    model      VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,   -- 'alpha' or 'cross-validated'
    alpha      DOUBLE,             -- NULL for the cross-validated row
    metric     VARCHAR NOT NULL,
    mean       DOUBLE NOT NULL,
    ci_low     DOUBLE NOT NULL,
    ci_high    DOUBLE NOT NULL,
    n_queries  INTEGER NOT NULL,
    note       VARCHAR             -- the cross-validated row: the alpha picked in each half
);
