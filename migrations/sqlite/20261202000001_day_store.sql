-- The persisted day store (SQLite flavour: days are YYYY-MM-DD text, instants UTC text, sets BLOBs) (see README, "Summary tables"): per local day, the facts every
-- window folds from, so a run re-reads only the days that can still change.
ALTER TABLE analytics_run ADD COLUMN kind TEXT NULL CHECK (kind IN ('incremental', 'full'));
ALTER TABLE analytics_run ADD COLUMN days_reread INTEGER NULL;

-- One row: what the stored days are and how far they reach.
CREATE TABLE IF NOT EXISTS analytics_day_store (
    name                 TEXT PRIMARY KEY,
    version              INTEGER NOT NULL,
    time_zone            TEXT NOT NULL,
    first_day            TEXT NOT NULL,
    end_day              TEXT NOT NULL,
    read_at              TEXT NOT NULL,
    revenue_before_kobo  BIGINT NOT NULL,
    users_before         BIGINT NOT NULL,
    users_before_set     BLOB NOT NULL,
    transaction_id_max   BIGINT NOT NULL,
    deposit_order_id_max BIGINT NOT NULL,
    withdraw_order_id_max BIGINT NOT NULL,
    crypto_purchase_id_max BIGINT NOT NULL,
    bonus_id_max         BIGINT NOT NULL,
    user_id_max          BIGINT NOT NULL,
    generation           BIGINT NOT NULL,
    run_id               BIGINT NOT NULL REFERENCES analytics_run (id)
);

CREATE TABLE IF NOT EXISTS analytics_day_users (
    day           TEXT PRIMARY KEY,
    active_users  BIGINT NOT NULL,
    active_set    BLOB NOT NULL,
    success_users BIGINT NOT NULL,
    success_set   BLOB NOT NULL,
    signups       BIGINT NOT NULL,
    signup_set    BLOB NOT NULL,
    run_id        BIGINT NOT NULL REFERENCES analytics_run (id)
);
CREATE INDEX IF NOT EXISTS analytics_day_users_run_idx ON analytics_day_users (run_id);

CREATE TABLE IF NOT EXISTS analytics_day_transaction (
    day          TEXT NOT NULL,
    category     TEXT NOT NULL,
    tx_type      TEXT NOT NULL,
    status       TEXT NOT NULL,
    is_p2p       INTEGER NOT NULL,
    tx_count     BIGINT NOT NULL,
    amount_kobo  BIGINT NOT NULL,
    run_id       BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (day, category, tx_type, status, is_p2p)
);
CREATE INDEX IF NOT EXISTS analytics_day_transaction_run_idx ON analytics_day_transaction (run_id);

CREATE TABLE IF NOT EXISTS analytics_day_order (
    day          TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('p2p_deposit', 'p2p_withdraw', 'crypto_purchase')),
    status       TEXT NOT NULL,
    network      TEXT NOT NULL,
    order_count  BIGINT NOT NULL,
    total_kobo   BIGINT NOT NULL,
    run_id       BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (day, kind, status, network)
);
CREATE INDEX IF NOT EXISTS analytics_day_order_run_idx ON analytics_day_order (run_id);

CREATE TABLE IF NOT EXISTS analytics_day_bonus (
    day          TEXT NOT NULL,
    status       TEXT NOT NULL,
    bonus_count  BIGINT NOT NULL,
    amount_kobo  BIGINT NOT NULL,
    run_id       BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (day, status)
);
CREATE INDEX IF NOT EXISTS analytics_day_bonus_run_idx ON analytics_day_bonus (run_id);

CREATE TABLE IF NOT EXISTS analytics_day_referral (
    day          TEXT NOT NULL,
    referrer_id  BIGINT NOT NULL,
    referrals    BIGINT NOT NULL,
    run_id       BIGINT NOT NULL REFERENCES analytics_run (id),
    PRIMARY KEY (day, referrer_id)
);
CREATE INDEX IF NOT EXISTS analytics_day_referral_run_idx ON analytics_day_referral (run_id);
