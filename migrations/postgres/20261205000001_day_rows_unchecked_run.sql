-- The day tables' rows are written only by the run whose row the same transaction writes, and
-- run rows are never deleted, so the foreign key to analytics_run could never fail; it cost a
-- lookup of analytics_run per written row, half the write time of a full rebuild. `run_id`
-- stays indexed.
ALTER TABLE analytics_day_store DROP CONSTRAINT IF EXISTS analytics_day_store_run_id_fkey;
ALTER TABLE analytics_day_users DROP CONSTRAINT IF EXISTS analytics_day_users_run_id_fkey;
ALTER TABLE analytics_day_transaction DROP CONSTRAINT IF EXISTS analytics_day_transaction_run_id_fkey;
ALTER TABLE analytics_day_order DROP CONSTRAINT IF EXISTS analytics_day_order_run_id_fkey;
ALTER TABLE analytics_day_bonus DROP CONSTRAINT IF EXISTS analytics_day_bonus_run_id_fkey;
ALTER TABLE analytics_day_referral DROP CONSTRAINT IF EXISTS analytics_day_referral_run_id_fkey;
