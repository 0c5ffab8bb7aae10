-- Change capture (see README, "Change capture"): where the stored days stand in the platform's
-- change log (the install's epoch and the last platform snapshot, or SQLite log sequence number,
-- whose changes they include), what each run found of the log, and what its drift checks found
-- (stored days that differed from the platform and were read again).
ALTER TABLE analytics_day_store ADD COLUMN capture_epoch TEXT NULL;
ALTER TABLE analytics_day_store ADD COLUMN capture_cursor TEXT NULL;
ALTER TABLE analytics_run ADD COLUMN capture TEXT NULL;
ALTER TABLE analytics_run ADD COLUMN changes_applied INTEGER NULL;
ALTER TABLE analytics_run ADD COLUMN capture_log_rows INTEGER NULL;
ALTER TABLE analytics_run ADD COLUMN drift_findings INTEGER NULL;
ALTER TABLE analytics_run ADD COLUMN drift TEXT NULL;
