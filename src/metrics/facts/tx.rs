//! Wallet transactions: grouped counts and sums, and the newest rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use roaring::RoaringBitmap;

use super::{bucket_key, id_set, in_range, int, opt_text, text, NO_INDEX};
use crate::db::{parse_db_timestamp, Bucket, Sql};
use crate::metrics::rows::{DayUsers, TxGroup};
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// Bill categories (docs/METRICS.md, "Platform data"), including the legacy `cable`.
pub const BILL_CATEGORIES: &[&str] = &["airtime", "data", "cable_tv", "cable", "electricity", "education"];

/// Every category the platform writes, plus legacy `cable`: the accepted `type=` names.
pub const CATEGORIES: &[&str] = &[
    "deposit",
    "withdrawal",
    "airtime",
    "data",
    "cable_tv",
    "cable",
    "electricity",
    "education",
    "airtime_to_cash",
    "crypto",
    "gasfee",
    "sell_order",
    "sell_order_reversal",
    "bonus",
    "payment",
    "refund",
    "referral",
    "other",
];

/// A transaction status as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxStatus {
    /// `success`.
    Success,
    /// `pending`.
    Pending,
    /// `failed`.
    Failed,
}

impl TxStatus {
    /// Parses the dashboard's `status=` value (`completed` means `success`).
    pub fn parse(value: &str) -> Option<TxStatus> {
        match value {
            "success" | "completed" => Some(TxStatus::Success),
            "pending" => Some(TxStatus::Pending),
            "failed" => Some(TxStatus::Failed),
            _ => None,
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Success => "success",
            TxStatus::Pending => "pending",
            TxStatus::Failed => "failed",
        }
    }
}

/// The dashboard's `type=` filter: one category or a group of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxKind {
    /// One stored category.
    Category(&'static str),
    /// Bill categories.
    Bills,
    /// `crypto` and `gasfee`.
    Crypto,
    /// P2P credits (`reference` starting `p2p-`).
    P2p,
}

impl TxKind {
    /// Parses `type=`; `None` for an unknown name.
    pub fn parse(value: &str) -> Option<TxKind> {
        match value {
            "bills" => Some(TxKind::Bills),
            "crypto" => Some(TxKind::Crypto),
            "p2p" => Some(TxKind::P2p),
            other => CATEGORIES.iter().find(|c| **c == other).map(|c| TxKind::Category(c)),
        }
    }
}

/// Filters of the transactions endpoint; the default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TxFilter {
    /// Only this status.
    pub status: Option<TxStatus>,
    /// Only this category or group.
    pub kind: Option<TxKind>,
}

impl TxFilter {
    /// Whether a group with these attributes passes the filter.
    pub fn matches(&self, group: &TxGroup) -> bool {
        let status_ok = self.status.is_none_or(|s| s.as_str() == group.status);
        let kind_ok = match &self.kind {
            None => true,
            Some(TxKind::Category(c)) => group.category == *c,
            Some(TxKind::Bills) => BILL_CATEGORIES.contains(&group.category.as_str()),
            Some(TxKind::Crypto) => group.category == "crypto" || group.category == "gasfee",
            Some(TxKind::P2p) => group.p2p,
        };
        status_ok && kind_ok
    }

    /// The filter as SQL conditions on alias `t` (empty when unfiltered).
    fn sql(&self, q: &mut Sql) -> String {
        let mut conds = String::new();
        if let Some(status) = self.status {
            let p = q.text(status.as_str());
            conds.push_str(&format!(" AND t.status = {p}"));
        }
        match &self.kind {
            None => {}
            Some(TxKind::Category(c)) => {
                let p = q.text(*c);
                conds.push_str(&format!(" AND t.category = {p}"));
            }
            Some(TxKind::Bills) => {
                conds.push_str(&format!(" AND t.category IN ({})", quoted(BILL_CATEGORIES)))
            }
            Some(TxKind::Crypto) => conds.push_str(" AND t.category IN ('crypto', 'gasfee')"),
            Some(TxKind::P2p) => conds.push_str(&format!(" AND {P2P_REFERENCE}")),
        }
        conds
    }
}

/// Whether `t.reference` marks a P2P credit. `LIKE` would be case-insensitive on SQLite only.
pub const P2P_REFERENCE: &str = "substr(t.reference, 1, 4) = 'p2p-'";

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
}

impl TxGroup {
    /// A success `deposit` that is not a P2P credit: the deposits revenue source.
    pub fn is_deposit_revenue(&self) -> bool {
        self.status == "success" && self.category == "deposit" && !self.p2p
    }

    /// A success transaction in a bill category.
    pub fn is_bill_success(&self) -> bool {
        self.status == "success" && BILL_CATEGORIES.contains(&self.category.as_str())
    }
}

/// Counts and sums of the transactions in `range`, grouped by bucket and attributes.
pub async fn tx_groups(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<TxGroup>, sqlx::Error> {
    Ok(read_groups(src, range, bucket, false).await?.into_iter().map(|(g, _)| g).collect())
}

/// [`tx_groups`] with each group's users: a day's user sets are the union of its groups' (and
/// of its `success` groups'), so the day store reads the rows once for both.
pub async fn tx_groups_with_users(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(TxGroup, RoaringBitmap)>, sqlx::Error> {
    parse_id_lists(read_groups(src, range, bucket, true).await?)
}

/// Longest live part read with its user sets in the same scan: a partial day and a little.
/// A longer one (a window before the day store's span) is read without ids, since its id
/// lists would be as large as the rows.
const COMBINED_SCAN_MAX: chrono::TimeDelta = chrono::TimeDelta::hours(26);

/// The transaction groups of a live part by local day, remembered. A short part (a window's
/// partial first or last day) is scanned once for its groups and its users together, and
/// both are remembered: the same payloads ask for its distinct users too, and at a million
/// users a partial day's scan (~50k rows) costs 60–90 ms each time.
pub(crate) async fn live_tx(src: &mut Source<'_>, part: Range) -> Result<Arc<Vec<TxGroup>>, sqlx::Error> {
    if let Some(hit) = src.memo().live_tx.get(&part) {
        return Ok(hit.clone());
    }
    let groups = if scans_users_with_groups(part) {
        let mut users: BTreeMap<String, DayUsers> = BTreeMap::new();
        let mut groups = Vec::new();
        for (group, ids) in tx_groups_with_users(src, part, Bucket::Day).await? {
            DayUsers::add_group(&mut users, &group, ids);
            groups.push(group);
        }
        src.memo().live_users.entry(part).or_insert_with(|| Arc::new(users.into_values().collect()));
        groups
    } else {
        tx_groups(src, part, Bucket::Day).await?
    };
    let groups = Arc::new(groups);
    src.memo().live_tx.insert(part, groups.clone());
    Ok(groups)
}

/// Whether [`live_tx`] reads `part`'s user sets with its groups.
pub(crate) fn scans_users_with_groups(part: Range) -> bool {
    part.end - part.start <= COMBINED_SCAN_MAX
}

async fn read_groups(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
    with_users: bool,
) -> Result<Vec<(TxGroup, Option<String>)>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "t.created_at", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "t.created_at", range);
    let sum = src.dialect().kobo_sum("t.amount", None);
    let users = if with_users { src.dialect().id_list("t.user_id") } else { "NULL".to_string() };
    q.push(&format!(
        "SELECT {key}, t.category, t.tx_type, t.status, \
         CASE WHEN {P2P_REFERENCE} THEN 1 ELSE 0 END, CAST(COUNT(*) AS BIGINT), {sum}, {users} \
         FROM wallet_wallettransaction t WHERE {window} GROUP BY {group}, 2, 3, 4, {P2P_REFERENCE}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            let group = TxGroup {
                key: text(row, 0)?,
                category: text(row, 1)?,
                tx_type: text(row, 2)?,
                status: text(row, 3)?,
                p2p: int(row, 4)? == 1,
                count: int(row, 5)?,
                kobo: int(row, 6)?,
            };
            Ok((group, opt_text(row, 7)?))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
}

/// [`tx_groups_with_users`] with each group's users still as the id list the database sent:
/// turning a month of lists into sets is CPU work a caller can do while the next query runs.
pub async fn tx_groups_with_id_lists(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(TxGroup, Option<String>)>, sqlx::Error> {
    read_groups(src, range, bucket, true).await
}

/// The users of each group read by [`tx_groups_with_id_lists`].
pub fn parse_id_lists(
    groups: Vec<(TxGroup, Option<String>)>,
) -> Result<Vec<(TxGroup, RoaringBitmap)>, sqlx::Error> {
    groups.into_iter().map(|(group, ids)| Ok((group, id_set(ids)?))).collect()
}

/// One wallet transaction as listed by the transactions endpoint and the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRow {
    /// Primary key.
    pub id: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Stored category.
    pub category: String,
    /// `debit` or `credit`.
    pub tx_type: String,
    /// Amount in kobo.
    pub kobo: i64,
    /// Stored status.
    pub status: String,
    /// The owner's email.
    pub email: String,
    /// Reference, when the platform set one.
    pub reference: Option<String>,
}

/// The newest `limit` transactions in `range` passing `filter` (newest first, then id).
pub async fn recent_transactions(
    src: &mut Source<'_>,
    range: Range,
    filter: &TxFilter,
    limit: i64,
) -> Result<Vec<TxRow>, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "t.created_at", range);
    let conds = filter.sql(&mut q);
    let limit = q.int(limit);
    let created = src.dialect().ts_text("t.created_at");
    q.push(&format!(
        "SELECT t.id, {created}, t.category, t.tx_type, CAST(ROUND(t.amount * 100) AS BIGINT), \
         t.status, u.email, t.reference FROM wallet_wallettransaction t \
         JOIN accounts_user u ON u.id = {NO_INDEX}t.user_id WHERE {window}{conds} \
         ORDER BY t.created_at DESC, t.id DESC LIMIT {limit}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            let created = text(row, 1)?;
            Ok(TxRow {
                id: int(row, 0)?,
                created_at: parse_db_timestamp(&created).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unreadable created_at {created:?}").into())
                })?,
                category: text(row, 2)?,
                tx_type: text(row, 3)?,
                kobo: int(row, 4)?,
                status: text(row, 5)?,
                email: text(row, 6)?,
                reference: opt_text(row, 7)?,
            })
        })
        .collect()
}
