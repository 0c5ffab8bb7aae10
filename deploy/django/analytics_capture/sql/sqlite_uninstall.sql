BEGIN;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_insert;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_update;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_delete;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_insert;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_update;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_delete;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_insert;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_update;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_delete;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_insert;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_update;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_delete;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_insert;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_update;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_delete;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_insert;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_update;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_delete;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_insert;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_update;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_delete;

DROP TABLE IF EXISTS analytics_change_log;

DROP TABLE IF EXISTS analytics_capture;

COMMIT;
