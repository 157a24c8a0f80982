-- Eval runs and their per-item results, so runs can be listed and compared.
CREATE TABLE chimera_eval_runs (
    run_id       text PRIMARY KEY,
    suite        text NOT NULL,
    models       jsonb NOT NULL DEFAULT '{}'::jsonb,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    metrics      jsonb NOT NULL DEFAULT '{}'::jsonb,
    results_file text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chimera_eval_runs_suite ON chimera_eval_runs (suite, finished_at DESC);

CREATE TABLE chimera_eval_results (
    run_id   text NOT NULL REFERENCES chimera_eval_runs (run_id) ON DELETE CASCADE,
    item_id  text NOT NULL,
    result   jsonb NOT NULL,
    PRIMARY KEY (run_id, item_id)
);
