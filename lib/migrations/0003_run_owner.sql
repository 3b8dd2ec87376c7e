-- Which process started a run ('host/pid/boot token'). A run left 'running' by a process
-- that no longer holds the database file was interrupted (killed, crashed, power lost):
-- the next process to open the file marks it failed (lib/evaluation/runs.py), but never a
-- run of its own, since one process may run several evaluations at once in threads.
ALTER TABLE eval_runs ADD COLUMN owner VARCHAR;
