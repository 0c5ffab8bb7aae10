//! The shapes facts are read into and days are kept as: plain data shared by the queries
//! (`facts`), the day store (`days`), the source's memo and the folds. Nothing here reads a
//! database, so every part of the metric module can name these without depending on the
//! others (their queries and methods live with the facts they belong to).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use roaring::RoaringBitmap;

use crate::metrics::window::Range;

/// A table of priced orders with a `status` and `total_price`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderTable {
    /// `p2p_depositorder`: users buying naira credit from merchants (a revenue source).
    P2pDeposit,
    /// `p2p_withdraworder`: users selling to merchants.
    P2pWithdraw,
    /// `gasfee_cryptopurchase`: crypto bought with wallet money (a revenue source).
    CryptoPurchase,
}

/// Orders sharing a bucket, status and network.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderGroup {
    /// Local bucket key.
    pub key: String,
    /// Stored status (`completed`, `pending`, …).
    pub status: String,
    /// The purchased crypto's network (`gasfee_crypto.network`); `''` for P2P orders.
    pub network: String,
    /// Number of orders.
    pub count: i64,
    /// Exact `total_price` sum in kobo.
    pub kobo: i64,
}

/// Sums over every wallet right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalletTotals {
    /// Number of wallets.
    pub count: i64,
    /// Sum of `balance`, kobo.
    pub balance: i64,
    /// Sum of `locked_balance`, kobo.
    pub locked: i64,
}

/// Bonuses sharing a bucket and status.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BonusGroup {
    /// Local bucket key.
    pub key: String,
    /// `locked`, `unlocked`, `used`, `expired` or `reversed`.
    pub status: String,
    /// Number of bonuses.
    pub count: i64,
    /// Exact amount sum, kobo.
    pub kobo: i64,
}

/// One distinct-user count to take: users with a transaction in `range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActiveSpec {
    /// Where the transactions must fall.
    pub range: Range,
    /// Count only `success` transactions.
    pub success_only: bool,
    /// Count only users who joined before this instant.
    pub joined_before: Option<DateTime<Utc>>,
}

/// The users with a transaction on one local day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayUsers {
    /// Local day key (`YYYY-MM-DD`).
    pub key: String,
    /// Users with any transaction.
    pub any: RoaringBitmap,
    /// Users with a `success` transaction.
    pub success: RoaringBitmap,
}

impl DayUsers {
    /// Adds a transaction group's users to the sets of the group's day in `days` (by day key):
    /// a day's users are the union of its groups', its `success` users those of its `success`
    /// groups.
    pub fn add_group(days: &mut BTreeMap<String, DayUsers>, group: &TxGroup, ids: RoaringBitmap) {
        let day = days
            .entry(group.key.clone())
            .or_insert_with(|| DayUsers { key: group.key.clone(), ..DayUsers::default() });
        if group.status == "success" {
            day.success |= &ids;
        }
        day.any |= ids;
    }
}

/// Users' current flags at `now`: state no day can hold, read whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserFlags {
    /// Users joined before `now`.
    pub total: i64,
    /// Of those, with a verified email.
    pub verified: i64,
    /// Of those, merchants.
    pub merchants: i64,
}

/// Transactions sharing a bucket, category, type, status and P2P flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxGroup {
    /// Local bucket key (`YYYY-MM-DD`, or `''` for [`Bucket::Whole`](crate::db::Bucket::Whole)).
    pub key: String,
    /// Stored category.
    pub category: String,
    /// `debit` or `credit`.
    pub tx_type: String,
    /// Stored status.
    pub status: String,
    /// Reference starts with `p2p-`.
    pub p2p: bool,
    /// Number of transactions.
    pub count: i64,
    /// Exact amount sum in kobo.
    pub kobo: i64,
}

/// The facts most payloads share for one range: transactions, P2P deposit orders and crypto
/// purchases, grouped by `bucket`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Activity {
    /// Wallet transaction groups.
    pub tx: Vec<TxGroup>,
    /// P2P deposit order groups.
    pub p2p: Vec<OrderGroup>,
    /// Crypto purchase groups.
    pub crypto: Vec<OrderGroup>,
}
