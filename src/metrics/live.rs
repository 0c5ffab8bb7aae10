//! Reading every live part of a set of windows at once: the partial first and last days (and
//! the time since the day store was read) that each window, its previous period, the KPI
//! ranges and the user cutoffs need, one query per fact for all of them.
//!
//! Folding whole days costs nothing, so what a run or an on-demand answer pays for is its
//! live reads. Asked one by one they are ~100 small queries per run (a few per range and
//! fact), and round trips, not rows, were the cost. This fills the source's per-range memos
//! up front; any part not foreseen here is still read when asked, so it only saves time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::facts::active::DayUsers;
use super::facts::orders::OrderGroup;
use super::facts::platform::BonusGroup;
use super::facts::tx::{TxGroup, P2P_REFERENCE};
use super::facts::{bucket_key, id_set, int, opt_text, text};
use super::fold::Activity;
use super::kpis;
use super::source::Source;
use super::window::{Range, Window};
use crate::db::{Bucket, Sql};

/// Reads the live parts of `windows` (with their previous periods, KPI ranges and cutoffs)
/// in one query per fact and remembers them in `src`. Does nothing without a day store.
pub async fn prefetch(src: &mut Source<'_>, windows: &[Window]) -> Result<(), sqlx::Error> {
    let parts = live_parts(src, windows);
    if parts.is_empty() {
        return Ok(());
    }
    tracing::debug!(count = parts.len(), ?parts, "live parts");
    activity(src, &parts).await?;
    bonuses(src, &parts).await?;
    user_sets(src, &parts).await?;
    signups(src, &parts).await?;
    Ok(())
}

/// Every live part the payloads of `windows` will ask for.
fn live_parts(src: &Source<'_>, windows: &[Window]) -> Vec<Range> {
    let Some(store) = src.days() else { return Vec::new() };
    // The ranges the KPIs count users over include every other range a payload reads (the
    // window, its previous period, today, yesterday, the rolling months).
    let ranges: Vec<Range> =
        windows.iter().flat_map(|w| kpis::active_specs(w).into_iter().map(|s| s.range)).collect();
    let cutoffs: Vec<_> = windows
        .iter()
        .flat_map(|w| [w.current.start, w.current.end, w.previous.start, w.previous.end])
        .collect();
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
/// whole table. SQLite already loops over the few parts.
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

async fn activity(src: &mut Source<'_>, parts: &[Range]) -> Result<(), sqlx::Error> {
    let mut out: Vec<Activity> = vec![Activity::default(); parts.len()];
    let mut q = src.sql();
    let table = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "t.created_at", parts);
    let sum = src.dialect().kobo_sum("t.amount", None);
    q.push(&format!(
        "{table}SELECT p.i, {key}, t.category, t.tx_type, t.status, CASE WHEN {P2P_REFERENCE} THEN 1 ELSE 0 END, \
         CAST(COUNT(*) AS BIGINT), {sum} FROM {join} GROUP BY p.i, {group}, 3, 4, 5, {P2P_REFERENCE}",
        join = join_parts(src, "wallet_wallettransaction", "t", "created_at")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].tx.push(TxGroup {
            key: text(&row, 1)?,
            category: text(&row, 2)?,
            tx_type: text(&row, 3)?,
            status: text(&row, 4)?,
            p2p: int(&row, 5)? == 1,
            count: int(&row, 6)?,
            kobo: int(&row, 7)?,
        });
    }
    let deposits = orders(src, parts, "p2p_depositorder").await?;
    let purchases = orders(src, parts, "gasfee_cryptopurchase").await?;
    let withdrawals = orders(src, parts, "p2p_withdraworder").await?;
    for (i, ((activity, p2p), (crypto, withdrawn))) in
        out.into_iter().zip(deposits).zip(purchases.into_iter().zip(withdrawals)).enumerate()
    {
        let activity = Activity { p2p, crypto, ..activity };
        src.memo().live_activity.insert(parts[i], Arc::new(activity));
        src.memo().live_withdrawals.insert(parts[i], Arc::new(withdrawn));
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

async fn bonuses(src: &mut Source<'_>, parts: &[Range]) -> Result<(), sqlx::Error> {
    let mut out: Vec<Vec<BonusGroup>> = vec![Vec::new(); parts.len()];
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "b.created_at", parts);
    let sum = src.dialect().kobo_sum("b.amount", None);
    q.push(&format!(
        "{cte}SELECT p.i, {key}, b.status, CAST(COUNT(*) AS BIGINT), {sum} FROM {join} GROUP BY p.i, {group}, 3",
        join = join_parts(src, "rewards_bonus", "b", "created_at")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].push(BonusGroup {
            key: text(&row, 1)?,
            status: text(&row, 2)?,
            count: int(&row, 3)?,
            kobo: int(&row, 4)?,
        });
    }
    for (i, groups) in out.into_iter().enumerate() {
        src.memo().live_bonuses.insert(parts[i], Arc::new(groups));
    }
    Ok(())
}

async fn user_sets(src: &mut Source<'_>, parts: &[Range]) -> Result<(), sqlx::Error> {
    let mut out: Vec<Vec<DayUsers>> = vec![Vec::new(); parts.len()];
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "t.created_at", parts);
    let any = src.dialect().id_list("t.user_id");
    let success = src.dialect().id_list("CASE WHEN t.status = 'success' THEN t.user_id END");
    q.push(&format!(
        "{cte}SELECT p.i, {key}, {any}, {success} FROM {join} GROUP BY p.i, {group}",
        join = join_parts(src, "wallet_wallettransaction", "t", "created_at")
    ));
    for row in src.all(&q).await? {
        out[part(&row, parts)?].push(DayUsers {
            key: text(&row, 1)?,
            any: id_set(opt_text(&row, 2)?)?,
            success: id_set(opt_text(&row, 3)?)?,
        });
    }
    for (i, sets) in out.into_iter().enumerate() {
        src.memo().live_users.insert(parts[i], Arc::new(sets));
    }
    Ok(())
}

/// Sign-ups per part: by day, as id sets (churn, joined-before counts) and by referrer.
async fn signups(src: &mut Source<'_>, parts: &[Range]) -> Result<(), sqlx::Error> {
    let mut by_day: Vec<Vec<(String, i64)>> = vec![Vec::new(); parts.len()];
    let mut sets: Vec<RoaringBitmap> = vec![RoaringBitmap::new(); parts.len()];
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    let (key, group) = day_key(src, &mut q, "u.date_joined", parts);
    let ids = src.dialect().id_list("u.id");
    q.push(&format!(
        "{cte}SELECT p.i, {key}, {ids} FROM {join} GROUP BY p.i, {group}",
        join = join_parts(src, "accounts_user", "u", "date_joined")
    ));
    for row in src.all(&q).await? {
        let i = part(&row, parts)?;
        let set = id_set(opt_text(&row, 2)?)?;
        by_day[i].push((text(&row, 1)?, set.len() as i64));
        sets[i] |= set;
    }
    let mut referrals: HashMap<usize, Vec<(String, i64, i64)>> = HashMap::new();
    let mut q = src.sql();
    let cte = parts_table(&mut q, parts);
    q.push(&format!(
        "{cte}SELECT p.i, u.referred_by_id, CAST(COUNT(*) AS BIGINT) FROM {join} \
         WHERE u.referred_by_id IS NOT NULL GROUP BY p.i, 2",
        join = join_parts(src, "accounts_user", "u", "date_joined")
    ));
    for row in src.all(&q).await? {
        referrals.entry(part(&row, parts)?).or_default().push((String::new(), int(&row, 1)?, int(&row, 2)?));
    }
    for (i, (days, set)) in by_day.into_iter().zip(sets).enumerate() {
        let memo = src.memo();
        memo.joined_count.insert(parts[i], set.len() as i64);
        memo.joined_live.insert(parts[i], Arc::new(set));
        memo.live_signups.insert(parts[i], Arc::new(days));
        memo.live_referrals.insert(parts[i], Arc::new(referrals.remove(&i).unwrap_or_default()));
    }
    Ok(())
}
