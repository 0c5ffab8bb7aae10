//! Time-zone arithmetic shared by the query layer and the metrics: local midnights, UTC
//! offset plans for SQL bucketing, and the two text forms instants take.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Longest window, in days, for both `days` and calendar ranges (and a configured window).
pub const MAX_DAYS: i64 = 3650;

/// A run of time with one UTC offset in the reporting zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetSegment {
    /// First instant of the segment (the plan's start for the first one).
    pub from: DateTime<Utc>,
    /// The zone's offset from UTC during the segment, in seconds (Lagos: 3600).
    pub offset_seconds: i32,
}

/// The UTC offsets of a zone over a range, so SQL can turn instants into local dates with
/// plain arithmetic. Daylight-saving zones get one segment per transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetPlan {
    segments: Vec<OffsetSegment>,
}

/// How far apart we sample the zone when looking for transitions; no zone changes its offset
/// twice within this span, and each change found is then located to the second.
const PROBE_STEP_HOURS: i64 = 6;

impl OffsetPlan {
    /// The offsets of `tz` for every instant in `[start, end)`.
    pub fn new(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> OffsetPlan {
        let offset_at =
            |at: DateTime<Utc>| tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc();
        let mut segments = vec![OffsetSegment { from: start, offset_seconds: offset_at(start) }];
        let step = Duration::hours(PROBE_STEP_HOURS);
        let mut at = start;
        while at < end {
            let next = (at + step).min(end);
            let before = offset_at(at);
            if offset_at(next) != before {
                // Bisect (in whole seconds) to the first second carrying the new offset.
                let (mut lo, mut hi) = (at.timestamp(), next.timestamp());
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset_at(DateTime::from_timestamp(mid, 0).expect("in range")) == before {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let hi = DateTime::from_timestamp(hi, 0).expect("in range");
                segments.push(OffsetSegment { from: hi, offset_seconds: offset_at(hi) });
            }
            at = next;
        }
        OffsetPlan { segments }
    }

    /// The segments in time order; never empty.
    pub fn segments(&self) -> &[OffsetSegment] {
        &self.segments
    }
}

/// The Monday of `date`'s ISO week: weeks start on Monday in every report, series and table.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// The first of `date`'s month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a first day")
}

/// The UTC instant at which local date `date` begins in `tz`.
///
/// Where a transition skips midnight (some zones change at 00:00), the day begins at the first
/// local time that exists.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut local = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..48 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(30),
        }
    }
    unreachable!("no zone skips a whole day")
}

/// The local calendar date of an instant in `tz`.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// RFC 3339 UTC with microseconds and `Z`, the form of every instant in a response body.
pub fn rfc3339_micros(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The local midnight of `date` as RFC 3339 with the zone's offset (monthly series keys).
pub fn local_midnight_rfc3339(tz: Tz, date: NaiveDate) -> String {
    local_midnight(tz, date).with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Django's SQLite text form of a UTC instant: `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` only when
/// the microseconds are not zero. Bounds must be written exactly so to compare correctly.
pub fn django_sqlite_text(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Where runs take their `now`: the system clock, or a fixed instant, so tests can make days
/// pass and compare two runs at the same `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock(Option<DateTime<Utc>>);

impl Clock {
    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock(Some(at))
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.unwrap_or_else(Utc::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn lagos_has_one_segment_all_year() {
        let plan = OffsetPlan::new(chrono_tz::Africa::Lagos, utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0));
        assert_eq!(plan.segments().len(), 1);
        assert_eq!(plan.segments()[0].offset_seconds, 3600);
    }

    #[test]
    fn new_york_transitions_are_found_to_the_second() {
        let plan =
            OffsetPlan::new(chrono_tz::America::New_York, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        let segs = plan.segments();
        assert_eq!(segs.len(), 3);
        // 2026-03-08 02:00 EST = 07:00 UTC; 2026-11-01 02:00 EDT = 06:00 UTC.
        assert_eq!(segs[1], OffsetSegment { from: utc(2026, 3, 8, 7, 0), offset_seconds: -4 * 3600 });
        assert_eq!(segs[2], OffsetSegment { from: utc(2026, 11, 1, 6, 0), offset_seconds: -5 * 3600 });
    }

    #[test]
    fn midnight_skipped_by_a_transition_starts_the_day_later() {
        // Santiago moved clocks from 2022-09-11 00:00 to 01:00.
        let start =
            local_midnight(chrono_tz::America::Santiago, NaiveDate::from_ymd_opt(2022, 9, 11).unwrap());
        assert_eq!(start, utc(2022, 9, 11, 4, 0));
    }

    #[test]
    fn sqlite_text_has_fraction_only_when_needed() {
        assert_eq!(django_sqlite_text(utc(2026, 6, 15, 9, 5)), "2026-06-15 09:05:00");
        let at = utc(2026, 6, 15, 9, 5) + Duration::microseconds(120);
        assert_eq!(django_sqlite_text(at), "2026-06-15 09:05:00.000120");
        assert_eq!(rfc3339_micros(at), "2026-06-15T09:05:00.000120Z");
    }
}
