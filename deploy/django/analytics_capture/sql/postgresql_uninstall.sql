BEGIN;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_insert ON wallet_wallettransaction;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_update ON wallet_wallettransaction;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_delete ON wallet_wallettransaction;

DROP TRIGGER IF EXISTS analytics_capture_wallet_wallettransaction_truncate ON wallet_wallettransaction;

DROP FUNCTION IF EXISTS analytics_capture_wallet_wallettransaction();

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_insert ON p2p_depositorder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_update ON p2p_depositorder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_delete ON p2p_depositorder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_depositorder_truncate ON p2p_depositorder;

DROP FUNCTION IF EXISTS analytics_capture_p2p_depositorder();

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_insert ON p2p_withdraworder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_update ON p2p_withdraworder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_delete ON p2p_withdraworder;

DROP TRIGGER IF EXISTS analytics_capture_p2p_withdraworder_truncate ON p2p_withdraworder;

DROP FUNCTION IF EXISTS analytics_capture_p2p_withdraworder();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_insert ON gasfee_cryptopurchase;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_update ON gasfee_cryptopurchase;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_delete ON gasfee_cryptopurchase;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_cryptopurchase_truncate ON gasfee_cryptopurchase;

DROP FUNCTION IF EXISTS analytics_capture_gasfee_cryptopurchase();

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_insert ON rewards_bonus;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_update ON rewards_bonus;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_delete ON rewards_bonus;

DROP TRIGGER IF EXISTS analytics_capture_rewards_bonus_truncate ON rewards_bonus;

DROP FUNCTION IF EXISTS analytics_capture_rewards_bonus();

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_insert ON accounts_user;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_update ON accounts_user;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_delete ON accounts_user;

DROP TRIGGER IF EXISTS analytics_capture_accounts_user_truncate ON accounts_user;

DROP FUNCTION IF EXISTS analytics_capture_accounts_user();

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_insert ON gasfee_crypto;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_update ON gasfee_crypto;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_delete ON gasfee_crypto;

DROP TRIGGER IF EXISTS analytics_capture_gasfee_crypto_truncate ON gasfee_crypto;

DROP FUNCTION IF EXISTS analytics_capture_gasfee_crypto();

DROP FUNCTION IF EXISTS analytics_capture_truncated();

DROP TABLE IF EXISTS analytics_change_log;

DROP TABLE IF EXISTS analytics_capture;

COMMIT;
