-- BI-ready relations (see README, "Summary tables", and docs/METRICS.md): typed rows a BI
-- tool charts without parsing JSON, joining key-value rows or reading bitmaps. Every run
-- writes them in the transaction that writes its snapshots.

-- One row per local day of the stored days plus today so far.
CREATE TABLE IF NOT EXISTS analytics_daily (
    day                        DATE PRIMARY KEY,
    complete                   BOOLEAN NOT NULL,
    revenue                    NUMERIC(20,2) NOT NULL,
    revenue_deposits           NUMERIC(20,2) NOT NULL,
    revenue_p2p                NUMERIC(20,2) NOT NULL,
    revenue_crypto             NUMERIC(20,2) NOT NULL,
    revenue_deposits_count     BIGINT NOT NULL,
    revenue_p2p_count          BIGINT NOT NULL,
    revenue_crypto_count       BIGINT NOT NULL,
    tx_count                   BIGINT NOT NULL,
    tx_success                 BIGINT NOT NULL,
    tx_pending                 BIGINT NOT NULL,
    tx_failed                  BIGINT NOT NULL,
    tx_volume                  NUMERIC(20,2) NOT NULL,
    tx_success_volume          NUMERIC(20,2) NOT NULL,
    tx_pending_volume          NUMERIC(20,2) NOT NULL,
    tx_failed_volume           NUMERIC(20,2) NOT NULL,
    volume_deposit             NUMERIC(20,2) NOT NULL,
    volume_withdrawal          NUMERIC(20,2) NOT NULL,
    volume_airtime             NUMERIC(20,2) NOT NULL,
    volume_data                NUMERIC(20,2) NOT NULL,
    volume_cable_tv            NUMERIC(20,2) NOT NULL,
    volume_electricity         NUMERIC(20,2) NOT NULL,
    volume_education           NUMERIC(20,2) NOT NULL,
    volume_airtime_to_cash     NUMERIC(20,2) NOT NULL,
    volume_crypto              NUMERIC(20,2) NOT NULL,
    volume_gasfee              NUMERIC(20,2) NOT NULL,
    volume_sell_order          NUMERIC(20,2) NOT NULL,
    volume_sell_order_reversal NUMERIC(20,2) NOT NULL,
    volume_bonus               NUMERIC(20,2) NOT NULL,
    volume_payment             NUMERIC(20,2) NOT NULL,
    volume_refund              NUMERIC(20,2) NOT NULL,
    volume_referral            NUMERIC(20,2) NOT NULL,
    volume_other               NUMERIC(20,2) NOT NULL,
    volume_bills               NUMERIC(20,2) NOT NULL,
    p2p_orders                 BIGINT NOT NULL,
    crypto_purchases           BIGINT NOT NULL,
    p2p_withdraw_volume        NUMERIC(20,2) NOT NULL,
    p2p_withdraw_count         BIGINT NOT NULL,
    rewards_distributed        NUMERIC(20,2) NOT NULL,
    bonuses                    BIGINT NOT NULL,
    active_users               BIGINT NOT NULL,
    success_users              BIGINT NOT NULL,
    signups                    BIGINT NOT NULL,
    computed_at                TIMESTAMPTZ NOT NULL,
    run_id                     BIGINT NOT NULL REFERENCES analytics_run (id)
);

-- Exact distinct users per ISO week and calendar month (local), unions of the day sets.
CREATE TABLE IF NOT EXISTS analytics_period_users (
    period        TEXT NOT NULL CHECK (period IN ('week', 'month')),
    period_start  DATE NOT NULL,
    complete      BOOLEAN NOT NULL,
    active_users  BIGINT NOT NULL,
    success_users BIGINT NOT NULL,
    signups       BIGINT NOT NULL,
    computed_at   TIMESTAMPTZ NOT NULL,
    run_id        BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (period, period_start)
);

-- Every window's scalars as they stood at each run: every run's for a week, then the last run
-- of each local day, for ANALYTICS_METRIC_HISTORY_DAYS.
CREATE TABLE IF NOT EXISTS analytics_metric_history (
    run_id      BIGINT NOT NULL REFERENCES analytics_run (id),
    computed_at TIMESTAMPTZ NOT NULL,
    day         DATE NOT NULL,
    resolution  TEXT NOT NULL CHECK (resolution IN ('run', 'day')),
    window_days INTEGER NOT NULL,
    metric      TEXT NOT NULL,
    value       NUMERIC NOT NULL,
    PRIMARY KEY (run_id, window_days, metric)
);
CREATE INDEX IF NOT EXISTS analytics_metric_history_metric_idx ON analytics_metric_history (metric, window_days, computed_at);
CREATE INDEX IF NOT EXISTS analytics_metric_history_day_idx ON analytics_metric_history (resolution, day);
