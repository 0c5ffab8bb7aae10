//! The platform tables as the generator fills them: every NOT NULL column Django creates.

use super::sink::Table;

/// `accounts_user`.
pub const USERS: Table = Table {
    name: "accounts_user",
    columns: &[
        "id",
        "password",
        "last_login",
        "is_superuser",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
        "date_joined",
        "email",
        "is_merchant",
        "is_email_verified",
        "two_factor_enabled",
        "referral_code",
        "referred_by_id",
        "webauthn_sign_count",
        "pin_attempts",
        "biometric_enabled",
        "deactivated_at",
    ],
};
/// `wallet_wallet`.
pub const WALLETS: Table = Table {
    name: "wallet_wallet",
    columns: &["id", "balance", "locked_balance", "user_id", "flutterwave_customer_id", "van_account_number"],
};
/// `wallet_wallettransaction`.
pub const TRANSACTIONS: Table = Table {
    name: "wallet_wallettransaction",
    columns: &[
        "id",
        "tx_type",
        "category",
        "amount",
        "balance_before",
        "balance_after",
        "reference",
        "request_id",
        "status",
        "metadata",
        "created_at",
        "user_id",
        "wallet_id",
    ],
};
/// `p2p_deposit_p2p_offer`.
pub const DEPOSIT_OFFERS: Table = Table {
    name: "p2p_deposit_p2p_offer",
    columns: &[
        "id",
        "amount_available",
        "min_amount",
        "max_amount",
        "price_per_unit",
        "is_available",
        "created_at",
        "merchant_id",
    ],
};
/// `p2p_depositorder`.
pub const DEPOSIT_ORDERS: Table = Table {
    name: "p2p_depositorder",
    columns: &["id", "amount_requested", "total_price", "status", "created_at", "buyer_id", "sell_offer_id"],
};
/// `p2p_withdraw_p2p_offer`.
pub const WITHDRAW_OFFERS: Table = Table {
    name: "p2p_withdraw_p2p_offer",
    columns: &[
        "id",
        "amount_available",
        "min_amount",
        "max_amount",
        "price_per_unit",
        "is_active",
        "created_at",
        "merchant_id",
    ],
};
/// `p2p_withdraworder`.
pub const WITHDRAW_ORDERS: Table = Table {
    name: "p2p_withdraworder",
    columns: &[
        "id",
        "amount_requested",
        "total_price",
        "status",
        "created_at",
        "buyer_offer_id",
        "seller_id",
    ],
};
/// `gasfee_crypto`.
pub const CRYPTOS: Table =
    Table { name: "gasfee_crypto", columns: &["id", "name", "symbol", "logo", "coingecko_id", "network"] };
/// `gasfee_cryptopurchase`.
pub const PURCHASES: Table = Table {
    name: "gasfee_cryptopurchase",
    columns: &[
        "id",
        "input_amount",
        "input_currency",
        "crypto_amount",
        "total_price",
        "wallet_address",
        "status",
        "request_id",
        "tx_hash",
        "created_at",
        "crypto_id",
        "user_id",
    ],
};
/// `rewards_bonustype`.
pub const BONUS_TYPES: Table = Table {
    name: "rewards_bonustype",
    columns: &[
        "id",
        "name",
        "display_name",
        "description",
        "is_active",
        "default_amount",
        "default_expiry_days",
        "default_rules",
        "created_at",
        "updated_at",
    ],
};
/// `rewards_bonus`.
pub const BONUSES: Table = Table {
    name: "rewards_bonus",
    columns: &[
        "id",
        "amount",
        "status",
        "description",
        "metadata",
        "created_at",
        "activated_at",
        "expires_at",
        "updated_at",
        "bonus_type_id",
        "user_id",
    ],
};

/// Every table in an order that satisfies foreign keys.
pub const ALL: [Table; 11] = [
    USERS,
    WALLETS,
    CRYPTOS,
    BONUS_TYPES,
    DEPOSIT_OFFERS,
    WITHDRAW_OFFERS,
    DEPOSIT_ORDERS,
    WITHDRAW_ORDERS,
    PURCHASES,
    TRANSACTIONS,
    BONUSES,
];
