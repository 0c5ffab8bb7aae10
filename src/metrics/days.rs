//! The day store: per-local-day facts of a span of whole days, read in one snapshot: grouped
//! transactions and orders, and the exact sets of users active each day.
//!
//! Counts and kobo sums add across days and user sets union across days, so any window is
//! the fold of the stored days it covers whole plus live reads of what it covers partly (its
//! first and last day, and everything after the store was read). A materializer run builds
//! one and folds all its windows from it; API instances keep the latest one so an uncommon
//! window costs a fold in memory and two small reads instead of a scan of every row in it.
//! This is also the shape incremental refresh will keep per day.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;

use super::facts::active::{active_user_sets, ActiveSpec};
use super::facts::revenue::revenue_before;
use super::fold::Activity;
use super::source::Source;
use super::window::{Range, Window};
use crate::db::Bucket;
use crate::time::{local_date, local_midnight};

/// The store always reaches this many days back, so every window up to a year and its previous
/// period folds from it even when the common windows are short.
pub const MIN_SPAN_DAYS: i64 = 730;

/// One whole local day.
#[derive(Clone, Debug, Default)]
pub struct Day {
    /// The local date.
    pub date: NaiveDate,
    /// Its groups, keyed by the date.
    pub activity: Activity,
    /// Users with any transaction that day.
    pub active: RoaringBitmap,
    /// Users with a `success` transaction that day.
    pub active_success: RoaringBitmap,
}

impl Day {
    /// The date as a bucket key (`YYYY-MM-DD`).
    pub fn key(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

/// Whole days `first ..` of one reporting zone, as of `read_at`.
#[derive(Debug)]
pub struct DayStore {
    tz: Tz,
    read_at: DateTime<Utc>,
    first: NaiveDate,
    days: Vec<Day>,
    revenue_before_first: i64,
    /// `(user id, date_joined in µs)`, sorted by id: who joined before a cutoff, for churn.
    joined: Vec<(u32, i64)>,
}

/// What a range needs: the stored days it covers whole and the parts to read live.
#[derive(Debug)]
pub struct Cover<'a> {
    /// Stored days inside the range, in date order.
    pub days: &'a [Day],
    /// The rest of the range (at most a head and a tail), to be read from the platform.
    pub live: Vec<Range>,
}

impl DayStore {
    /// Reads the whole local days from the one containing `from` to the last one that ended
    /// by `now`, through `src` (which must not have a store yet: its reads are the truth).
    pub async fn build(
        src: &mut Source<'_>,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DayStore, sqlx::Error> {
        let tz = src.settings().tz;
        let first = local_date(tz, from.min(now));
        let mut end_day = local_date(tz, now);
        if local_midnight(tz, end_day + Duration::days(1)) <= now {
            end_day += Duration::days(1);
        }
        let span = Range::new(local_midnight(tz, first), local_midnight(tz, end_day));
        let len = usize::try_from((end_day - first).num_days()).unwrap_or(0);
        let mut days: Vec<Day> =
            (0..len).map(|i| Day { date: first + Duration::days(i as i64), ..Day::default() }).collect();
        let index = |key: &str| -> Option<usize> {
            let date = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
            usize::try_from((date - first).num_days()).ok().filter(|i| *i < len)
        };
        let activity = Activity::query(src, span, Bucket::Day).await?;
        for g in activity.tx {
            if let Some(i) = index(&g.key) {
                days[i].activity.tx.push(g);
            }
        }
        for g in activity.p2p {
            if let Some(i) = index(&g.key) {
                days[i].activity.p2p.push(g);
            }
        }
        for g in activity.crypto {
            if let Some(i) = index(&g.key) {
                days[i].activity.crypto.push(g);
            }
        }
        for users in active_user_sets(src, span).await? {
            if let Some(i) = index(&users.key) {
                days[i].active = users.any;
                days[i].active_success = users.success;
            }
        }
        let revenue_before_first = revenue_before(src, &[span.start]).await?[0];
        let joined = super::facts::users::join_instants(src).await?;
        Ok(DayStore { tz, read_at: now, first, days, revenue_before_first, joined })
    }

    /// The span a store for `windows` should cover: every window and its previous period, and
    /// at least [`MIN_SPAN_DAYS`].
    pub fn span_start(windows: &[Window], now: DateTime<Utc>) -> DateTime<Utc> {
        let earliest = windows.iter().map(|w| w.previous.start.min(w.current.start)).min().unwrap_or(now);
        earliest.min(now - Duration::days(MIN_SPAN_DAYS))
    }

    /// When the facts were read.
    pub fn read_at(&self) -> DateTime<Utc> {
        self.read_at
    }

    /// The reporting zone the days are cut in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// How many days are stored.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no day is stored.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Roughly how many bytes the store holds (groups, their text, the user sets): for logs and
    /// the `/metrics` gauge, so operators see what a longer span would cost.
    pub fn approx_bytes(&self) -> usize {
        let text = |s: &String| s.capacity();
        self.days
            .iter()
            .map(|d| {
                let tx: usize = d
                    .activity
                    .tx
                    .iter()
                    .map(|g| {
                        std::mem::size_of_val(g)
                            + text(&g.key)
                            + text(&g.category)
                            + text(&g.tx_type)
                            + text(&g.status)
                    })
                    .sum();
                let orders: usize = d
                    .activity
                    .p2p
                    .iter()
                    .chain(&d.activity.crypto)
                    .map(|g| std::mem::size_of_val(g) + text(&g.key) + text(&g.status))
                    .sum();
                std::mem::size_of::<Day>()
                    + tx
                    + orders
                    + d.active.serialized_size()
                    + d.active_success.serialized_size()
            })
            .sum::<usize>()
            + self.joined.len() * std::mem::size_of::<(u32, i64)>()
    }

    /// Where the stored days begin.
    pub fn start(&self) -> DateTime<Utc> {
        local_midnight(self.tz, self.first)
    }

    /// All-time revenue before [`DayStore::start`], kobo.
    pub fn revenue_before_start(&self) -> i64 {
        self.revenue_before_first
    }

    /// How `range` splits into stored days and live parts; `None` when no stored day lies
    /// wholly inside it (then the whole range is read live).
    pub fn cover(&self, range: Range) -> Option<Cover<'_>> {
        if range.end <= range.start || self.days.is_empty() {
            return None;
        }
        let tz = self.tz;
        let mut from = local_date(tz, range.start);
        if local_midnight(tz, from) < range.start {
            from += Duration::days(1);
        }
        let mut to = local_date(tz, range.end); // exclusive
        if local_midnight(tz, to) > range.end {
            to -= Duration::days(1);
        }
        let last = self.first + Duration::days(self.days.len() as i64);
        let (from, to) = (from.max(self.first), to.min(last));
        if from >= to {
            return None;
        }
        let lo = usize::try_from((from - self.first).num_days()).ok()?;
        let hi = usize::try_from((to - self.first).num_days()).ok()?;
        let (head_end, tail_start) = (local_midnight(tz, from), local_midnight(tz, to));
        let live = [Range::new(range.start, head_end), Range::new(tail_start, range.end)]
            .into_iter()
            .filter(|r| r.end > r.start)
            .collect();
        Some(Cover { days: &self.days[lo..hi], live })
    }

    /// Whether the store can count `spec` (churn cutoffs after the read are not known).
    pub fn answers(&self, spec: &ActiveSpec) -> bool {
        spec.joined_before.is_none_or(|before| before <= self.read_at)
    }

    /// Of `users`, how many had joined before `before`.
    pub fn joined_before(&self, users: &RoaringBitmap, before: DateTime<Utc>) -> u64 {
        let cutoff = before.timestamp_micros();
        users
            .iter()
            .filter(|id| {
                self.joined.binary_search_by_key(id, |(u, _)| *u).is_ok_and(|i| self.joined[i].1 < cutoff)
            })
            .count() as u64
    }
}

/// The latest day store of this process, shared by the materializer (which fills it after
/// each read) and the API (which folds on-demand windows from it).
#[derive(Debug, Default)]
pub struct DaySlot {
    inner: RwLock<Option<(i64, Arc<DayStore>)>>,
}

impl DaySlot {
    /// Keeps `store`, read for run `run_id` (or for the snapshots of that run).
    pub fn publish(&self, run_id: i64, store: Arc<DayStore>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.as_ref().is_none_or(|(id, _)| *id <= run_id) {
            *inner = Some((run_id, store));
        }
    }

    /// The current store and the run it belongs to, read together.
    pub fn current(&self) -> Option<(i64, Arc<DayStore>)> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current store, if any.
    pub fn get(&self) -> Option<Arc<DayStore>> {
        self.current().map(|(_, store)| store)
    }

    /// The run the current store belongs to.
    pub fn run_id(&self) -> Option<i64> {
        self.current().map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A store of `len` empty days from `first`, read at `read_at`, with users 1 (joined
    /// 2026-01-01) and 2 (joined 2026-06-10).
    fn store(tz: Tz, first: NaiveDate, len: i64, read_at: DateTime<Utc>) -> DayStore {
        let days = (0..len).map(|i| Day { date: first + Duration::days(i), ..Day::default() }).collect();
        let joined = vec![
            (1, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap().timestamp_micros()),
            (2, Utc.with_ymd_and_hms(2026, 6, 10, 0, 0, 0).unwrap().timestamp_micros()),
        ];
        DayStore { tz, read_at, first, days, revenue_before_first: 0, joined }
    }

    fn dates(cover: &Cover<'_>) -> Vec<NaiveDate> {
        cover.days.iter().map(|d| d.date).collect()
    }

    #[test]
    fn a_rolling_week_takes_its_whole_days_and_reads_its_partial_first_and_last_day() {
        let tz = chrono_tz::Africa::Lagos;
        let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap();
        // Days 06-01 ..= 06-14, read at 06-15 01:00 local.
        let s = store(tz, date(2026, 6, 1), 14, Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap());
        let cover = s.cover(Range::new(now - Duration::days(7), now)).unwrap();
        // 06-08 11:00 local .. 06-15 11:00 local: 06-09 ..= 06-14 are whole.
        assert_eq!(dates(&cover), (9..=14).map(|d| date(2026, 6, d)).collect::<Vec<_>>());
        assert_eq!(
            cover.live,
            vec![
                Range::new(now - Duration::days(7), Utc.with_ymd_and_hms(2026, 6, 8, 23, 0, 0).unwrap()),
                Range::new(Utc.with_ymd_and_hms(2026, 6, 14, 23, 0, 0).unwrap(), now),
            ]
        );
    }

    #[test]
    fn days_after_the_read_and_before_the_first_stored_day_are_read_live() {
        let tz = chrono_tz::Africa::Lagos;
        // Days 06-05 ..= 06-09 only; the store was read on 06-10.
        let s = store(tz, date(2026, 6, 5), 5, Utc.with_ymd_and_hms(2026, 6, 10, 0, 0, 0).unwrap());
        let from = local_midnight(tz, date(2026, 6, 1));
        let to = local_midnight(tz, date(2026, 6, 13));
        let cover = s.cover(Range::new(from, to)).unwrap();
        assert_eq!(dates(&cover), (5..=9).map(|d| date(2026, 6, d)).collect::<Vec<_>>());
        assert_eq!(
            cover.live,
            vec![
                Range::new(from, local_midnight(tz, date(2026, 6, 5))),
                Range::new(local_midnight(tz, date(2026, 6, 10)), to),
            ]
        );
    }

    #[test]
    fn a_range_without_a_whole_stored_day_is_read_live() {
        let tz = chrono_tz::Africa::Lagos;
        let s = store(tz, date(2026, 6, 1), 14, Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap());
        let start = Utc.with_ymd_and_hms(2026, 6, 10, 1, 0, 0).unwrap();
        assert!(s.cover(Range::new(start, start + Duration::hours(20))).is_none());
        // Entirely after the stored days.
        let later = local_midnight(tz, date(2026, 6, 20));
        assert!(s.cover(Range::new(later, later + Duration::days(3))).is_none());
    }

    /// New York's 2026-03-08 lasts 23 hours and 2026-11-01 lasts 25: whole days are still
    /// whole, with no live part between them.
    #[test]
    fn daylight_saving_days_are_whole_days() {
        let tz = chrono_tz::America::New_York;
        let s = store(tz, date(2026, 3, 1), 250, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        for (a, b) in [(date(2026, 3, 7), date(2026, 3, 10)), (date(2026, 10, 31), date(2026, 11, 3))] {
            let cover = s.cover(Range::new(local_midnight(tz, a), local_midnight(tz, b))).unwrap();
            assert_eq!(dates(&cover), vec![a, a + Duration::days(1), a + Duration::days(2)]);
            assert!(cover.live.is_empty());
        }
        assert_eq!(
            local_midnight(tz, date(2026, 3, 9)) - local_midnight(tz, date(2026, 3, 8)),
            Duration::hours(23)
        );
    }

    #[test]
    fn churn_counts_only_users_joined_before_the_cutoff_and_only_up_to_the_read() {
        let tz = chrono_tz::Africa::Lagos;
        let read_at = Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap();
        let s = store(tz, date(2026, 6, 1), 14, read_at);
        let users: RoaringBitmap = [1u32, 2, 3].into_iter().collect();
        // User 3 is unknown to the store (joined after the read): never "joined before".
        assert_eq!(s.joined_before(&users, Utc.with_ymd_and_hms(2026, 6, 5, 0, 0, 0).unwrap()), 1);
        assert_eq!(s.joined_before(&users, Utc.with_ymd_and_hms(2026, 6, 11, 0, 0, 0).unwrap()), 2);
        let spec = |before| ActiveSpec {
            joined_before: Some(before),
            ..ActiveSpec::any(Range::new(read_at, read_at))
        };
        assert!(s.answers(&spec(read_at)));
        assert!(!s.answers(&spec(read_at + Duration::seconds(1))));
    }
}
