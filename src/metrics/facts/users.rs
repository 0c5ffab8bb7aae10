//! Users: current flags, totals at cutoffs, and sign-ups per bucket and per day.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use roaring::RoaringBitmap;

use super::{beginning, bucket_key, id_set, in_range, int, opt_text, text};
use crate::db::Bucket;
use crate::metrics::rows::UserFlags;
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// User totals as of `now`, plus how many had joined before each extra cutoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCounts {
    /// Users that exist at `now` (joined before it).
    pub total: i64,
    /// Of those, with a verified email.
    pub verified: i64,
    /// Of those, merchants.
    pub merchants: i64,
    /// Users joined before each cutoff, in the order asked.
    pub joined_before: Vec<i64>,
}

/// Counts users at `now` and before each of `cutoffs`. The flags are one read of the users
/// table per source and `now`; with a day store the cutoffs fold from its sign-up sets (plus a
/// small live count of a partial day), otherwise they are counted in the same query.
pub async fn user_counts(
    src: &mut Source<'_>,
    now: DateTime<Utc>,
    cutoffs: &[DateTime<Utc>],
) -> Result<UserCounts, sqlx::Error> {
    if src.days().is_some() {
        let flags = user_flags(src, now).await?;
        let joined_before = joined_before(src, cutoffs).await?;
        return Ok(UserCounts {
            total: flags.total,
            verified: flags.verified,
            merchants: flags.merchants,
            joined_before,
        });
    }
    let mut q = src.sql();
    let now_p = q.ts(now);
    let mut cols = vec![
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} THEN 1 END) AS BIGINT)"),
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} AND is_email_verified THEN 1 END) AS BIGINT)"),
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} AND is_merchant THEN 1 END) AS BIGINT)"),
    ];
    for cutoff in cutoffs {
        let p = q.ts(*cutoff);
        cols.push(format!("CAST(COUNT(CASE WHEN date_joined < {p} THEN 1 END) AS BIGINT)"));
    }
    q.push(&format!("SELECT {} FROM accounts_user", cols.join(", ")));
    let row = src.one(&q).await?;
    let flags = UserFlags { total: int(&row, 0)?, verified: int(&row, 1)?, merchants: int(&row, 2)? };
    src.memo().flags.insert(now, flags);
    Ok(UserCounts {
        total: flags.total,
        verified: flags.verified,
        merchants: flags.merchants,
        joined_before: (0..cutoffs.len()).map(|i| int(&row, 3 + i)).collect::<Result<_, _>>()?,
    })
}

/// The flags at `now`, read once per source: the whole table, or, when the source was seeded
/// with flags read at an earlier instant, those plus the users who joined since (an index read).
pub(crate) async fn user_flags(src: &mut Source<'_>, now: DateTime<Utc>) -> Result<UserFlags, sqlx::Error> {
    if let Some(hit) = src.memo().flags.get(&now) {
        return Ok(*hit);
    }
    let base = src.memo().flags_base.filter(|(at, _)| *at <= now);
    let mut q = src.sql();
    let now_p = q.ts(now);
    let since = match base {
        Some((at, _)) => format!(" AND date_joined >= {}", q.ts(at)),
        None => String::new(),
    };
    q.push(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT), \
         CAST(COUNT(CASE WHEN is_email_verified THEN 1 END) AS BIGINT), \
         CAST(COUNT(CASE WHEN is_merchant THEN 1 END) AS BIGINT) \
         FROM accounts_user WHERE date_joined < {now_p}{since}"
    ));
    let row = src.one(&q).await?;
    let before = base.map(|(_, flags)| flags).unwrap_or_default();
    let flags = UserFlags {
        total: before.total + int(&row, 0)?,
        verified: before.verified + int(&row, 1)?,
        merchants: before.merchants + int(&row, 2)?,
    };
    src.memo().flags.insert(now, flags);
    Ok(flags)
}

/// Users joined before each cutoff, folded from the day store: the users before its first day,
/// its whole days' sign-ups, and one live count of the partial days.
async fn joined_before(src: &mut Source<'_>, cutoffs: &[DateTime<Utc>]) -> Result<Vec<i64>, sqlx::Error> {
    let store = src.days().expect("called with a day store");
    let mut folded = Vec::new();
    let mut live: Vec<Vec<Range>> = Vec::new();
    for cutoff in cutoffs {
        match store.cover_to(*cutoff) {
            Some(cover) => {
                let days: u64 = cover.stored().map(|d| d.joined.len()).sum();
                folded.push(store.base().joined.len() + days);
                live.push(cover.live);
            }
            None => {
                folded.push(0);
                live.push(vec![Range::new(beginning(), *cutoff)]);
            }
        }
    }
    let all: Vec<Range> = live.iter().flatten().copied().collect();
    let counts = count_joined(src, &all).await?;
    let mut counts = counts.into_iter();
    Ok(folded
        .into_iter()
        .zip(live)
        .map(|(n, parts)| {
            let live: i64 = parts.iter().map(|_| counts.next().unwrap_or(0)).sum();
            i64::try_from(n).unwrap_or(i64::MAX) + live
        })
        .collect())
}

/// Users who joined in each range. The ranges are partial days (small index reads), so each
/// is counted on its own and remembered: one scan of their union could span all history.
async fn count_joined(src: &mut Source<'_>, ranges: &[Range]) -> Result<Vec<i64>, sqlx::Error> {
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        if let Some(hit) = src.memo().joined_count.get(range) {
            out.push(*hit);
            continue;
        }
        let mut q = src.sql();
        let window = in_range(&mut q, "date_joined", *range);
        q.push(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE {window}"));
        let n = int(&src.one(&q).await?, 0)?;
        src.memo().joined_count.insert(*range, n);
        out.push(n);
    }
    Ok(out)
}

/// The users who joined in `range` (ids), for churn's partial days.
pub async fn joined_in(src: &mut Source<'_>, range: Range) -> Result<RoaringBitmap, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "date_joined", range);
    let ids = src.dialect().id_list("id");
    q.push(&format!("SELECT {ids} FROM accounts_user WHERE {window}"));
    id_set(opt_text(&src.one(&q).await?, 0)?)
}

/// The users who joined before `before` (ids): the day store's base.
pub async fn joined_ids(src: &mut Source<'_>, before: DateTime<Utc>) -> Result<RoaringBitmap, sqlx::Error> {
    joined_in(src, Range::new(beginning(), before)).await
}

/// Sign-ups in `range` per local bucket: from the day store's sign-up sets where it holds whole
/// days, read live for the rest.
pub async fn signups_by(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let Some((days, live)) = src.stored_days(range, bucket) else {
        return joins_by(src, range, bucket).await;
    };
    let mut rows: Vec<(String, i64)> =
        days.iter().filter(|d| !d.joined.is_empty()).map(|d| (d.key(), d.joined.len() as i64)).collect();
    for part in live {
        let part_rows = match src.memo().live_signups.get(&part) {
            Some(hit) => hit.clone(),
            None => {
                let read = std::sync::Arc::new(joins_by(src, part, Bucket::Day).await?);
                src.memo().live_signups.insert(part, read.clone());
                read
            }
        };
        rows.extend(part_rows.iter().cloned());
    }
    if bucket == Bucket::Whole {
        let total = rows.iter().map(|(_, n)| n).sum();
        rows = if total > 0 { vec![(String::new(), total)] } else { Vec::new() };
    }
    // A partly covered day comes as its hour slots and live parts: one row per day.
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for (key, n) in rows {
        *merged.entry(key).or_default() += n;
    }
    Ok(merged.into_iter().collect())
}

/// Each local day's sign-ups in `range` as a set of user ids (one row per day).
pub async fn signup_sets(
    src: &mut Source<'_>,
    range: Range,
) -> Result<Vec<(String, RoaringBitmap)>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "date_joined", Bucket::Day, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "date_joined", range);
    let ids = src.dialect().id_list("id");
    q.push(&format!("SELECT {key}, {ids} FROM accounts_user WHERE {window} GROUP BY {group}"));
    src.all(&q).await?.iter().map(|row| Ok((text(row, 0)?, id_set(opt_text(row, 1)?)?))).collect()
}

/// Sign-ups in `range` per local bucket.
pub async fn joins_by(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "date_joined", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "date_joined", range);
    q.push(&format!(
        "SELECT {key}, CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE {window} GROUP BY {group}"
    ));
    src.all(&q).await?.iter().map(|row| Ok((text(row, 0)?, int(row, 1)?))).collect()
}

/// A user as listed by the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Merchant account.
    pub is_merchant: bool,
    /// Email verified.
    pub is_email_verified: bool,
    /// When the user joined.
    pub date_joined: DateTime<Utc>,
}

/// The newest `limit` users who joined in `range` (newest first, ties: id descending).
pub async fn recent_users(
    src: &mut Source<'_>,
    range: Range,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "date_joined", range);
    let limit = q.int(limit);
    let joined = src.dialect().ts_text("date_joined");
    q.push(&format!(
        "SELECT id, email, CASE WHEN is_merchant THEN 1 ELSE 0 END, \
         CASE WHEN is_email_verified THEN 1 ELSE 0 END, {joined} FROM accounts_user \
         WHERE {window} ORDER BY date_joined DESC, id DESC LIMIT {limit}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            let joined = text(row, 4)?;
            Ok(UserRow {
                id: int(row, 0)?,
                email: text(row, 1)?,
                is_merchant: int(row, 2)? == 1,
                is_email_verified: int(row, 3)? == 1,
                date_joined: crate::db::parse_db_timestamp(&joined).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unreadable date_joined {joined:?}").into())
                })?,
            })
        })
        .collect()
}
