-- How far behind the wall clock the platform data a run read was (a hot standby's replay lag;
-- 0 on a primary): the run's windows end at what the platform had, not at the wall clock.
ALTER TABLE analytics_run ADD COLUMN IF NOT EXISTS platform_lag_ms BIGINT NULL;
