//! Wallet transactions: grouped counts and sums, distinct users, and the newest rows.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roaring::RoaringBitmap;

use super::{bucket_key, in_range, int, opt_text, text};
use crate::db::{parse_db_timestamp, Bucket, Sql};
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// Bill categories (SPEC §2), including the legacy `cable`.
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

/// Prefixed to a column, keeps SQLite from driving a range read through that column's index
/// (unary plus: same value, no index). Without statistics SQLite prefers the user-id index for
/// `GROUP BY user_id` or a join and then visits every row of the table instead of the window's.
pub(crate) const NO_INDEX: &str = "+";

/// Whether `t.reference` marks a P2P credit. `LIKE` would be case-insensitive on SQLite only.
pub const P2P_REFERENCE: &str = "substr(t.reference, 1, 4) = 'p2p-'";

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
}

/// Transactions sharing a bucket, category, type, status and P2P flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxGroup {
    /// Local bucket key (`YYYY-MM-DD`, or `''` for [`Bucket::Whole`]).
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
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "t.created_at", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "t.created_at", range);
    let sum = src.dialect().kobo_sum("t.amount", None);
    q.push(&format!(
        "SELECT {key}, t.category, t.tx_type, t.status, \
         CASE WHEN {P2P_REFERENCE} THEN 1 ELSE 0 END, CAST(COUNT(*) AS BIGINT), {sum} \
         FROM wallet_wallettransaction t WHERE {window} GROUP BY {group}, 2, 3, 4, {P2P_REFERENCE}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(TxGroup {
                key: text(row, 0)?,
                category: text(row, 1)?,
                tx_type: text(row, 2)?,
                status: text(row, 3)?,
                p2p: int(row, 4)? == 1,
                count: int(row, 5)?,
                kobo: int(row, 6)?,
            })
        })
        .collect()
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

impl ActiveSpec {
    /// Users with any transaction in `range`.
    pub fn any(range: Range) -> ActiveSpec {
        ActiveSpec { range, success_only: false, joined_before: None }
    }
}

/// Exact distinct-user counts for several ranges.
///
/// With a day store, each count is the size of the union of the stored days' user sets and
/// the users of the live parts. Otherwise (or for what the store cannot answer) one scan of
/// the ranges' union: each user gets one flag per spec (one hash aggregate over users, which
/// parallelises), and the flags are summed; only the per-user rows are joined to
/// `accounts_user` when a spec needs join dates.
pub async fn distinct_users(src: &mut Source<'_>, specs: &[ActiveSpec]) -> Result<Vec<i64>, sqlx::Error> {
    let missing: Vec<ActiveSpec> =
        specs.iter().filter(|s| !src.memo().active.contains_key(s)).copied().collect();
    let mut by_scan = Vec::new();
    for spec in missing {
        match count_from_store(src, &spec).await? {
            Some(count) => {
                src.memo().active.insert(spec, count);
            }
            None => by_scan.push(spec),
        }
    }
    if !by_scan.is_empty() {
        let counts = count_distinct_users(src, &by_scan).await?;
        src.memo().active.extend(by_scan.into_iter().zip(counts));
    }
    Ok(specs.iter().map(|s| src.memo().active[s]).collect())
}

/// `spec`'s count folded from the day store, or `None` when there is no store or it cannot
/// answer the spec.
async fn count_from_store(src: &mut Source<'_>, spec: &ActiveSpec) -> Result<Option<i64>, sqlx::Error> {
    let Some(store) = src.days() else { return Ok(None) };
    if !store.answers(spec) {
        return Ok(None);
    }
    // A range without a whole stored day (today so far, yesterday's partial window) is read
    // live as user sets too: a small grouped read, never the flag scan.
    let (days, live) = match store.cover(spec.range) {
        Some(cover) => (cover.days, cover.live),
        None => (&[][..], vec![spec.range]),
    };
    let mut users = RoaringBitmap::new();
    for day in days {
        users |= if spec.success_only { &day.active_success } else { &day.active };
    }
    for part in live {
        for day in live_user_sets(src, part).await?.iter() {
            users |= if spec.success_only { &day.success } else { &day.any };
        }
    }
    let count = match spec.joined_before {
        Some(before) => store.joined_before(&users, before),
        None => users.len(),
    };
    Ok(Some(i64::try_from(count).unwrap_or(i64::MAX)))
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

/// The users active on each local day of `range`, in one grouped read that returns a row per
/// day (the ids as one list) instead of a row per user.
pub async fn active_user_sets(src: &mut Source<'_>, range: Range) -> Result<Vec<DayUsers>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "t.created_at", Bucket::Day, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "t.created_at", range);
    let any = src.dialect().id_list("t.user_id");
    let success = src.dialect().id_list("CASE WHEN t.status = 'success' THEN t.user_id END");
    q.push(&format!(
        "SELECT {key}, {any}, {success} FROM wallet_wallettransaction t WHERE {window} GROUP BY {group}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(DayUsers {
                key: text(row, 0)?,
                any: id_set(opt_text(row, 1)?)?,
                success: id_set(opt_text(row, 2)?)?,
            })
        })
        .collect()
}

/// [`active_user_sets`] of a live part, remembered for the other specs and days that need it.
async fn live_user_sets(src: &mut Source<'_>, range: Range) -> Result<Arc<Vec<DayUsers>>, sqlx::Error> {
    if let Some(hit) = src.memo().live_users.get(&range) {
        return Ok(hit.clone());
    }
    let sets = Arc::new(active_user_sets(src, range).await?);
    src.memo().live_users.insert(range, sets.clone());
    Ok(sets)
}

/// Parses a comma-separated id list into a set.
fn id_set(list: Option<String>) -> Result<RoaringBitmap, sqlx::Error> {
    let mut ids = Vec::new();
    for part in list.as_deref().unwrap_or("").split(',').filter(|p| !p.is_empty()) {
        let id: u32 = part.trim().parse().map_err(|_| {
            sqlx::Error::Decode(format!("user id {part:?} is not an integer in 0..=4294967295").into())
        })?;
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    RoaringBitmap::from_sorted_iter(ids).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
}

async fn count_distinct_users(src: &mut Source<'_>, specs: &[ActiveSpec]) -> Result<Vec<i64>, sqlx::Error> {
    let (Some(lo), Some(hi)) =
        (specs.iter().map(|s| s.range.start).min(), specs.iter().map(|s| s.range.end).max())
    else {
        return Ok(Vec::new());
    };
    let mut q = src.sql();
    let mut flags = Vec::new();
    let mut sums = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let mut cond = in_range(&mut q, "t.created_at", spec.range);
        if spec.success_only {
            cond.push_str(" AND t.status = 'success'");
        }
        flags.push(format!("MAX(CASE WHEN {cond} THEN 1 ELSE 0 END) AS f{i}"));
        let joined = match spec.joined_before {
            Some(before) => format!(" AND u.date_joined < {}", q.ts(before)),
            None => String::new(),
        };
        sums.push(format!(
            "CAST(COALESCE(SUM(CASE WHEN f.f{i} = 1{joined} THEN 1 ELSE 0 END), 0) AS BIGINT)"
        ));
    }
    let window = in_range(&mut q, "t.created_at", Range::new(lo, hi));
    let join = if specs.iter().any(|s| s.joined_before.is_some()) {
        " JOIN accounts_user u ON u.id = f.user_id"
    } else {
        ""
    };
    q.push(&format!(
        "SELECT {} FROM (SELECT {NO_INDEX}t.user_id AS user_id, {} FROM wallet_wallettransaction t \
         WHERE {window} GROUP BY 1) f{join}",
        sums.join(", "),
        flags.join(", ")
    ));
    let row = src.one(&q).await?;
    (0..specs.len()).map(|i| int(&row, i)).collect()
}

/// Distinct users with any transaction, per local bucket of `range`. Daily counts of whole
/// days are exact for any range containing the day, so with a day store they are its user
/// sets' sizes, and only the live parts are read.
pub async fn distinct_users_by(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    if bucket != Bucket::Day {
        return count_distinct_users_by(src, range, bucket).await;
    }
    if let Some(hit) = src.memo().daily_active.get(&range) {
        return Ok(hit.clone());
    }
    let store = src.days();
    let rows = match store.as_ref().and_then(|s| s.cover(range)) {
        Some(cover) => {
            let mut rows: Vec<(String, i64)> = cover
                .days
                .iter()
                .filter(|d| !d.active.is_empty())
                .map(|d| (d.key(), d.active.len() as i64))
                .collect();
            for part in cover.live {
                let sets = live_user_sets(src, part).await?;
                rows.extend(sets.iter().map(|day| (day.key.clone(), day.any.len() as i64)));
            }
            rows
        }
        None => count_distinct_users_by(src, range, bucket).await?,
    };
    src.memo().daily_active.insert(range, rows.clone());
    Ok(rows)
}

async fn count_distinct_users_by(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "t.created_at", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "t.created_at", range);
    q.push(&format!(
        "SELECT {key}, CAST(COUNT(DISTINCT t.user_id) AS BIGINT) FROM wallet_wallettransaction t \
         WHERE {window} GROUP BY {group}"
    ));
    src.all(&q).await?.iter().map(|row| Ok((text(row, 0)?, int(row, 1)?))).collect()
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
