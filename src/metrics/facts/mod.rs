//! The platform queries, one file per concern. Each returns plain grouped rows (counts and
//! exact kobo sums per local-day key and attribute) that the endpoint modules fold into
//! payloads; a window's additive numbers are always a fold over its day groups.

pub mod active;
pub mod orders;
pub mod platform;
pub mod referrals;
pub mod revenue;
pub mod tx;
pub mod users;

use roaring::RoaringBitmap;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::source::Source;
use super::window::Range;
use crate::db::{Bucket, BucketKey, Sql};
use crate::time::OffsetPlan;

/// Prefixed to a column, keeps SQLite from driving a range read through that column's index
/// (unary plus: same value, no index). Without statistics SQLite prefers the user-id index for
/// `GROUP BY user_id` or a join and then visits every row of the table instead of the window's.
pub(crate) const NO_INDEX: &str = "+";

/// The local bucket key of `column` over `range`, rendered into `q`.
pub(crate) fn bucket_key(
    src: &Source<'_>,
    q: &mut Sql,
    column: &str,
    bucket: Bucket,
    range: Range,
) -> BucketKey {
    let plan = OffsetPlan::new(src.settings().tz, range.start, range.end);
    src.dialect().local_key(q, column, bucket, &plan)
}

/// `column >= start AND column < end`, index-friendly on both databases.
pub(crate) fn in_range(q: &mut Sql, column: &str, range: Range) -> String {
    let start = q.ts(range.start);
    let end = q.ts(range.end);
    format!("{column} >= {start} AND {column} < {end}")
}

/// An instant before any platform row: the start of "all time" ranges (a bound both databases
/// accept, unlike `DateTime::MIN_UTC`).
pub(crate) fn beginning() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH - chrono::Duration::days(365 * 100)
}

/// Reads column `i` as an integer (counts and kobo sums).
pub(crate) fn int(row: &AnyRow, i: usize) -> Result<i64, sqlx::Error> {
    row.try_get::<i64, _>(i)
}

/// Reads column `i` as text.
pub(crate) fn text(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(i)
}

/// Reads column `i` as nullable text.
pub(crate) fn opt_text(row: &AnyRow, i: usize) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(i)
}

/// Parses a comma-separated id list into a set.
pub(crate) fn id_set(list: Option<String>) -> Result<RoaringBitmap, sqlx::Error> {
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
