-- The leaderboard moved to its own DuckDB file (lib/leaderboard/store.py, EMS_LEADERBOARD_DB,
-- issue 17): a refresh swaps in a complete new file that the app and the CLI open read-only,
-- so reading the leaderboard never waits for this database's writer. The copies 0001 and 0005
-- made here are dropped; nothing reads them any more, and the data is rebuilt from mteb/results
-- (the app's first start after the upgrade loads it by itself, ~20 s).
DROP TABLE IF EXISTS mteb_results;
DROP TABLE IF EXISTS models;
DROP TABLE IF EXISTS tasks;
DROP TABLE IF EXISTS benchmarks;
DROP TABLE IF EXISTS benchmark_tasks;
DROP TABLE IF EXISTS benchmark_scope;
DROP TABLE IF EXISTS refreshes;
