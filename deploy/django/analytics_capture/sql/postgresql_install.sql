BEGIN;

CREATE TABLE IF NOT EXISTS analytics_change_log (
    txid XID8 NOT NULL DEFAULT pg_current_xact_id(),
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    tbl TEXT NOT NULL,
    op TEXT NOT NULL,
    row_id BIGINT NOT NULL,
    old_at TIMESTAMPTZ,
    old_who BIGINT,
    old_ref_id BIGINT,
    old_status TEXT,
    old_kind TEXT,
    old_tx_type TEXT,
    old_p2p BOOLEAN,
    old_kobo BIGINT,
    new_at TIMESTAMPTZ,
    new_who BIGINT,
    new_ref_id BIGINT,
    new_status TEXT,
    new_kind TEXT,
    new_tx_type TEXT,
    new_p2p BOOLEAN,
    new_kobo BIGINT
);

CREATE INDEX IF NOT EXISTS analytics_change_log_txid_idx ON analytics_change_log (txid);

CREATE TABLE IF NOT EXISTS analytics_capture (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    epoch TEXT NOT NULL,
    installed_at TIMESTAMPTZ NOT NULL,
    pruned_below XID8 NOT NULL
);

CREATE OR REPLACE FUNCTION analytics_capture_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE analytics_capture SET epoch = md5(random()::text || clock_timestamp()::text) WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION analytics_capture_wallet_wallettransaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) SELECT 'wallet_wallettransaction', 'I', n.id, n.created_at, n.user_id, n.status, n.category, n.tx_type, COALESCE(substr(n.reference, 1, 4) = 'p2p-', false), CAST(n.amount * 100 AS BIGINT) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) SELECT 'wallet_wallettransaction', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.created_at, o.user_id, o.status, o.category, o.tx_type, COALESCE(substr(o.reference, 1, 4) = 'p2p-', false), CAST(o.amount * 100 AS BIGINT), n.created_at, n.user_id, n.status, n.category, n.tx_type, COALESCE(substr(n.reference, 1, 4) = 'p2p-', false), CAST(n.amount * 100 AS BIGINT) FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.created_at, o.user_id, o.status, o.category, o.tx_type, COALESCE(substr(o.reference, 1, 4) = 'p2p-', false), CAST(o.amount * 100 AS BIGINT)) IS DISTINCT FROM (n.created_at, n.user_id, n.status, n.category, n.tx_type, COALESCE(substr(n.reference, 1, 4) = 'p2p-', false), CAST(n.amount * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo) SELECT 'wallet_wallettransaction', 'D', o.id, o.created_at, o.user_id, o.status, o.category, o.tx_type, COALESCE(substr(o.reference, 1, 4) = 'p2p-', false), CAST(o.amount * 100 AS BIGINT) FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_insert ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_insert AFTER INSERT ON wallet_wallettransaction REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_update ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_update AFTER UPDATE ON wallet_wallettransaction REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_delete ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_delete AFTER DELETE ON wallet_wallettransaction REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_truncate ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_truncate AFTER TRUNCATE ON wallet_wallettransaction FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_insert;

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_update;

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_delete;

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_p2p_depositorder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) SELECT 'p2p_depositorder', 'I', n.id, n.created_at, n.buyer_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) SELECT 'p2p_depositorder', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.created_at, o.buyer_id, o.status, CAST(o.total_price * 100 AS BIGINT), n.created_at, n.buyer_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.created_at, o.buyer_id, o.status, CAST(o.total_price * 100 AS BIGINT)) IS DISTINCT FROM (n.created_at, n.buyer_id, n.status, CAST(n.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) SELECT 'p2p_depositorder', 'D', o.id, o.created_at, o.buyer_id, o.status, CAST(o.total_price * 100 AS BIGINT) FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_insert ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_insert AFTER INSERT ON p2p_depositorder REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_update ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_update AFTER UPDATE ON p2p_depositorder REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_delete ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_delete AFTER DELETE ON p2p_depositorder REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_truncate ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_truncate AFTER TRUNCATE ON p2p_depositorder FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_insert;

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_update;

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_delete;

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_p2p_withdraworder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) SELECT 'p2p_withdraworder', 'I', n.id, n.created_at, n.seller_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) SELECT 'p2p_withdraworder', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.created_at, o.seller_id, o.status, CAST(o.total_price * 100 AS BIGINT), n.created_at, n.seller_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.created_at, o.seller_id, o.status, CAST(o.total_price * 100 AS BIGINT)) IS DISTINCT FROM (n.created_at, n.seller_id, n.status, CAST(n.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) SELECT 'p2p_withdraworder', 'D', o.id, o.created_at, o.seller_id, o.status, CAST(o.total_price * 100 AS BIGINT) FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_insert ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_insert AFTER INSERT ON p2p_withdraworder REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_update ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_update AFTER UPDATE ON p2p_withdraworder REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_delete ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_delete AFTER DELETE ON p2p_withdraworder REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_truncate ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_truncate AFTER TRUNCATE ON p2p_withdraworder FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_insert;

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_update;

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_delete;

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_gasfee_cryptopurchase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_ref_id, new_status, new_kobo) SELECT 'gasfee_cryptopurchase', 'I', n.id, n.created_at, n.user_id, n.crypto_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo, new_at, new_who, new_ref_id, new_status, new_kobo) SELECT 'gasfee_cryptopurchase', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.created_at, o.user_id, o.crypto_id, o.status, CAST(o.total_price * 100 AS BIGINT), n.created_at, n.user_id, n.crypto_id, n.status, CAST(n.total_price * 100 AS BIGINT) FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.created_at, o.user_id, o.crypto_id, o.status, CAST(o.total_price * 100 AS BIGINT)) IS DISTINCT FROM (n.created_at, n.user_id, n.crypto_id, n.status, CAST(n.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo) SELECT 'gasfee_cryptopurchase', 'D', o.id, o.created_at, o.user_id, o.crypto_id, o.status, CAST(o.total_price * 100 AS BIGINT) FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_insert ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_insert AFTER INSERT ON gasfee_cryptopurchase REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_update ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_update AFTER UPDATE ON gasfee_cryptopurchase REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_delete ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_delete AFTER DELETE ON gasfee_cryptopurchase REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_truncate ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_truncate AFTER TRUNCATE ON gasfee_cryptopurchase FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_insert;

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_update;

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_delete;

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_rewards_bonus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) SELECT 'rewards_bonus', 'I', n.id, n.created_at, n.user_id, n.status, CAST(n.amount * 100 AS BIGINT) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) SELECT 'rewards_bonus', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.created_at, o.user_id, o.status, CAST(o.amount * 100 AS BIGINT), n.created_at, n.user_id, n.status, CAST(n.amount * 100 AS BIGINT) FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.created_at, o.user_id, o.status, CAST(o.amount * 100 AS BIGINT)) IS DISTINCT FROM (n.created_at, n.user_id, n.status, CAST(n.amount * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) SELECT 'rewards_bonus', 'D', o.id, o.created_at, o.user_id, o.status, CAST(o.amount * 100 AS BIGINT) FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_insert ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_insert AFTER INSERT ON rewards_bonus REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_update ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_update AFTER UPDATE ON rewards_bonus REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_delete ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_delete AFTER DELETE ON rewards_bonus REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_truncate ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_truncate AFTER TRUNCATE ON rewards_bonus FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_insert;

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_update;

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_delete;

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_accounts_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_ref_id) SELECT 'accounts_user', 'I', n.id, n.date_joined, n.referred_by_id FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id, new_at, new_ref_id) SELECT 'accounts_user', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.date_joined, o.referred_by_id, n.date_joined, n.referred_by_id FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.date_joined, o.referred_by_id) IS DISTINCT FROM (n.date_joined, n.referred_by_id);
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id) SELECT 'accounts_user', 'D', o.id, o.date_joined, o.referred_by_id FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_insert ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_insert AFTER INSERT ON accounts_user REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_update ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_update AFTER UPDATE ON accounts_user REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_delete ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_delete AFTER DELETE ON accounts_user REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_truncate ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_truncate AFTER TRUNCATE ON accounts_user FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_insert;

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_update;

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_delete;

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_gasfee_crypto() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_kind) SELECT 'gasfee_crypto', 'I', n.id, n.network FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_kind, new_kind) SELECT 'gasfee_crypto', CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END, COALESCE(n.id, o.id), o.network, n.network FROM old_rows o FULL JOIN new_rows n ON n.id = o.id WHERE o.id IS NULL OR n.id IS NULL OR (o.network) IS DISTINCT FROM (n.network);
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_kind) SELECT 'gasfee_crypto', 'D', o.id, o.network FROM old_rows o;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_insert ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_insert AFTER INSERT ON gasfee_crypto REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_crypto();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_update ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_update AFTER UPDATE ON gasfee_crypto REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_crypto();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_delete ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_delete AFTER DELETE ON gasfee_crypto REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_gasfee_crypto();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_truncate ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_truncate AFTER TRUNCATE ON gasfee_crypto FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_insert;

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_update;

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_delete;

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_truncate;

INSERT INTO analytics_capture (id, version, epoch, installed_at, pruned_below) VALUES (1, 1, md5(random()::text || clock_timestamp()::text), now(), '0') ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, epoch = EXCLUDED.epoch, installed_at = EXCLUDED.installed_at;

COMMIT;
