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
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) VALUES ('wallet_wallettransaction', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.status, NEW.category, NEW.tx_type, COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', false), CAST(NEW.amount * 100 AS BIGINT));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) VALUES ('wallet_wallettransaction', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.status, OLD.category, OLD.tx_type, COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', false), CAST(OLD.amount * 100 AS BIGINT), NEW.created_at, NEW.user_id, NEW.status, NEW.category, NEW.tx_type, COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', false), CAST(NEW.amount * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo) VALUES ('wallet_wallettransaction', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.status, OLD.category, OLD.tx_type, COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', false), CAST(OLD.amount * 100 AS BIGINT));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_write ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_write AFTER INSERT OR DELETE ON wallet_wallettransaction FOR EACH ROW EXECUTE FUNCTION analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_update ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_update AFTER UPDATE ON wallet_wallettransaction FOR EACH ROW WHEN ((OLD.created_at) IS DISTINCT FROM (NEW.created_at) OR (OLD.user_id) IS DISTINCT FROM (NEW.user_id) OR (OLD.status) IS DISTINCT FROM (NEW.status) OR (OLD.category) IS DISTINCT FROM (NEW.category) OR (OLD.tx_type) IS DISTINCT FROM (NEW.tx_type) OR (COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', false)) IS DISTINCT FROM (COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', false)) OR (CAST(OLD.amount * 100 AS BIGINT)) IS DISTINCT FROM (CAST(NEW.amount * 100 AS BIGINT))) EXECUTE FUNCTION analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_truncate ON wallet_wallettransaction;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_truncate AFTER TRUNCATE ON wallet_wallettransaction FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_write;

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_update;

ALTER TABLE wallet_wallettransaction ENABLE ALWAYS TRIGGER analytics_capture_wallet_wallettransaction_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_p2p_depositorder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('p2p_depositorder', 'I', NEW.id, NEW.created_at, NEW.buyer_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('p2p_depositorder', 'U', NEW.id, OLD.created_at, OLD.buyer_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT), NEW.created_at, NEW.buyer_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('p2p_depositorder', 'D', OLD.id, OLD.created_at, OLD.buyer_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_write ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_write AFTER INSERT OR DELETE ON p2p_depositorder FOR EACH ROW EXECUTE FUNCTION analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_update ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_update AFTER UPDATE ON p2p_depositorder FOR EACH ROW WHEN ((OLD.created_at) IS DISTINCT FROM (NEW.created_at) OR (OLD.buyer_id) IS DISTINCT FROM (NEW.buyer_id) OR (OLD.status) IS DISTINCT FROM (NEW.status) OR (CAST(OLD.total_price * 100 AS BIGINT)) IS DISTINCT FROM (CAST(NEW.total_price * 100 AS BIGINT))) EXECUTE FUNCTION analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_truncate ON p2p_depositorder;

CREATE TRIGGER analytics_capture_p2p_depositorder_truncate AFTER TRUNCATE ON p2p_depositorder FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_write;

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_update;

ALTER TABLE p2p_depositorder ENABLE ALWAYS TRIGGER analytics_capture_p2p_depositorder_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_p2p_withdraworder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('p2p_withdraworder', 'I', NEW.id, NEW.created_at, NEW.seller_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('p2p_withdraworder', 'U', NEW.id, OLD.created_at, OLD.seller_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT), NEW.created_at, NEW.seller_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('p2p_withdraworder', 'D', OLD.id, OLD.created_at, OLD.seller_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_write ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_write AFTER INSERT OR DELETE ON p2p_withdraworder FOR EACH ROW EXECUTE FUNCTION analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_update ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_update AFTER UPDATE ON p2p_withdraworder FOR EACH ROW WHEN ((OLD.created_at) IS DISTINCT FROM (NEW.created_at) OR (OLD.seller_id) IS DISTINCT FROM (NEW.seller_id) OR (OLD.status) IS DISTINCT FROM (NEW.status) OR (CAST(OLD.total_price * 100 AS BIGINT)) IS DISTINCT FROM (CAST(NEW.total_price * 100 AS BIGINT))) EXECUTE FUNCTION analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_truncate ON p2p_withdraworder;

CREATE TRIGGER analytics_capture_p2p_withdraworder_truncate AFTER TRUNCATE ON p2p_withdraworder FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_write;

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_update;

ALTER TABLE p2p_withdraworder ENABLE ALWAYS TRIGGER analytics_capture_p2p_withdraworder_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_gasfee_cryptopurchase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_ref_id, new_status, new_kobo) VALUES ('gasfee_cryptopurchase', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.crypto_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo, new_at, new_who, new_ref_id, new_status, new_kobo) VALUES ('gasfee_cryptopurchase', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.crypto_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT), NEW.created_at, NEW.user_id, NEW.crypto_id, NEW.status, CAST(NEW.total_price * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo) VALUES ('gasfee_cryptopurchase', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.crypto_id, OLD.status, CAST(OLD.total_price * 100 AS BIGINT));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_write ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_write AFTER INSERT OR DELETE ON gasfee_cryptopurchase FOR EACH ROW EXECUTE FUNCTION analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_update ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_update AFTER UPDATE ON gasfee_cryptopurchase FOR EACH ROW WHEN ((OLD.created_at) IS DISTINCT FROM (NEW.created_at) OR (OLD.user_id) IS DISTINCT FROM (NEW.user_id) OR (OLD.crypto_id) IS DISTINCT FROM (NEW.crypto_id) OR (OLD.status) IS DISTINCT FROM (NEW.status) OR (CAST(OLD.total_price * 100 AS BIGINT)) IS DISTINCT FROM (CAST(NEW.total_price * 100 AS BIGINT))) EXECUTE FUNCTION analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_truncate ON gasfee_cryptopurchase;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_truncate AFTER TRUNCATE ON gasfee_cryptopurchase FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_write;

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_update;

ALTER TABLE gasfee_cryptopurchase ENABLE ALWAYS TRIGGER analytics_capture_gasfee_cryptopurchase_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_rewards_bonus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('rewards_bonus', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.status, CAST(NEW.amount * 100 AS BIGINT));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('rewards_bonus', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.status, CAST(OLD.amount * 100 AS BIGINT), NEW.created_at, NEW.user_id, NEW.status, CAST(NEW.amount * 100 AS BIGINT));
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('rewards_bonus', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.status, CAST(OLD.amount * 100 AS BIGINT));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_write ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_write AFTER INSERT OR DELETE ON rewards_bonus FOR EACH ROW EXECUTE FUNCTION analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_update ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_update AFTER UPDATE ON rewards_bonus FOR EACH ROW WHEN ((OLD.created_at) IS DISTINCT FROM (NEW.created_at) OR (OLD.user_id) IS DISTINCT FROM (NEW.user_id) OR (OLD.status) IS DISTINCT FROM (NEW.status) OR (CAST(OLD.amount * 100 AS BIGINT)) IS DISTINCT FROM (CAST(NEW.amount * 100 AS BIGINT))) EXECUTE FUNCTION analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_truncate ON rewards_bonus;

CREATE TRIGGER analytics_capture_rewards_bonus_truncate AFTER TRUNCATE ON rewards_bonus FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_write;

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_update;

ALTER TABLE rewards_bonus ENABLE ALWAYS TRIGGER analytics_capture_rewards_bonus_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_accounts_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_ref_id) VALUES ('accounts_user', 'I', NEW.id, NEW.date_joined, NEW.referred_by_id);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id, new_at, new_ref_id) VALUES ('accounts_user', 'U', NEW.id, OLD.date_joined, OLD.referred_by_id, NEW.date_joined, NEW.referred_by_id);
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id) VALUES ('accounts_user', 'D', OLD.id, OLD.date_joined, OLD.referred_by_id);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_write ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_write AFTER INSERT OR DELETE ON accounts_user FOR EACH ROW EXECUTE FUNCTION analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_update ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_update AFTER UPDATE ON accounts_user FOR EACH ROW WHEN ((OLD.date_joined) IS DISTINCT FROM (NEW.date_joined) OR (OLD.referred_by_id) IS DISTINCT FROM (NEW.referred_by_id)) EXECUTE FUNCTION analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_truncate ON accounts_user;

CREATE TRIGGER analytics_capture_accounts_user_truncate AFTER TRUNCATE ON accounts_user FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_write;

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_update;

ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER analytics_capture_accounts_user_truncate;

CREATE OR REPLACE FUNCTION analytics_capture_gasfee_crypto() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, new_kind) VALUES ('gasfee_crypto', 'I', NEW.id, NEW.network);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO analytics_change_log (tbl, op, row_id, old_kind, new_kind) VALUES ('gasfee_crypto', 'U', NEW.id, OLD.network, NEW.network);
    ELSE
        INSERT INTO analytics_change_log (tbl, op, row_id, old_kind) VALUES ('gasfee_crypto', 'D', OLD.id, OLD.network);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_write ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_write AFTER INSERT OR DELETE ON gasfee_crypto FOR EACH ROW EXECUTE FUNCTION analytics_capture_gasfee_crypto();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_update ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_update AFTER UPDATE ON gasfee_crypto FOR EACH ROW WHEN ((OLD.network) IS DISTINCT FROM (NEW.network)) EXECUTE FUNCTION analytics_capture_gasfee_crypto();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_truncate ON gasfee_crypto;

CREATE TRIGGER analytics_capture_gasfee_crypto_truncate AFTER TRUNCATE ON gasfee_crypto FOR EACH STATEMENT EXECUTE FUNCTION analytics_capture_truncated();

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_write;

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_update;

ALTER TABLE gasfee_crypto ENABLE ALWAYS TRIGGER analytics_capture_gasfee_crypto_truncate;

INSERT INTO analytics_capture (id, version, epoch, installed_at, pruned_below) VALUES (1, 1, md5(random()::text || clock_timestamp()::text), now(), '0') ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, epoch = EXCLUDED.epoch, installed_at = EXCLUDED.installed_at;

COMMIT;
