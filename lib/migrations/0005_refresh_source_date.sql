-- Where each refresh's results came from, in words a reader can act on (issue 12): how the
-- source was chosen (--results / EMS_MTEB_RESULTS / hub / bundled snapshot), the date of the
-- results themselves (not of the refresh), and why a fallback was used.
ALTER TABLE refreshes ADD COLUMN source_kind VARCHAR;
ALTER TABLE refreshes ADD COLUMN source_date DATE;
ALTER TABLE refreshes ADD COLUMN source_note VARCHAR;
