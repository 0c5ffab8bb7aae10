//! A tiny platform-data builder for hand-computed tests: rows are written as SQL literals
//! (timestamps in each backend's stored form, decimals exactly as given, so SQLite keeps
//! integers as integers and reals as reals) into Django's tables.
#![allow(dead_code)]

use super::Backend;

/// Rows to insert, rendered per backend.
#[derive(Default, Clone)]
pub struct Fixture {
    rows: Vec<Row>,
}

#[derive(Clone)]
enum Row {
    User {
        id: i64,
        joined: String,
        staff: bool,
        active: bool,
        merchant: bool,
        verified: bool,
        referred_by: Option<i64>,
    },
    Wallet {
        id: i64,
        user: i64,
        balance: String,
        locked: String,
    },
    Tx {
        id: i64,
        user: i64,
        category: String,
        tx_type: String,
        amount: String,
        status: String,
        at: String,
        reference: Option<String>,
    },
    DepositOrder {
        id: i64,
        buyer: i64,
        total: String,
        status: String,
        at: String,
    },
    WithdrawOrder {
        id: i64,
        seller: i64,
        total: String,
        status: String,
        at: String,
    },
    Crypto {
        id: i64,
        symbol: String,
        network: String,
    },
    Purchase {
        id: i64,
        user: i64,
        crypto: i64,
        total: String,
        status: String,
        at: String,
    },
    Bonus {
        id: i64,
        user: i64,
        amount: String,
        status: String,
        at: String,
    },
    DepositOffer {
        id: i64,
        merchant: i64,
        available: bool,
    },
}

/// Flags of a user row.
#[derive(Clone, Copy, Default)]
pub struct UserFlags {
    pub staff: bool,
    pub inactive: bool,
    pub merchant: bool,
    pub verified: bool,
    pub referred_by: Option<i64>,
}

impl Fixture {
    pub fn user(mut self, id: i64, joined: impl AsRef<str>, f: UserFlags) -> Self {
        self.rows.push(Row::User {
            id,
            joined: joined.as_ref().to_string(),
            staff: f.staff,
            active: !f.inactive,
            merchant: f.merchant,
            verified: f.verified,
            referred_by: f.referred_by,
        });
        self
    }
    pub fn wallet(mut self, id: i64, user: i64, balance: impl AsRef<str>, locked: impl AsRef<str>) -> Self {
        self.rows.push(Row::Wallet {
            id,
            user,
            balance: balance.as_ref().to_string(),
            locked: locked.as_ref().to_string(),
        });
        self
    }
    #[allow(clippy::too_many_arguments)]
    pub fn tx(
        mut self,
        id: i64,
        user: i64,
        category: impl AsRef<str>,
        tx_type: impl AsRef<str>,
        amount: impl AsRef<str>,
        status: impl AsRef<str>,
        at: impl AsRef<str>,
        reference: Option<&str>,
    ) -> Self {
        self.rows.push(Row::Tx {
            id,
            user,
            category: category.as_ref().to_string(),
            tx_type: tx_type.as_ref().to_string(),
            amount: amount.as_ref().to_string(),
            status: status.as_ref().to_string(),
            at: at.as_ref().to_string(),
            reference: reference.map(str::to_string),
        });
        self
    }
    pub fn deposit_order(
        mut self,
        id: i64,
        buyer: i64,
        total: impl AsRef<str>,
        status: impl AsRef<str>,
        at: impl AsRef<str>,
    ) -> Self {
        self.rows.push(Row::DepositOrder {
            id,
            buyer,
            total: total.as_ref().to_string(),
            status: status.as_ref().to_string(),
            at: at.as_ref().to_string(),
        });
        self
    }
    pub fn withdraw_order(
        mut self,
        id: i64,
        seller: i64,
        total: impl AsRef<str>,
        status: impl AsRef<str>,
        at: impl AsRef<str>,
    ) -> Self {
        self.rows.push(Row::WithdrawOrder {
            id,
            seller,
            total: total.as_ref().to_string(),
            status: status.as_ref().to_string(),
            at: at.as_ref().to_string(),
        });
        self
    }
    pub fn crypto(mut self, id: i64, symbol: impl AsRef<str>, network: impl AsRef<str>) -> Self {
        self.rows.push(Row::Crypto {
            id,
            symbol: symbol.as_ref().to_string(),
            network: network.as_ref().to_string(),
        });
        self
    }
    pub fn purchase(
        mut self,
        id: i64,
        user: i64,
        crypto: i64,
        total: impl AsRef<str>,
        status: impl AsRef<str>,
        at: impl AsRef<str>,
    ) -> Self {
        self.rows.push(Row::Purchase {
            id,
            user,
            crypto,
            total: total.as_ref().to_string(),
            status: status.as_ref().to_string(),
            at: at.as_ref().to_string(),
        });
        self
    }
    pub fn bonus(
        mut self,
        id: i64,
        user: i64,
        amount: impl AsRef<str>,
        status: impl AsRef<str>,
        at: impl AsRef<str>,
    ) -> Self {
        self.rows.push(Row::Bonus {
            id,
            user,
            amount: amount.as_ref().to_string(),
            status: status.as_ref().to_string(),
            at: at.as_ref().to_string(),
        });
        self
    }
    pub fn deposit_offer(mut self, id: i64, merchant: i64, available: bool) -> Self {
        self.rows.push(Row::DepositOffer { id, merchant, available });
        self
    }

    /// The platform DDL followed by the rows, as one script for `backend`.
    pub fn script(&self, backend: Backend) -> String {
        let dialect = match backend {
            Backend::Sqlite => mafita_analytics::db::Dialect::Sqlite,
            Backend::Postgres => mafita_analytics::db::Dialect::Postgres,
        };
        let mut out: Vec<String> = mafita_analytics::db::platform_ddl(dialect);
        out.extend(self.inserts(backend));
        out.join(";\n") + ";"
    }

    /// Only the rows, as one script: what a platform writes into an existing database.
    pub fn rows_script(&self, backend: Backend) -> String {
        self.inserts(backend).join(";\n") + ";"
    }

    fn inserts(&self, backend: Backend) -> Vec<String> {
        let mut out = Vec::new();
        let ts = |t: &str| match backend {
            Backend::Sqlite => format!("'{t}'"),
            Backend::Postgres => format!("'{t}+00'"),
        };
        let b = |v: bool| if v { "TRUE" } else { "FALSE" };
        let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |v| v.to_string());
        // Both prerequisites are written idempotently, so a later `rows_script` with bonuses or
        // withdraw orders loads into a database that already has them.
        let needs_type = self.rows.iter().any(|r| matches!(r, Row::Bonus { .. }));
        if needs_type {
            out.push(format!("INSERT INTO rewards_bonustype (id, name, display_name, description, is_active, default_amount, default_expiry_days, default_rules, created_at, updated_at) VALUES (1, 'welcome', 'Welcome', '', TRUE, 0, NULL, '{{}}', {0}, {0}) ON CONFLICT DO NOTHING", ts("2026-01-01 00:00:00")));
        }
        if self.rows.iter().any(|r| matches!(r, Row::WithdrawOrder { .. })) {
            // Withdraw orders need an offer to point at; the metrics never read offers' details.
            out.push(format!("INSERT INTO p2p_withdraw_p2p_offer (id, amount_available, min_amount, max_amount, price_per_unit, is_active, created_at, merchant_id) VALUES (1, 1000, 1, 1000, 1, TRUE, {}, 1) ON CONFLICT DO NOTHING", ts("2026-01-01 00:00:00")));
        }
        for row in &self.rows {
            out.push(match row {
                Row::User { id, joined, staff, active, merchant, verified, referred_by } => format!(
                    "INSERT INTO accounts_user (id, password, last_login, is_superuser, first_name, last_name, is_staff, is_active, date_joined, email, is_merchant, is_email_verified, two_factor_enabled, referral_code, referred_by_id, webauthn_sign_count, pin_attempts, biometric_enabled, deactivated_at) \
                     VALUES ({id}, 'x', NULL, {s}, '', '', {s}, {a}, {j}, 'user{id}@example.ng', {m}, {v}, FALSE, NULL, {r}, 0, 0, FALSE, NULL)",
                    s = b(*staff), a = b(*active), j = ts(joined), m = b(*merchant), v = b(*verified), r = opt(*referred_by)
                ),
                Row::Wallet { id, user, balance, locked } => format!(
                    "INSERT INTO wallet_wallet (id, balance, locked_balance, user_id, flutterwave_customer_id, van_account_number) VALUES ({id}, {balance}, {locked}, {user}, NULL, NULL)"
                ),
                Row::Tx { id, user, category, tx_type, amount, status, at, reference } => format!(
                    "INSERT INTO wallet_wallettransaction (id, tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at, user_id, wallet_id) \
                     VALUES ({id}, '{tx_type}', '{category}', {amount}, 0, 0, {r}, NULL, '{status}', NULL, {t}, {user}, {user})",
                    r = reference.as_deref().map_or("NULL".to_string(), |r| format!("'{r}'")), t = ts(at)
                ),
                Row::DepositOrder { id, buyer, total, status, at } => format!(
                    "INSERT INTO p2p_depositorder (id, amount_requested, total_price, status, created_at, buyer_id, sell_offer_id) VALUES ({id}, {total}, {total}, '{status}', {t}, {buyer}, 1)",
                    t = ts(at)
                ),
                Row::WithdrawOrder { id, seller, total, status, at } => format!(
                    "INSERT INTO p2p_withdraworder (id, amount_requested, total_price, status, created_at, buyer_offer_id, seller_id) VALUES ({id}, {total}, {total}, '{status}', {t}, 1, {seller})",
                    t = ts(at)
                ),
                Row::Crypto { id, symbol, network } => format!(
                    "INSERT INTO gasfee_crypto (id, name, symbol, logo, coingecko_id, network) VALUES ({id}, '{symbol}', '{symbol}', '', NULL, '{network}')"
                ),
                Row::Purchase { id, user, crypto, total, status, at } => format!(
                    "INSERT INTO gasfee_cryptopurchase (id, input_amount, input_currency, crypto_amount, total_price, wallet_address, status, request_id, tx_hash, created_at, crypto_id, user_id) \
                     VALUES ({id}, {total}, 'NGN', 1, {total}, 'addr', '{status}', 'req{id}', NULL, {t}, {crypto}, {user})",
                    t = ts(at)
                ),
                Row::Bonus { id, user, amount, status, at } => format!(
                    "INSERT INTO rewards_bonus (id, amount, status, description, metadata, created_at, activated_at, expires_at, updated_at, bonus_type_id, user_id) \
                     VALUES ({id}, {amount}, '{status}', '', '{{}}', {t}, NULL, NULL, {t}, 1, {user})",
                    t = ts(at)
                ),
                Row::DepositOffer { id, merchant, available } => format!(
                    "INSERT INTO p2p_deposit_p2p_offer (id, amount_available, min_amount, max_amount, price_per_unit, is_available, created_at, merchant_id) VALUES ({id}, 1000, 1, 1000, 1, {a}, {t}, {merchant})",
                    a = b(*available), t = ts("2026-01-01 00:00:00")
                ),
            });
        }
        out
    }
}
