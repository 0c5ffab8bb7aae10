//! Users active in a range: exact distinct-user counts, folded from the day store's per-day
//! user sets where it has them, and the per-day sets themselves.

use std::collections::BTreeMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::tx::{live_tx, scans_users_with_groups};
use super::{bucket_key, id_set, in_range, int, opt_text, text, NO_INDEX};
use crate::db::Bucket;
use crate::metrics::rows::{ActiveSpec, DayUsers};
use crate::metrics::source::Source;
use crate::metrics::window::Range;

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
    // "Joined before" a cutoff before the stored days: the store's base says nothing about it.
    if spec.joined_before.is_some_and(|before| store.cover_to(before).is_none()) {
        return Ok(None);
    }
    // A range without a whole stored day (today so far, yesterday's partial window) is read
    // live as user sets too: a small grouped read, never the flag scan.
    let (days, live) = match store.cover(spec.range) {
        Some(cover) => (cover.stored().collect(), cover.live),
        None => (Vec::new(), vec![spec.range]),
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
    let count = match spec.joined_before.and_then(|before| store.cover_to(before)) {
        // Sign-up sets are disjoint (a user joins once), so the users who had joined are
        // counted set by set: before the first day, on whole days, and on the partial day.
        Some(joined) => {
            let mut n = users.intersection_len(&store.base().joined);
            for day in joined.stored() {
                n += users.intersection_len(&day.joined);
            }
            for part in joined.live {
                n += users.intersection_len(&*joined_live(src, part).await?);
            }
            n
        }
        None => users.len(),
    };
    Ok(Some(i64::try_from(count).unwrap_or(i64::MAX)))
}

/// The users who joined in a live part, remembered for the other specs that need it.
async fn joined_live(src: &mut Source<'_>, range: Range) -> Result<Arc<RoaringBitmap>, sqlx::Error> {
    if let Some(hit) = src.memo().joined_live.get(&range) {
        return Ok(hit.clone());
    }
    let set = Arc::new(super::users::joined_in(src, range).await?);
    src.memo().joined_live.insert(range, set.clone());
    Ok(set)
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
    if scans_users_with_groups(range) {
        // One scan for the part's groups and users; the groups are asked for by the same payloads.
        live_tx(src, range).await?;
        if let Some(hit) = src.memo().live_users.get(&range) {
            return Ok(hit.clone());
        }
    }
    let sets = Arc::new(active_user_sets(src, range).await?);
    src.memo().live_users.insert(range, sets.clone());
    Ok(sets)
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
    let rows = match &store {
        Some(store) => {
            // A range without a whole stored day is read as live user sets too (the day sets
            // are shared with the other counts of the range; a per-day distinct count is not).
            let (days, slots, live) = match store.cover(range) {
                Some(cover) => (cover.days, cover.slots, cover.live),
                None => (&[][..], Vec::new(), vec![range]),
            };
            let mut rows: Vec<(String, i64)> = days
                .iter()
                .filter(|d| !d.active.is_empty())
                .map(|d| (d.key(), d.active.len() as i64))
                .collect();
            // A partly covered day is its slots and live parts together: a user active in two
            // of them counts once.
            let mut partial: BTreeMap<String, RoaringBitmap> = BTreeMap::new();
            for slot in slots {
                *partial.entry(slot.key()).or_default() |= &slot.active;
            }
            for part in live {
                for day in live_user_sets(src, part).await?.iter() {
                    *partial.entry(day.key.clone()).or_default() |= &day.any;
                }
            }
            rows.extend(
                partial
                    .into_iter()
                    .filter(|(_, users)| !users.is_empty())
                    .map(|(key, users)| (key, users.len() as i64)),
            );
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
