//! Reading every live part of a set of windows at once: the partial first and last days (and
//! the time since the day store was read) that each window, its previous period, the KPI
//! ranges and the user cutoffs need, one query per fact for all of them.
//!
//! Folding whole days costs nothing, so what a run or an on-demand answer pays for is its
//! live reads. Asked one by one they are ~100 small queries per run (a few per range and
//! fact), and round trips, not rows, were the cost. This fills the source's per-range memos
//! up front; any part not foreseen here is still read when asked, so it only saves time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;

use super::days::{slot_bounds, Day};
use super::facts::tx::{scans_users_with_groups, P2P_REFERENCE};
use super::facts::{bucket_key, id_set, int, opt_text, text};
use super::kpis;
use super::source::Source;
use super::window::{Range, Window};
use crate::db::{Bucket, Sql};
use crate::metrics::rows::{Activity, BonusGroup, DayUsers, OrderGroup, TxGroup};
use crate::time::{local_date, local_midnight};

/// Reads the live parts of `windows` (with their previous periods, KPI ranges and cutoffs)
/// in one query per fact and remembers them in `src`. Does nothing without a day store.
pub async fn prefetch(src: &mut Source<'_>, windows: &[Window]) -> Result<(), sqlx::Error> {
    let parts = live_parts(src, windows);
    if parts.is_empty() {
        return Ok(());
    }
    tracing::debug!(count = parts.len(), ?parts, "live parts");
    let read = read_parts(src, &parts).await?;
    remember(src, parts, read);
    Ok(())
}

/// Which ranges of a window a prefetch reads the live parts of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Every range any payload folds (the KPIs' rolling months and last 24 hours included).
    AllPayloads,
    /// The window and its previous period only (what the other payloads fold).
    WindowAndPrevious,
}

/// [`prefetch`] with the parts shared between `src` and `helper` (a second connection) and
/// read at the same time, longest parts first to whichever has less to read: a rolling KPI
/// window's edges are four partial days (the window's, its previous period's, the rolling
/// month's and the last 24 hours'), each a scan of ~50k rows at a million users; another
/// payload's are two. A part the payload does not ask for is never read (`reach` says which).
pub async fn prefetch_shared(
    src: &mut Source<'_>,
    helper: &mut Source<'_>,
    windows: &[Window],
    reach: Reach,
) -> Result<(), sqlx::Error> {
    let mut parts = parts_within(src, windows, reach);
    // Only partial days: a long live range (a window reaching before the stored days) is left
    // to the payload's own reads, which do not collect its users' ids.
    parts.retain(|part| scans_users_with_groups(*part));
    if parts.is_empty() {
        return Ok(());
    }
    parts.sort_by_key(|r| std::cmp::Reverse(r.end - r.start));
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    let length = |parts: &[Range]| parts.iter().map(|r| r.end - r.start).sum::<chrono::TimeDelta>();
    for part in parts {
        if length(&mine) <= length(&theirs) {
            mine.push(part);
        } else {
            theirs.push(part);
        }
    }
    let (read_mine, read_theirs) = tokio::join!(read_parts(src, &mine), read_parts(helper, &theirs));
    remember(src, mine, read_mine?);
    remember(src, theirs, read_theirs?);
    Ok(())
}

/// Puts what was read of each part in `src`'s memos.
fn remember(src: &mut Source<'_>, parts: Vec<Range>, read: Vec<PartFacts>) {
    for (part, facts) in parts.into_iter().zip(read) {
        let memo = src.memo();
        memo.live_activity.insert(part, Arc::new(facts.activity));
        memo.live_withdrawals.insert(part, Arc::new(facts.withdrawals));
        memo.live_bonuses.insert(part, Arc::new(facts.bonuses));
        memo.live_users.insert(part, Arc::new(facts.users));
        memo.joined_count.insert(part, facts.joined.len() as i64);
        memo.joined_live.insert(part, Arc::new(facts.joined));
        memo.live_signups.insert(part, Arc::new(facts.signups));
        memo.live_referrals.insert(part, Arc::new(facts.referrals));
    }
}

/// Every fact of one part of time, as the day store keeps them for a day.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartFacts {
    /// Transaction, P2P deposit order and crypto purchase groups by local day.
    pub activity: Activity,
    /// P2P withdraw order groups by local day.
    pub withdrawals: Vec<OrderGroup>,
    /// Bonus groups by local day.
    pub bonuses: Vec<BonusGroup>,
    /// The users with a transaction, by local day.
    pub users: Vec<DayUsers>,
    /// Sign-ups by local day.
    pub signups: Vec<(String, i64)>,
    /// The users who joined.
    pub joined: RoaringBitmap,
    /// Referred sign-ups by referrer (`('', referrer, count)`).
    pub referrals: Vec<(String, i64, i64)>,
}

impl PartFacts {
    /// The facts of a part inside local day `date` as a (partial) day.
    pub(crate) fn into_day(self, date: NaiveDate) -> Day {
        let mut day = Day::empty(date);
        day.activity = self.activity;
        day.withdrawals = self.withdrawals;
        day.bonuses = self.bonuses;
        for users in self.users {
            day.active |= users.any;
            day.active_success |= users.success;
        }
        day.joined = self.joined;
        day.referrals = self.referrals.into_iter().map(|(_, referrer, n)| (referrer, n)).collect();
        day.normalize();
        day
    }
}

/// Every fact of each of `parts`, one query per fact for all of them.
pub(crate) async fn read_parts(src: &mut Source<'_>, parts: &[Range]) -> Result<Vec<PartFacts>, sqlx::Error> {
    let mut out = vec![PartFacts::default(); parts.len()];
    if parts.is_empty() {
        return Ok(out);
    }
    activity(src, parts, &mut out).await?;
    bonuses(src, parts, &mut out).await?;
    signups(src, parts, &mut out).await?;
    Ok(out)
}

/// The ranges the payloads of `windows` fold, and the cutoffs they count "before".
fn needs(windows: &[Window]) -> (Vec<Range>, Vec<DateTime<Utc>>) {
    // The ranges the KPIs count users over include every other range a payload reads (the
    // window, its previous period, today, yesterday, the rolling months).
    let ranges: Vec<Range> =
        windows.iter().flat_map(|w| kpis::active_specs(w).into_iter().map(|s| s.range)).collect();
    let cutoffs: Vec<_> = windows
        .iter()
        .flat_map(|w| [w.current.start, w.current.end, w.previous.start, w.previous.end])
        .collect();
    (ranges, cutoffs)
}

/// The local dates that the payloads of `windows` cut partway: the days worth keeping hour
/// slots for, so the next runs read at most an hour of each of them.
pub fn partial_dates(tz: Tz, windows: &[Window]) -> BTreeSet<NaiveDate> {
    let (ranges, cutoffs) = needs(windows);
    ranges
        .iter()
        .flat_map(|r| [r.start, r.end])
        .chain(cutoffs)
        .filter(|t| local_midnight(tz, local_date(tz, *t)) != *t)
        .map(|t| local_date(tz, t))
        .collect()
}

/// Each of `dates` read hour by hour (one query per fact for all of them), as days that keep
/// their hour slots.
pub async fn read_hours(
    src: &mut Source<'_>,
    dates: &BTreeSet<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, Day>, sqlx::Error> {
    let tz = src.settings().tz;
    let mut parts = Vec::new();
    let mut shape = Vec::new();
    for &date in dates {
        let bounds = slot_bounds(tz, date);
        parts.extend(bounds.windows(2).map(|b| Range::new(b[0], b[1])));
        shape.push((date, bounds.len() - 1));
    }
    let mut facts = read_parts(src, &parts).await?.into_iter();
    Ok(shape
        .into_iter()
        .map(|(date, slots)| {
            let hours = facts.by_ref().take(slots).map(|f| Arc::new(f.into_day(date))).collect();
            (date, Day::from_hours(date, hours))
        })
        .collect())
}

/// Every live part the payloads of `windows` will ask for.
fn live_parts(src: &Source<'_>, windows: &[Window]) -> Vec<Range> {
    parts_within(src, windows, Reach::AllPayloads)
}

/// The live parts of the ranges `reach` names.
fn parts_within(src: &Source<'_>, windows: &[Window], reach: Reach) -> Vec<Range> {
    let Some(store) = src.days() else { return Vec::new() };
    let (mut ranges, cutoffs) = needs(windows);
    if reach == Reach::WindowAndPrevious {
        ranges = windows.iter().flat_map(|w| [w.current, w.previous]).collect();
    }
    let mut parts = BTreeSet::new();
    for range in ranges {
        let live = match store.cover(range) {
            Some(cover) => cover.live,
            None => vec![range],
        };
        parts.extend(live.into_iter().filter(|r| r.end > r.start).map(|r| (r.start, r.end)));
    }
    for cutoff in cutoffs {
        if let Some(cover) = store.cover_to(cutoff) {
            parts.extend(cover.live.into_iter().map(|r| (r.start, r.end)));
        }
    }
    parts.into_iter().map(|(start, end)| Range::new(start, end)).collect()
}

/// `WITH p(i, s, e) AS (VALUES …)`: the parts as a table to join on.
fn parts_table(q: &mut Sql, parts: &[Range]) -> String {
    let rows: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (i, s, e) = (q.int(i as i64), q.ts(r.start), q.ts(r.end));
            format!("({i}, {s}, {e})")
        })
        .collect();
    format!("WITH p(i, s, e) AS (VALUES {}) ", rows.join(", "))
}

/// The local-day key of `column` over every part, with its `GROUP BY` term shifted past `p.i`.
fn day_key(src: &Source<'_>, q: &mut Sql, column: &str, parts: &[Range]) -> (String, String) {
    let span = Range::new(
        parts.iter().map(|r| r.start).min().expect("parts"),
        parts.iter().map(|r| r.end).max().expect("parts"),
    );
    let key = bucket_key(src, q, column, Bucket::Day, span);
    // SQLite groups by position; the key is the second column here.
    let group = if key.group == "1" { "2".to_string() } else { key.group };
    (key.select, group)
}

/// `p` joined to `table` as `alias`, each part to the rows whose `column` falls in it. PostgreSQL
/// is told to walk the index once per part (a lateral subquery); a plain join let it hash the
/// whole table. Every table read here has its time index from `create-indexes` (without it,
/// each part would scan the table). SQLite already loops over the few parts.
fn join_parts(src: &Source<'_>, table: &str, alias: &str, column: &str) -> String {
    match src.dialect() {
        crate::db::Dialect::Postgres => format!(
            "p CROSS JOIN LATERAL (SELECT * FROM {table} x WHERE x.{column} >= p.s AND x.{column} < p.e) {alias}"
        ),
        crate::db::Dialect::Sqlite => {
            format!("p JOIN {table} {alias} ON {alias}.{column} >= p.s AND {alias}.{column} < p.e")
        }
    }
}

/// The part a row belongs to, as an index into `parts`.
fn part(row: &sqlx::any::AnyRow, parts: &[Range]) -> Result<usize, sqlx::Error> {
    let i = int(row, 0)?;
    usize::try_from(i)
        .ok()
        .filter(|i| *i < parts.len())
        .ok_or_else(|| sqlx::Error::Decode(format!("part {i}").into()))
}

async fn activity(src: &mut Source<'_>, parts: &[Range], out: &mut [PartFacts]) -> Result<(), sqlx::Error> {
    let mut q = src.sql();
    let table = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "t.created_at", parts);
    let sum = src.dialect().kobo_sum("t.amount", None);
    // Each group's users too: the day's user sets are the union of its groups' (and of its
    // `success` groups'), so the rows are scanned once for both.
    let ids = src.dialect().id_list("t.user_id");
    q.push(&format!(
        "{table}SELECT p.i, {key}, t.category, t.tx_type, t.status, CASE WHEN {P2P_REFERENCE} THEN 1 ELSE 0 END, \
         CAST(COUNT(*) AS BIGINT), {sum}, {ids} FROM {join} GROUP BY p.i, {group}, 3, 4, 5, {P2P_REFERENCE}",
        join = join_parts(src, "wallet_wallettransaction", "t", "created_at")
    ));
    let mut users: Vec<BTreeMap<String, DayUsers>> = vec![BTreeMap::new(); parts.len()];
    for row in src.all(&q).await? {
        let i = part(&row, parts)?;
        let group = TxGroup {
            key: text(&row, 1)?,
            category: text(&row, 2)?,
            tx_type: text(&row, 3)?,
            status: text(&row, 4)?,
            p2p: int(&row, 5)? == 1,
            count: int(&row, 6)?,
            kobo: int(&row, 7)?,
        };
        DayUsers::add_group(&mut users[i], &group, id_set(opt_text(&row, 8)?)?);
        out[i].activity.tx.push(group);
    }
    for (facts, days) in out.iter_mut().zip(users) {
        facts.users = days.into_values().collect();
    }
    let deposits = orders(src, parts, "p2p_depositorder").await?;
    let purchases = orders(src, parts, "gasfee_cryptopurchase").await?;
    let withdrawals = orders(src, parts, "p2p_withdraworder").await?;
    for (facts, ((p2p, crypto), withdrawn)) in
        out.iter_mut().zip(deposits.into_iter().zip(purchases).zip(withdrawals))
    {
        facts.activity.p2p = p2p;
        facts.activity.crypto = crypto;
        facts.withdrawals = withdrawn;
    }
    Ok(())
}

/// Order groups of `table` per part (crypto purchases by network, like `order_groups`).
async fn orders(
    src: &mut Source<'_>,
    parts: &[Range],
    table: &str,
) -> Result<Vec<Vec<OrderGroup>>, sqlx::Error> {
    let mut out: Vec<Vec<OrderGroup>> = vec![Vec::new(); parts.len()];
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "o.created_at", parts);
    let sum = src.dialect().kobo_sum("o.total_price", None);
    let (network, join) = if table == "gasfee_cryptopurchase" {
        ("COALESCE(c.network, '')", " LEFT JOIN gasfee_crypto c ON c.id = o.crypto_id")
    } else {
        ("''", "")
    };
    q.push(&format!(
        "{cte}SELECT p.i, {key}, o.status, {network}, CAST(COUNT(*) AS BIGINT), {sum} FROM {parts}{join} \
         GROUP BY p.i, {group}, 3, 4",
        parts = join_parts(src, table, "o", "created_at")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].push(OrderGroup {
            key: text(&row, 1)?,
            status: text(&row, 2)?,
            network: text(&row, 3)?,
            count: int(&row, 4)?,
            kobo: int(&row, 5)?,
        });
    }
    Ok(out)
}

async fn bonuses(src: &mut Source<'_>, parts: &[Range], out: &mut [PartFacts]) -> Result<(), sqlx::Error> {
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "b.created_at", parts);
    let sum = src.dialect().kobo_sum("b.amount", None);
    q.push(&format!(
        "{cte}SELECT p.i, {key}, b.status, CAST(COUNT(*) AS BIGINT), {sum} FROM {join} GROUP BY p.i, {group}, 3",
        join = join_parts(src, "rewards_bonus", "b", "created_at")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].bonuses.push(BonusGroup {
            key: text(&row, 1)?,
            status: text(&row, 2)?,
            count: int(&row, 3)?,
            kobo: int(&row, 4)?,
        });
    }
    Ok(())
}

/// Sign-ups per part: by day, as id sets (churn, joined-before counts) and by referrer.
async fn signups(src: &mut Source<'_>, parts: &[Range], out: &mut [PartFacts]) -> Result<(), sqlx::Error> {
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "u.date_joined", parts);
    let ids = src.dialect().id_list("u.id");
    q.push(&format!(
        "{cte}SELECT p.i, {key}, {ids} FROM {join} GROUP BY p.i, {group}",
        join = join_parts(src, "accounts_user", "u", "date_joined")
    ));
    for row in src.all(&q).await? {
        let facts = &mut out[part(&row, parts)?];
        let set = id_set(opt_text(&row, 2)?)?;
        facts.signups.push((text(&row, 1)?, set.len() as i64));
        facts.joined |= set;
    }
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    q.push(&format!(
        "{cte}SELECT p.i, u.referred_by_id, CAST(COUNT(*) AS BIGINT) FROM {join} \
         WHERE u.referred_by_id IS NOT NULL GROUP BY p.i, 2",
        join = join_parts(src, "accounts_user", "u", "date_joined")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].referrals.push((String::new(), int(&row, 1)?, int(&row, 2)?));
    }
    Ok(())
}
