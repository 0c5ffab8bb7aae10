BEGIN;

CREATE TABLE IF NOT EXISTS analytics_change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    op TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    old_at TEXT,
    old_who INTEGER,
    old_ref_id INTEGER,
    old_status TEXT,
    old_kind TEXT,
    old_tx_type TEXT,
    old_p2p INTEGER,
    old_kobo INTEGER,
    new_at TEXT,
    new_who INTEGER,
    new_ref_id INTEGER,
    new_status TEXT,
    new_kind TEXT,
    new_tx_type TEXT,
    new_p2p INTEGER,
    new_kobo INTEGER
);

CREATE TABLE IF NOT EXISTS analytics_capture (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    epoch TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    pruned_through INTEGER NOT NULL
);

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_insert;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_insert AFTER INSERT ON wallet_wallettransaction FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) VALUES ('wallet_wallettransaction', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.status, NEW.category, NEW.tx_type, COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', 0), CAST(ROUND(NEW.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_update;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_update AFTER UPDATE ON wallet_wallettransaction FOR EACH ROW WHEN (OLD.created_at) IS NOT (NEW.created_at) OR (OLD.user_id) IS NOT (NEW.user_id) OR (OLD.status) IS NOT (NEW.status) OR (OLD.category) IS NOT (NEW.category) OR (OLD.tx_type) IS NOT (NEW.tx_type) OR (COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', 0)) IS NOT (COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', 0)) OR (CAST(ROUND(OLD.amount * 100) AS INTEGER)) IS NOT (CAST(ROUND(NEW.amount * 100) AS INTEGER))
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo, new_at, new_who, new_status, new_kind, new_tx_type, new_p2p, new_kobo) VALUES ('wallet_wallettransaction', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.status, OLD.category, OLD.tx_type, COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', 0), CAST(ROUND(OLD.amount * 100) AS INTEGER), NEW.created_at, NEW.user_id, NEW.status, NEW.category, NEW.tx_type, COALESCE(substr(NEW.reference, 1, 4) = 'p2p-', 0), CAST(ROUND(NEW.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_delete;

CREATE TRIGGER analytics_capture_wallet_wallettransaction_delete AFTER DELETE ON wallet_wallettransaction FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kind, old_tx_type, old_p2p, old_kobo) VALUES ('wallet_wallettransaction', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.status, OLD.category, OLD.tx_type, COALESCE(substr(OLD.reference, 1, 4) = 'p2p-', 0), CAST(ROUND(OLD.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_insert;

CREATE TRIGGER analytics_capture_p2p_depositorder_insert AFTER INSERT ON p2p_depositorder FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('p2p_depositorder', 'I', NEW.id, NEW.created_at, NEW.buyer_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_update;

CREATE TRIGGER analytics_capture_p2p_depositorder_update AFTER UPDATE ON p2p_depositorder FOR EACH ROW WHEN (OLD.created_at) IS NOT (NEW.created_at) OR (OLD.buyer_id) IS NOT (NEW.buyer_id) OR (OLD.status) IS NOT (NEW.status) OR (CAST(ROUND(OLD.total_price * 100) AS INTEGER)) IS NOT (CAST(ROUND(NEW.total_price * 100) AS INTEGER))
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('p2p_depositorder', 'U', NEW.id, OLD.created_at, OLD.buyer_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER), NEW.created_at, NEW.buyer_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_delete;

CREATE TRIGGER analytics_capture_p2p_depositorder_delete AFTER DELETE ON p2p_depositorder FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('p2p_depositorder', 'D', OLD.id, OLD.created_at, OLD.buyer_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_insert;

CREATE TRIGGER analytics_capture_p2p_withdraworder_insert AFTER INSERT ON p2p_withdraworder FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('p2p_withdraworder', 'I', NEW.id, NEW.created_at, NEW.seller_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_update;

CREATE TRIGGER analytics_capture_p2p_withdraworder_update AFTER UPDATE ON p2p_withdraworder FOR EACH ROW WHEN (OLD.created_at) IS NOT (NEW.created_at) OR (OLD.seller_id) IS NOT (NEW.seller_id) OR (OLD.status) IS NOT (NEW.status) OR (CAST(ROUND(OLD.total_price * 100) AS INTEGER)) IS NOT (CAST(ROUND(NEW.total_price * 100) AS INTEGER))
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('p2p_withdraworder', 'U', NEW.id, OLD.created_at, OLD.seller_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER), NEW.created_at, NEW.seller_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_delete;

CREATE TRIGGER analytics_capture_p2p_withdraworder_delete AFTER DELETE ON p2p_withdraworder FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('p2p_withdraworder', 'D', OLD.id, OLD.created_at, OLD.seller_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_insert;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_insert AFTER INSERT ON gasfee_cryptopurchase FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_ref_id, new_status, new_kobo) VALUES ('gasfee_cryptopurchase', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.crypto_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_update;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_update AFTER UPDATE ON gasfee_cryptopurchase FOR EACH ROW WHEN (OLD.created_at) IS NOT (NEW.created_at) OR (OLD.user_id) IS NOT (NEW.user_id) OR (OLD.crypto_id) IS NOT (NEW.crypto_id) OR (OLD.status) IS NOT (NEW.status) OR (CAST(ROUND(OLD.total_price * 100) AS INTEGER)) IS NOT (CAST(ROUND(NEW.total_price * 100) AS INTEGER))
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo, new_at, new_who, new_ref_id, new_status, new_kobo) VALUES ('gasfee_cryptopurchase', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.crypto_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER), NEW.created_at, NEW.user_id, NEW.crypto_id, NEW.status, CAST(ROUND(NEW.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_delete;

CREATE TRIGGER analytics_capture_gasfee_cryptopurchase_delete AFTER DELETE ON gasfee_cryptopurchase FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_ref_id, old_status, old_kobo) VALUES ('gasfee_cryptopurchase', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.crypto_id, OLD.status, CAST(ROUND(OLD.total_price * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_insert;

CREATE TRIGGER analytics_capture_rewards_bonus_insert AFTER INSERT ON rewards_bonus FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_who, new_status, new_kobo) VALUES ('rewards_bonus', 'I', NEW.id, NEW.created_at, NEW.user_id, NEW.status, CAST(ROUND(NEW.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_update;

CREATE TRIGGER analytics_capture_rewards_bonus_update AFTER UPDATE ON rewards_bonus FOR EACH ROW WHEN (OLD.created_at) IS NOT (NEW.created_at) OR (OLD.user_id) IS NOT (NEW.user_id) OR (OLD.status) IS NOT (NEW.status) OR (CAST(ROUND(OLD.amount * 100) AS INTEGER)) IS NOT (CAST(ROUND(NEW.amount * 100) AS INTEGER))
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo, new_at, new_who, new_status, new_kobo) VALUES ('rewards_bonus', 'U', NEW.id, OLD.created_at, OLD.user_id, OLD.status, CAST(ROUND(OLD.amount * 100) AS INTEGER), NEW.created_at, NEW.user_id, NEW.status, CAST(ROUND(NEW.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_delete;

CREATE TRIGGER analytics_capture_rewards_bonus_delete AFTER DELETE ON rewards_bonus FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_who, old_status, old_kobo) VALUES ('rewards_bonus', 'D', OLD.id, OLD.created_at, OLD.user_id, OLD.status, CAST(ROUND(OLD.amount * 100) AS INTEGER));
END;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_insert;

CREATE TRIGGER analytics_capture_accounts_user_insert AFTER INSERT ON accounts_user FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_at, new_ref_id) VALUES ('accounts_user', 'I', NEW.id, NEW.date_joined, NEW.referred_by_id);
END;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_update;

CREATE TRIGGER analytics_capture_accounts_user_update AFTER UPDATE ON accounts_user FOR EACH ROW WHEN (OLD.date_joined) IS NOT (NEW.date_joined) OR (OLD.referred_by_id) IS NOT (NEW.referred_by_id)
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id, new_at, new_ref_id) VALUES ('accounts_user', 'U', NEW.id, OLD.date_joined, OLD.referred_by_id, NEW.date_joined, NEW.referred_by_id);
END;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_delete;

CREATE TRIGGER analytics_capture_accounts_user_delete AFTER DELETE ON accounts_user FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_at, old_ref_id) VALUES ('accounts_user', 'D', OLD.id, OLD.date_joined, OLD.referred_by_id);
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_insert;

CREATE TRIGGER analytics_capture_gasfee_crypto_insert AFTER INSERT ON gasfee_crypto FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, new_kind) VALUES ('gasfee_crypto', 'I', NEW.id, NEW.network);
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_update;

CREATE TRIGGER analytics_capture_gasfee_crypto_update AFTER UPDATE ON gasfee_crypto FOR EACH ROW WHEN (OLD.network) IS NOT (NEW.network)
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_kind, new_kind) VALUES ('gasfee_crypto', 'U', NEW.id, OLD.network, NEW.network);
END;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_delete;

CREATE TRIGGER analytics_capture_gasfee_crypto_delete AFTER DELETE ON gasfee_crypto FOR EACH ROW
BEGIN
    INSERT INTO analytics_change_log (tbl, op, row_id, old_kind) VALUES ('gasfee_crypto', 'D', OLD.id, OLD.network);
END;

INSERT INTO analytics_capture (id, version, epoch, installed_at, pruned_through) VALUES (1, 1, lower(hex(randomblob(16))), strftime('%Y-%m-%d %H:%M:%f', 'now'), 0) ON CONFLICT (id) DO UPDATE SET version = excluded.version, epoch = excluded.epoch, installed_at = excluded.installed_at;

COMMIT;
