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

mod apply;
mod cover;
mod drift;
mod read;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;

use super::window::Window;
use crate::metrics::rows::{Activity, BonusGroup, OrderGroup};
use crate::time::{local_date, local_midnight};

pub use apply::NotApplicable;
pub use cover::{slot_bounds, Cover};
pub use drift::{Drift, DAYS_PER_RUN};
pub use read::{NeedsRebuild, Refresh, Since, Watermarks};

use crate::capture::Cursor;

/// Where stored days stand in the platform's change log: the install they were read under and
/// the last snapshot (or sequence number) whose changes they include.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureMark {
    /// The log's epoch (see [`crate::capture::Capture::Ready`]).
    pub epoch: String,
    /// Every change up to here is in the days.
    pub cursor: Cursor,
}

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
    /// All-time revenue (docs/METRICS.md, "Revenue") before the first stored day, kobo.
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
    capture: Option<CaptureMark>,
    open: Option<Arc<Day>>,
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
    /// Where the days stand in the change log, when they were read with capture installed.
    pub capture: Option<CaptureMark>,
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
            capture: parts.capture,
            open: None,
        })
    }

    /// Keeps `day` as the open day: the day the stored days end at (today, for a run), with its
    /// hour slots as of [`DayStore::read_at`]. Only a store kept by change capture has one: the
    /// logged changes keep it exact with the same deltas as the stored days, so a run folds
    /// today's whole hours instead of reading the day so far, and when the day ends it becomes
    /// a stored day without a read. It is this process's alone (never written to the summary
    /// database: a loaded store reads today as before). A day of another date, or without
    /// slots, is not kept.
    pub fn set_open(&mut self, day: impl Into<Arc<Day>>) {
        let day = day.into();
        let slots = slot_bounds(self.tz, day.date).len() - 1;
        self.open = (day.date == self.end_date() && day.hours.len() == slots).then_some(day);
    }

    /// The open day, if the store keeps one (see [`DayStore::set_open`]).
    pub fn open_day(&self) -> Option<&Arc<Day>> {
        self.open.as_ref()
    }

    /// Where what the store holds ends: after the open day's last whole hour before
    /// [`DayStore::read_at`], or at the end of the stored days.
    pub fn covered_until(&self) -> DateTime<Utc> {
        match &self.open {
            Some(open) => {
                let bounds = slot_bounds(self.tz, open.date);
                bounds
                    .iter()
                    .rev()
                    .find(|b| **b <= self.read_at)
                    .copied()
                    .unwrap_or(bounds[0])
                    .max(self.end())
            }
            None => self.end(),
        }
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

    /// Where the days stand in the change log, if they were read with capture installed.
    pub fn capture(&self) -> Option<&CaptureMark> {
        self.capture.as_ref()
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
        self.days.iter().chain(&self.open).map(|d| d.approx_bytes()).sum::<usize>()
            + self.base.joined.serialized_size()
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
mod tests;
