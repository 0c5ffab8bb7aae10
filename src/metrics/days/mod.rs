//! The day store: per-local-day facts of a span of whole days, read in one snapshot: grouped
//! transactions, orders and bonuses, the exact sets of users active and signed up each day,
//! and referrals per referrer.
//!
//! Counts and kobo sums add across days and user sets union across days, so any window is
//! the fold of the stored days it covers whole plus live reads of what it covers partly (its
//! first and last day, and everything after the store was read). A materializer run keeps one
//! and folds all its windows from it; the summary database holds a copy (see
//! `materializer::days`), so the next run re-reads only the days that can still change and
//! API instances load only the days a run changed. Days are shared (`Arc`) between one store
//! and the next, so an incremental refresh copies pointers, not bitmaps.

mod read;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;

use super::facts::orders::OrderGroup;
use super::facts::platform::BonusGroup;
use super::fold::Activity;
use super::window::{Range, Window};
use crate::time::{local_date, local_midnight};

pub use read::{Refresh, Watermarks};

/// The store always reaches this many days back, so every window up to a year and its previous
/// period folds from it even when the common windows are short.
pub const MIN_SPAN_DAYS: i64 = 730;

/// The layout of stored days; a store of another version is rebuilt, never read.
pub const STORE_VERSION: i64 = 1;

/// One whole local day.
///
/// Equality compares the facts, not [`Day::hours`]: the slots are an index of the same facts.
#[derive(Clone, Debug, Default)]
pub struct Day {
    /// The local date.
    pub date: NaiveDate,
    /// Its transaction, P2P deposit order and crypto purchase groups, keyed by the date.
    pub activity: Activity,
    /// Its P2P withdraw order groups.
    pub withdrawals: Vec<OrderGroup>,
    /// Its bonus groups.
    pub bonuses: Vec<BonusGroup>,
    /// Users with any transaction that day.
    pub active: RoaringBitmap,
    /// Users with a `success` transaction that day.
    pub active_success: RoaringBitmap,
    /// Users who joined that day.
    pub joined: RoaringBitmap,
    /// `(referrer id, users it referred who joined that day)`, by referrer id.
    pub referrals: Vec<(i64, i64)>,
    /// The same facts cut into the day's hours (see [`slot_bounds`]), or empty. Kept only for
    /// the few days that common windows start or end inside of, so a window's first and last
    /// day fold from whole hours and only the part of one hour on each side is read live.
    pub hours: Vec<Arc<Day>>,
}

impl PartialEq for Day {
    fn eq(&self, other: &Day) -> bool {
        self.date == other.date
            && self.activity == other.activity
            && self.withdrawals == other.withdrawals
            && self.bonuses == other.bonuses
            && self.active == other.active
            && self.active_success == other.active_success
            && self.joined == other.joined
            && self.referrals == other.referrals
    }
}

/// Where the hour slots of local day `date` begin, and where the last one ends: every hour
/// from local midnight to the next (23 or 25 slots on a DST change; the last one shorter in a
/// zone whose change is not a whole hour).
pub fn slot_bounds(tz: Tz, date: NaiveDate) -> Vec<DateTime<Utc>> {
    let (start, end) = (local_midnight(tz, date), local_midnight(tz, date + Duration::days(1)));
    let mut bounds: Vec<DateTime<Utc>> =
        (0..).map(|h| start + Duration::hours(h)).take_while(|t| *t < end).collect();
    bounds.push(end);
    bounds
}

impl Day {
    /// An empty day.
    pub fn empty(date: NaiveDate) -> Day {
        Day { date, ..Day::default() }
    }

    /// The date as a bucket key (`YYYY-MM-DD`).
    pub fn key(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    /// Puts every list in one order with one group per attribute set, so two reads of the same
    /// facts compare equal whatever order the database returned the groups in (and a day merged
    /// from its hours equals the day read whole).
    pub fn normalize(&mut self) {
        // The query groups a NULL reference apart from a non-P2P one; both are "not P2P" here.
        merge_groups(
            &mut self.activity.tx,
            |g| (g.category.clone(), g.tx_type.clone(), g.status.clone(), g.p2p),
            |kept, next| {
                kept.count += next.count;
                kept.kobo += next.kobo;
            },
        );
        let order_key = |g: &OrderGroup| (g.key.clone(), g.status.clone(), g.network.clone());
        let add_order = |kept: &mut OrderGroup, next: &OrderGroup| {
            kept.count += next.count;
            kept.kobo += next.kobo;
        };
        merge_groups(&mut self.activity.p2p, order_key, add_order);
        merge_groups(&mut self.activity.crypto, order_key, add_order);
        merge_groups(&mut self.withdrawals, order_key, add_order);
        merge_groups(
            &mut self.bonuses,
            |g| g.status.clone(),
            |kept, next| {
                kept.count += next.count;
                kept.kobo += next.kobo;
            },
        );
        merge_groups(&mut self.referrals, |r| r.0, |kept, next| kept.1 += next.1);
    }

    /// The day `date` whose facts are those of `hours` together, keeping them as its slots.
    pub fn from_hours(date: NaiveDate, hours: Vec<Arc<Day>>) -> Day {
        let mut day = Day::empty(date);
        for hour in &hours {
            day.activity.tx.extend(hour.activity.tx.iter().cloned());
            day.activity.p2p.extend(hour.activity.p2p.iter().cloned());
            day.activity.crypto.extend(hour.activity.crypto.iter().cloned());
            day.withdrawals.extend(hour.withdrawals.iter().cloned());
            day.bonuses.extend(hour.bonuses.iter().cloned());
            day.active |= &hour.active;
            day.active_success |= &hour.active_success;
            day.joined |= &hour.joined;
            day.referrals.extend(hour.referrals.iter().copied());
        }
        day.normalize();
        day.hours = hours;
        day
    }

    /// Roughly how many bytes the day holds.
    fn approx_bytes(&self) -> usize {
        let text = |s: &String| s.capacity();
        let tx: usize = self
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
        let orders: usize = self
            .activity
            .p2p
            .iter()
            .chain(&self.activity.crypto)
            .chain(&self.withdrawals)
            .map(|g| std::mem::size_of_val(g) + text(&g.key) + text(&g.status) + text(&g.network))
            .sum();
        let bonuses: usize =
            self.bonuses.iter().map(|g| std::mem::size_of_val(g) + text(&g.key) + text(&g.status)).sum();
        std::mem::size_of::<Day>()
            + tx
            + orders
            + bonuses
            + self.referrals.capacity() * std::mem::size_of::<(i64, i64)>()
            + self.active.serialized_size()
            + self.active_success.serialized_size()
            + self.joined.serialized_size()
            + self.hours.iter().map(|h| h.approx_bytes()).sum::<usize>()
    }
}

/// Sorts `groups` by `key` and merges the groups of one key with `add`.
fn merge_groups<G, K: Ord>(groups: &mut Vec<G>, key: impl Fn(&G) -> K, add: impl Fn(&mut G, &G)) {
    groups.sort_by_key(&key);
    groups.dedup_by(|next, kept| {
        let same = key(next) == key(kept);
        if same {
            add(kept, next);
        }
        same
    });
}

/// What came before the first stored day, kept as totals so lifetime figures stay exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Base {
    /// All-time revenue (SPEC §3) before the first stored day, kobo.
    pub revenue_kobo: i64,
    /// Users who joined before the first stored day.
    pub joined: RoaringBitmap,
}

/// Whole days `first ..` of one reporting zone, as of `read_at`.
#[derive(Clone, Debug)]
pub struct DayStore {
    tz: Tz,
    read_at: DateTime<Utc>,
    first: NaiveDate,
    days: Vec<Arc<Day>>,
    base: Arc<Base>,
    watermarks: Watermarks,
    generation: i64,
}

/// What a range needs: the stored days it covers whole, the hour slots it covers whole of the
/// days it covers partly, and the parts to read live.
#[derive(Debug)]
pub struct Cover<'a> {
    /// Stored days inside the range, in date order.
    pub days: &'a [Arc<Day>],
    /// Hour slots inside the range of the days it covers only partly.
    pub slots: Vec<&'a Arc<Day>>,
    /// The rest of the range, to be read from the platform: what lies outside the stored days,
    /// and of a partly covered day what its slots do not cover (at most an hour on each side).
    pub live: Vec<Range>,
}

impl<'a> Cover<'a> {
    /// Everything stored inside the range: the whole days, then the hour slots. Counts and sums
    /// add across them and user sets union; per-day figures merge the entries of one date.
    pub fn stored(&self) -> impl Iterator<Item = &'a Arc<Day>> + '_ {
        self.days.iter().chain(self.slots.iter().copied())
    }
}

/// The parts of a [`DayStore`], as the summary database holds them.
#[derive(Debug)]
pub struct StoreParts {
    /// Reporting zone the days are cut in.
    pub tz: Tz,
    /// The instant the facts were read (the run's `now`).
    pub read_at: DateTime<Utc>,
    /// The first stored date.
    pub first: NaiveDate,
    /// Every date from `first`, consecutive.
    pub days: Vec<Arc<Day>>,
    /// Totals before `first`.
    pub base: Arc<Base>,
    /// The highest platform ids the facts include.
    pub watermarks: Watermarks,
    /// The run of the last full rebuild these days descend from.
    pub generation: i64,
}

/// Why stored parts cannot form a store.
#[derive(Debug, thiserror::Error)]
#[error("stored days are not consecutive from {first}: found {found} at position {position}")]
pub struct GapError {
    /// The first stored date.
    pub first: NaiveDate,
    /// The date found out of place.
    pub found: NaiveDate,
    /// Where it was found.
    pub position: usize,
}

impl DayStore {
    /// Assembles a store, checking its days are consecutive from `first`.
    pub fn from_parts(parts: StoreParts) -> Result<DayStore, GapError> {
        for (i, day) in parts.days.iter().enumerate() {
            if day.date != parts.first + Duration::days(i as i64) {
                return Err(GapError { first: parts.first, found: day.date, position: i });
            }
        }
        Ok(DayStore {
            tz: parts.tz,
            read_at: parts.read_at,
            first: parts.first,
            days: parts.days,
            base: parts.base,
            watermarks: parts.watermarks,
            generation: parts.generation,
        })
    }

    /// The span a store for `windows` should cover: every window and its previous period, and
    /// at least [`MIN_SPAN_DAYS`].
    pub fn span_start(windows: &[Window], now: DateTime<Utc>) -> DateTime<Utc> {
        let earliest = windows.iter().map(|w| w.previous.start.min(w.current.start)).min().unwrap_or(now);
        earliest.min(now - Duration::days(MIN_SPAN_DAYS))
    }

    /// The span start for common windows up to `largest` days at `now`.
    pub fn span_start_for(largest: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days((2 * largest).max(MIN_SPAN_DAYS))
    }

    /// The day after the last whole local day that had ended by `now`.
    pub fn end_of_whole_days(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
        let mut end = local_date(tz, now);
        if local_midnight(tz, end + Duration::days(1)) <= now {
            end += Duration::days(1);
        }
        end
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

    /// The stored days, in date order.
    pub fn days(&self) -> &[Arc<Day>] {
        &self.days
    }

    /// The first stored date.
    pub fn first_date(&self) -> NaiveDate {
        self.first
    }

    /// The date after the last stored one.
    pub fn end_date(&self) -> NaiveDate {
        self.first + Duration::days(self.days.len() as i64)
    }

    /// Totals before the first stored day.
    pub fn base(&self) -> &Base {
        &self.base
    }

    /// The highest platform ids the facts include.
    pub fn watermarks(&self) -> Watermarks {
        self.watermarks
    }

    /// The run of the full rebuild these days descend from: two stores of one generation differ
    /// only in the days later runs rewrote.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// The stored day of `date`, if any.
    pub fn day(&self, date: NaiveDate) -> Option<&Arc<Day>> {
        usize::try_from((date - self.first).num_days()).ok().and_then(|i| self.days.get(i))
    }

    /// Roughly how many bytes the store holds (groups, their text, the user sets): for logs and
    /// the `/metrics` gauge, so operators see what a longer span would cost.
    pub fn approx_bytes(&self) -> usize {
        self.days.iter().map(|d| d.approx_bytes()).sum::<usize>() + self.base.joined.serialized_size()
    }

    /// Where the stored days begin.
    pub fn start(&self) -> DateTime<Utc> {
        local_midnight(self.tz, self.first)
    }

    /// Where the stored days end.
    pub fn end(&self) -> DateTime<Utc> {
        local_midnight(self.tz, self.end_date())
    }

    /// All-time revenue before [`DayStore::start`], kobo.
    pub fn revenue_before_start(&self) -> i64 {
        self.base.revenue_kobo
    }

    /// How `range` splits into stored days, hour slots and live parts; `None` when nothing
    /// stored lies wholly inside it (then the whole range is read live).
    pub fn cover(&self, range: Range) -> Option<Cover<'_>> {
        if range.end <= range.start || self.days.is_empty() {
            return None;
        }
        let tz = self.tz;
        let (a, b) = (range.start.max(self.start()), range.end.min(self.end()));
        if a >= b {
            return None;
        }
        let mut from = local_date(tz, a);
        if local_midnight(tz, from) < a {
            from += Duration::days(1);
        }
        let mut to = local_date(tz, b); // exclusive
        if local_midnight(tz, to) > b {
            to -= Duration::days(1);
        }
        let mut cover = Cover { days: &[], slots: Vec::new(), live: Vec::new() };
        if range.start < a {
            cover.live.push(Range::new(range.start, a));
        }
        if from <= to {
            let lo = usize::try_from((from - self.first).num_days()).ok()?;
            let hi = usize::try_from((to - self.first).num_days()).ok()?;
            cover.days = &self.days[lo..hi];
            self.split_partial(Range::new(a, local_midnight(tz, from)), &mut cover);
            self.split_partial(Range::new(local_midnight(tz, to), b), &mut cover);
        } else {
            // Inside one day.
            self.split_partial(Range::new(a, b), &mut cover);
        }
        if b < range.end {
            cover.live.push(Range::new(b, range.end));
        }
        if cover.days.is_empty() && cover.slots.is_empty() {
            return None;
        }
        Some(cover)
    }

    /// Adds `part` (inside one stored day) to `cover`: the day's whole hour slots inside it, and
    /// the rest live; all of it live when the day keeps no slots.
    fn split_partial<'s>(&'s self, part: Range, cover: &mut Cover<'s>) {
        if part.end <= part.start {
            return;
        }
        let date = local_date(self.tz, part.start);
        let bounds = slot_bounds(self.tz, date);
        let hours = match self.day(date) {
            Some(day) if day.hours.len() + 1 == bounds.len() => &day.hours,
            _ => {
                cover.live.push(part);
                return;
            }
        };
        let first = bounds.partition_point(|t| *t < part.start);
        let last = bounds.partition_point(|t| *t <= part.end).saturating_sub(1);
        if first >= last {
            cover.live.push(part);
            return;
        }
        if part.start < bounds[first] {
            cover.live.push(Range::new(part.start, bounds[first]));
        }
        cover.slots.extend(&hours[first..last]);
        if bounds[last] < part.end {
            cover.live.push(Range::new(bounds[last], part.end));
        }
    }

    /// How `[start, cutoff)` splits, for "joined before" and "revenue before" cutoffs: `None`
    /// when the cutoff lies before the stored days (their base then says nothing about it).
    pub fn cover_to(&self, cutoff: DateTime<Utc>) -> Option<Cover<'_>> {
        let start = self.start();
        if cutoff < start {
            return None;
        }
        Some(self.cover(Range::new(start, cutoff)).unwrap_or(Cover {
            days: &[],
            slots: Vec::new(),
            live: [Range::new(start, cutoff)].into_iter().filter(|r| r.end > r.start).collect(),
        }))
    }
}

/// The latest day store of this process, shared by the materializer (which fills it after
/// each run) and the API (which folds on-demand windows from it).
#[derive(Debug, Default)]
pub struct DaySlot {
    inner: RwLock<Option<(i64, Arc<DayStore>)>>,
}

impl DaySlot {
    /// Keeps `store`, as written by run `run_id`.
    pub fn publish(&self, run_id: i64, store: Arc<DayStore>) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.as_ref().is_none_or(|(id, _)| *id <= run_id) {
            *inner = Some((run_id, store));
        }
    }

    /// Forgets the store (its run's write failed: the summary database does not hold it).
    pub fn clear_if(&self, run_id: i64) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.as_ref().is_some_and(|(id, _)| *id == run_id) {
            *inner = None;
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

    /// A store of `len` empty days from `first`, read at `read_at`.
    fn store(tz: Tz, first: NaiveDate, len: i64, read_at: DateTime<Utc>) -> DayStore {
        let days = (0..len).map(|i| Arc::new(Day::empty(first + Duration::days(i)))).collect();
        DayStore::from_parts(StoreParts {
            tz,
            read_at,
            first,
            days,
            base: Arc::default(),
            watermarks: Watermarks::default(),
            generation: 1,
        })
        .unwrap()
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
    fn cutoffs_split_into_the_base_whole_days_and_a_live_tail() {
        let tz = chrono_tz::Africa::Lagos;
        let s = store(tz, date(2026, 6, 1), 14, Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap());
        // 06-05 12:00 local: 06-01 ..= 06-04 whole, then 06-05 00:00 .. 12:00 live.
        let cutoff = Utc.with_ymd_and_hms(2026, 6, 5, 11, 0, 0).unwrap();
        let cover = s.cover_to(cutoff).unwrap();
        assert_eq!(dates(&cover), (1..=4).map(|d| date(2026, 6, d)).collect::<Vec<_>>());
        assert_eq!(cover.live, vec![Range::new(local_midnight(tz, date(2026, 6, 5)), cutoff)]);
        // Inside the first day: only a live part; before it: nothing the store can answer.
        let early = Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap();
        assert_eq!(s.cover_to(early).unwrap().live, vec![Range::new(s.start(), early)]);
        assert!(s.cover_to(s.start() - Duration::seconds(1)).is_none());
    }

    #[test]
    fn stored_days_must_be_consecutive() {
        let tz = chrono_tz::Africa::Lagos;
        let days = vec![Arc::new(Day::empty(date(2026, 6, 1))), Arc::new(Day::empty(date(2026, 6, 3)))];
        let parts = StoreParts {
            tz,
            read_at: Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap(),
            first: date(2026, 6, 1),
            days,
            base: Arc::default(),
            watermarks: Watermarks::default(),
            generation: 1,
        };
        let gap = DayStore::from_parts(parts).unwrap_err();
        assert_eq!((gap.found, gap.position), (date(2026, 6, 3), 1));
    }

    /// `date` with one empty slot per hour, as a run keeps the days windows cut partway.
    fn with_slots(tz: Tz, mut s: DayStore, date: NaiveDate) -> DayStore {
        let slots = slot_bounds(tz, date).len() - 1;
        let hours = (0..slots).map(|_| Arc::new(Day::empty(date))).collect();
        let i = usize::try_from((date - s.first).num_days()).unwrap();
        s.days[i] = Arc::new(Day::from_hours(date, hours));
        s
    }

    #[test]
    fn a_partly_covered_day_with_hour_slots_reads_only_the_part_of_an_hour_on_each_side() {
        let tz = chrono_tz::Africa::Lagos;
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 6, d, h, m, 0).unwrap();
        let s = store(tz, date(2026, 6, 1), 14, at(15, 0, 0));
        let s = with_slots(tz, s, date(2026, 6, 8));
        // 06-08 11:20 local .. 06-15 11:20 local.
        let now = at(15, 10, 20);
        let cover = s.cover(Range::new(now - Duration::days(7), now)).unwrap();
        assert_eq!(dates(&cover), (9..=14).map(|d| date(2026, 6, d)).collect::<Vec<_>>());
        // The slots from 12:00 local (11:00 UTC) to midnight: 12 of the 24.
        assert_eq!(cover.slots.len(), 12);
        assert_eq!(cover.live, vec![Range::new(at(8, 10, 20), at(8, 11, 0)), Range::new(at(14, 23, 0), now)]);
        // The previous week ends inside the same day: its slots from midnight to 11:00 local.
        let cover = s.cover(Range::new(now - Duration::days(14), now - Duration::days(7))).unwrap();
        assert_eq!(cover.slots.len(), 11);
        assert_eq!(cover.live.last(), Some(&Range::new(at(8, 10, 0), at(8, 10, 20))));
    }

    #[test]
    fn a_range_inside_one_day_folds_the_day_s_whole_slots() {
        let tz = chrono_tz::Africa::Lagos;
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 6, d, h, m, 0).unwrap();
        let s = with_slots(tz, store(tz, date(2026, 6, 1), 14, at(15, 0, 0)), date(2026, 6, 10));
        // 06-10 02:30 .. 06-10 05:45 local: slots 03:00 .. 05:00 whole.
        let cover = s.cover(Range::new(at(10, 1, 30), at(10, 4, 45))).unwrap();
        assert!(cover.days.is_empty());
        assert_eq!(cover.slots.len(), 2);
        assert_eq!(
            cover.live,
            vec![Range::new(at(10, 1, 30), at(10, 2, 0)), Range::new(at(10, 4, 0), at(10, 4, 45))]
        );
        // Inside one hour: nothing stored is whole, so all of it is live.
        assert!(s.cover(Range::new(at(10, 1, 30), at(10, 1, 50))).is_none());
        // A day without slots is still read live.
        assert!(s.cover(Range::new(at(11, 1, 30), at(11, 4, 45))).is_none());
    }

    #[test]
    fn hour_slots_follow_the_local_day() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(slot_bounds(ny, date(2026, 3, 8)).len() - 1, 23);
        assert_eq!(slot_bounds(ny, date(2026, 11, 1)).len() - 1, 25);
        assert_eq!(slot_bounds(ny, date(2026, 6, 1)).len() - 1, 24);
        // Kolkata is UTC+05:30: its slots start at its own midnight, on the half hour in UTC.
        let kolkata = chrono_tz::Asia::Kolkata;
        let bounds = slot_bounds(kolkata, date(2026, 6, 1));
        assert_eq!(bounds[0], Utc.with_ymd_and_hms(2026, 5, 31, 18, 30, 0).unwrap());
        assert_eq!(bounds[24], Utc.with_ymd_and_hms(2026, 6, 1, 18, 30, 0).unwrap());
    }

    #[test]
    fn a_day_merged_from_its_hours_equals_the_day_read_whole() {
        use crate::metrics::facts::tx::TxGroup;
        let d = date(2026, 6, 1);
        let tx = |status: &str, count, kobo| TxGroup {
            key: "2026-06-01".into(),
            category: "airtime".into(),
            tx_type: "debit".into(),
            status: status.into(),
            p2p: false,
            count,
            kobo,
        };
        let order = |status: &str, count, kobo| OrderGroup {
            key: "2026-06-01".into(),
            status: status.into(),
            network: "TRC20".into(),
            count,
            kobo,
        };
        let mut h1 = Day::empty(d);
        h1.activity.tx = vec![tx("success", 2, 500)];
        h1.activity.crypto = vec![order("completed", 1, 100)];
        h1.active = RoaringBitmap::from_iter([1, 2]);
        h1.referrals = vec![(7, 1)];
        let mut h2 = Day::empty(d);
        h2.activity.tx = vec![tx("success", 1, 250), tx("failed", 1, 10)];
        h2.activity.crypto = vec![order("completed", 2, 300)];
        h2.active = RoaringBitmap::from_iter([2, 3]);
        h2.referrals = vec![(7, 2), (9, 1)];
        let merged = Day::from_hours(d, vec![Arc::new(h1), Arc::new(h2)]);
        let mut whole = Day::empty(d);
        whole.activity.tx = vec![tx("failed", 1, 10), tx("success", 3, 750)];
        whole.activity.crypto = vec![order("completed", 3, 400)];
        whole.active = RoaringBitmap::from_iter([1, 2, 3]);
        whole.referrals = vec![(7, 3), (9, 1)];
        assert_eq!(merged, whole);
        assert_eq!(merged.hours.len(), 2);
        assert_eq!(merged.activity.tx, whole.activity.tx);
    }
}
