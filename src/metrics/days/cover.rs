//! How a range splits over a day store: the stored days it covers whole, the hour slots it
//! covers whole of the days it cuts, and the parts left to read from the platform.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{Day, DayStore};
use crate::metrics::window::Range;
use crate::time::{local_date, local_midnight};

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

impl DayStore {
    /// How `range` splits into stored days, hour slots (the open day's too, up to
    /// [`DayStore::covered_until`]) and live parts; `None` when nothing stored lies wholly
    /// inside it (then the whole range is read live).
    pub fn cover(&self, range: Range) -> Option<Cover<'_>> {
        if range.end <= range.start || self.days.is_empty() {
            return None;
        }
        let tz = self.tz;
        let (a, b) = (range.start.max(self.start()), range.end.min(self.covered_until()));
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
        let day = self.day(date).or_else(|| self.open.as_ref().filter(|open| open.date == date));
        let hours = match day {
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
