//! Folding grouped facts into window totals: counts and exact kobo sums add up across
//! buckets, so a window's numbers are the fold of its day groups.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::facts::orders::{order_groups, OrderGroup, OrderTable};
use super::facts::tx::{tx_groups, TxGroup};
use super::num::kobo;
use super::source::Source;
use super::window::Range;
use crate::db::Bucket;

/// A count and an exact sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agg {
    /// Number of rows.
    pub count: i64,
    /// Sum of their amounts, kobo.
    pub kobo: i64,
}

impl Agg {
    /// Adds one group.
    pub fn add(&mut self, count: i64, kobo: i64) {
        self.count += count;
        self.kobo += kobo;
    }

    /// The sum as money.
    pub fn money(self) -> Decimal {
        kobo(self.kobo)
    }

    /// The sum of two aggregates.
    pub fn plus(self, other: Agg) -> Agg {
        Agg { count: self.count + other.count, kobo: self.kobo + other.kobo }
    }
}

/// Something with a bucket key, a count and a kobo sum.
pub trait Grouped {
    /// The bucket key.
    fn key(&self) -> &str;
    /// (count, kobo).
    fn amounts(&self) -> (i64, i64);
}

impl Grouped for TxGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

impl Grouped for OrderGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

impl Grouped for super::facts::platform::BonusGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

/// Total of the groups that pass `keep`.
pub fn total<G: Grouped>(groups: &[G], keep: impl Fn(&G) -> bool) -> Agg {
    let mut agg = Agg::default();
    for g in groups.iter().filter(|g| keep(g)) {
        let (count, kobo) = g.amounts();
        agg.add(count, kobo);
    }
    agg
}

/// Totals per bucket key of the groups that pass `keep`.
pub fn per_key<G: Grouped>(groups: &[G], keep: impl Fn(&G) -> bool) -> BTreeMap<String, Agg> {
    per_label(groups, |g| g.key().to_string(), keep)
}

/// Totals per arbitrary label (category, type, status, …) of the groups that pass `keep`.
pub fn per_label<G>(
    groups: &[G],
    label: impl Fn(&G) -> String,
    keep: impl Fn(&G) -> bool,
) -> BTreeMap<String, Agg>
where
    G: Grouped,
{
    let mut map: BTreeMap<String, Agg> = BTreeMap::new();
    for g in groups.iter().filter(|g| keep(g)) {
        let (count, kobo) = g.amounts();
        map.entry(label(g)).or_default().add(count, kobo);
    }
    map
}

/// The three revenue sources of SPEC §3 over some set of groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revenue {
    /// Success deposits that are not P2P credits.
    pub deposits: Agg,
    /// Completed P2P deposit orders.
    pub p2p: Agg,
    /// Completed crypto purchases.
    pub crypto: Agg,
}

impl Revenue {
    /// All three sources together.
    pub fn total(self) -> Agg {
        self.deposits.plus(self.p2p).plus(self.crypto)
    }
}

/// The facts most payloads share for one range: transactions, P2P deposit orders and crypto
/// purchases, grouped by `bucket`.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    /// Wallet transaction groups.
    pub tx: Vec<TxGroup>,
    /// P2P deposit order groups.
    pub p2p: Vec<OrderGroup>,
    /// Crypto purchase groups.
    pub crypto: Vec<OrderGroup>,
}

impl Activity {
    /// The three group sets for `range` by `bucket` (three queries, or fewer when this source
    /// has read a covering range by day already: full local days are taken from it and only
    /// the partial days at the edges are read).
    pub async fn load(
        src: &mut Source<'_>,
        range: Range,
        bucket: Bucket,
    ) -> Result<Arc<Activity>, sqlx::Error> {
        if let Some(hit) = src.memo().activity.get(&(range, bucket)) {
            return Ok(hit.clone());
        }
        let by_day = match bucket {
            Bucket::Day | Bucket::Whole => Activity::days_from_cover(src, range).await?,
            Bucket::Week | Bucket::Month => None,
        };
        let activity = match (by_day, bucket) {
            (Some(days), Bucket::Whole) => Arc::new(days.as_whole()),
            (Some(days), _) => Arc::new(days),
            (None, _) => Arc::new(Activity::query(src, range, bucket).await?),
        };
        src.memo().activity.insert((range, bucket), activity.clone());
        Ok(activity)
    }

    async fn query(src: &mut Source<'_>, range: Range, bucket: Bucket) -> Result<Activity, sqlx::Error> {
        Ok(Activity {
            tx: tx_groups(src, range, bucket).await?,
            p2p: order_groups(src, OrderTable::P2pDeposit, range, bucket).await?,
            crypto: order_groups(src, OrderTable::CryptoPurchase, range, bucket).await?,
        })
    }

    /// Daily groups of `range` folded from a remembered daily read of a range that covers it:
    /// whole local days are copied, and the partial first and last days are read on their own.
    async fn days_from_cover(src: &mut Source<'_>, range: Range) -> Result<Option<Activity>, sqlx::Error> {
        let daily =
            src.memo().activity.iter().filter(|((_, b), _)| *b == Bucket::Day).map(|((r, _), a)| (*r, a));
        let cover = smallest_cover(daily, range).map(|(r, a)| (r, a.clone()));
        let Some((cover_range, cover)) = cover else { return Ok(None) };
        if cover_range == range {
            return Ok(Some((*cover).clone()));
        }
        let split = DaySplit::new(src.settings().tz, range);
        let mut out = Activity {
            tx: cover.tx.iter().filter(|g| split.is_full(&g.key)).cloned().collect(),
            p2p: cover.p2p.iter().filter(|g| split.is_full(&g.key)).cloned().collect(),
            crypto: cover.crypto.iter().filter(|g| split.is_full(&g.key)).cloned().collect(),
        };
        for edge in split.edges() {
            let part = Activity::query(src, edge, Bucket::Day).await?;
            out.tx.extend(part.tx);
            out.p2p.extend(part.p2p);
            out.crypto.extend(part.crypto);
        }
        Ok(Some(out))
    }

    /// The same groups with every bucket key folded into one (`''`).
    fn as_whole(&self) -> Activity {
        fn fold<T: Clone>(groups: &[T], rekey: impl Fn(&mut T)) -> Vec<T> {
            groups
                .iter()
                .cloned()
                .map(|mut g| {
                    rekey(&mut g);
                    g
                })
                .collect()
        }
        Activity {
            tx: fold(&self.tx, |g| g.key.clear()),
            p2p: fold(&self.p2p, |g| g.key.clear()),
            crypto: fold(&self.crypto, |g| g.key.clear()),
        }
    }

    /// Revenue over every bucket.
    pub fn revenue(&self) -> Revenue {
        self.revenue_where(|_| true)
    }

    /// Revenue over the buckets whose key passes `keep`.
    pub fn revenue_where(&self, keep: impl Fn(&str) -> bool) -> Revenue {
        Revenue {
            deposits: total(&self.tx, |g| keep(&g.key) && g.is_deposit_revenue()),
            p2p: total(&self.p2p, |g| keep(&g.key) && g.status == "completed"),
            crypto: total(&self.crypto, |g| keep(&g.key) && g.status == "completed"),
        }
    }

    /// Revenue per bucket key.
    pub fn revenue_by_key(&self) -> BTreeMap<String, Revenue> {
        let mut map: BTreeMap<String, Revenue> = BTreeMap::new();
        for (k, a) in per_key(&self.tx, |g| g.is_deposit_revenue()) {
            map.entry(k).or_default().deposits = a;
        }
        for (k, a) in per_key(&self.p2p, |g| g.status == "completed") {
            map.entry(k).or_default().p2p = a;
        }
        for (k, a) in per_key(&self.crypto, |g| g.status == "completed") {
            map.entry(k).or_default().crypto = a;
        }
        map
    }

    /// All transactions.
    pub fn all_tx(&self) -> Agg {
        total(&self.tx, |_| true)
    }

    /// Success transactions.
    pub fn success_tx(&self) -> Agg {
        total(&self.tx, |g| g.status == "success")
    }
}

/// Sorts `(label, value)` rows by value descending, ties by label ascending (SPEC §4 lists).
pub fn sort_desc<T: PartialOrd>(rows: &mut [(String, T)]) {
    rows.sort_by(|a, b| {
        b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0))
    });
}

/// The smallest of `entries`' ranges that contains all of `range`, with its value: what a
/// remembered read can answer `range` from.
pub(crate) fn smallest_cover<'a, T>(
    entries: impl Iterator<Item = (Range, &'a T)>,
    range: Range,
) -> Option<(Range, &'a T)> {
    entries.filter(|(r, _)| r.start <= range.start && r.end >= range.end).min_by_key(|(r, _)| r.end - r.start)
}

/// A range cut into the local days it covers whole and the partial days at its edges.
#[derive(Clone, Debug)]
pub(crate) struct DaySplit {
    first_full: String,
    last_full: String,
    head: Range,
    tail: Range,
}

impl DaySplit {
    /// Splits `range` in the reporting zone `tz`.
    pub(crate) fn new(tz: chrono_tz::Tz, range: Range) -> DaySplit {
        use crate::time::{local_date, local_midnight};
        if range.end <= range.start {
            return DaySplit {
                first_full: "9999".into(),
                last_full: String::new(),
                head: range,
                tail: range,
            };
        }
        let first_day = local_date(tz, range.start);
        let first_full = if local_midnight(tz, first_day) == range.start {
            first_day
        } else {
            first_day + chrono::Duration::days(1)
        };
        let last_day = local_date(tz, range.end - chrono::Duration::microseconds(1));
        let last_full = if local_midnight(tz, last_day + chrono::Duration::days(1)) == range.end {
            last_day
        } else {
            last_day - chrono::Duration::days(1)
        };
        let head_end = local_midnight(tz, first_full).min(range.end);
        let tail_start =
            local_midnight(tz, last_full + chrono::Duration::days(1)).max(head_end).min(range.end);
        DaySplit {
            first_full: first_full.format("%Y-%m-%d").to_string(),
            last_full: last_full.format("%Y-%m-%d").to_string(),
            head: Range::new(range.start, head_end),
            tail: Range::new(tail_start, range.end),
        }
    }

    /// Whether the day keyed `key` (`YYYY-MM-DD`) lies wholly inside the range.
    pub(crate) fn is_full(&self, key: &str) -> bool {
        key >= self.first_full.as_str() && key <= self.last_full.as_str()
    }

    /// The partial days to read on their own (empty ones left out).
    pub(crate) fn edges(&self) -> Vec<Range> {
        [self.head, self.tail].into_iter().filter(|r| r.end > r.start).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_rolling_week_splits_into_two_partial_days_and_full_days_between() {
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap();
        let range = Range::new(now - chrono::Duration::days(7), now);
        let split = DaySplit::new(chrono_tz::Africa::Lagos, range);
        // 06-08 11:00 local .. 06-15 11:00 local: 06-09 ..= 06-14 are whole.
        assert!(!split.is_full("2026-06-08") && split.is_full("2026-06-09") && split.is_full("2026-06-14"));
        assert!(!split.is_full("2026-06-15"));
        let edges = split.edges();
        assert_eq!(edges[0], Range::new(range.start, Utc.with_ymd_and_hms(2026, 6, 8, 23, 0, 0).unwrap()));
        assert_eq!(edges[1], Range::new(Utc.with_ymd_and_hms(2026, 6, 14, 23, 0, 0).unwrap(), now));
    }

    #[test]
    fn a_range_inside_one_day_is_one_edge() {
        let start = Utc.with_ymd_and_hms(2026, 6, 15, 1, 0, 0).unwrap();
        let range = Range::new(start, start + chrono::Duration::hours(3));
        let split = DaySplit::new(chrono_tz::Africa::Lagos, range);
        assert_eq!(split.edges(), vec![range]);
        assert!(!split.is_full("2026-06-15"));
    }

    #[test]
    fn whole_local_days_have_no_edges() {
        let tz = chrono_tz::Africa::Lagos;
        let from = crate::time::local_midnight(tz, chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        let to = crate::time::local_midnight(tz, chrono::NaiveDate::from_ymd_opt(2026, 6, 8).unwrap());
        let split = DaySplit::new(tz, Range::new(from, to));
        assert!(split.edges().is_empty());
        assert!(split.is_full("2026-06-01") && split.is_full("2026-06-07") && !split.is_full("2026-06-08"));
    }
}
