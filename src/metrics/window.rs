//! Reporting windows: what `days` and `date_from`/`date_to` mean (docs/METRICS.md, "Windows"), parsed once at the
//! edge into a [`Window`] that cannot be invalid.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::time::{local_date, local_midnight};

pub use crate::time::MAX_DAYS;

/// Earliest date a parameter may name. The platform holds nothing older, and bounding dates
/// keeps every derived instant (the previous window reaches `MAX_DAYS` further back) far
/// inside what the date types can represent.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 exists"),
};

/// A half-open interval of instants `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range {
    /// First instant included.
    pub start: DateTime<Utc>,
    /// First instant excluded.
    pub end: DateTime<Utc>,
}

impl Range {
    /// `[start, end)`; an `end` before `start` is treated as empty at `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Range {
        Range { start, end: end.max(start) }
    }
}

/// How the window was asked for; it decides how the previous window is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// `days=N`: the last N × 24 hours.
    Rolling {
        /// N.
        days: i64,
    },
    /// `date_from`..=`date_to` in the reporting zone.
    Calendar {
        /// First local date.
        from: NaiveDate,
        /// Last local date.
        to: NaiveDate,
    },
}

/// A validated reporting window with its previous window, pinned to one `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// How it was asked for.
    pub kind: WindowKind,
    /// The instant the computation is "at"; the payload's `generated_at`.
    pub now: DateTime<Utc>,
    /// The reporting time zone.
    pub tz: Tz,
    /// The window itself (calendar ranges clipped at `now`).
    pub current: Range,
    /// The window the trends compare against.
    pub previous: Range,
    /// Days in the window (calendar ranges: before clipping).
    pub period_days: i64,
    /// Local date of the window's first instant.
    pub first_date: NaiveDate,
    /// Local date of the window's last instant.
    pub last_date: NaiveDate,
}

/// A window parameter that is malformed or out of range; the message names the parameter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WindowError(pub String);

impl Window {
    /// `days=N`: `[now − N×24h, now)`, previous `[now − 2N×24h, now − N×24h)`.
    pub fn rolling(now: DateTime<Utc>, tz: Tz, days: i64) -> Result<Window, WindowError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(WindowError(format!("days must be an integer from 1 to {MAX_DAYS} (got {days})")));
        }
        let span = Duration::days(days);
        let current = Range::new(now - span, now);
        Ok(Window {
            kind: WindowKind::Rolling { days },
            now,
            tz,
            current,
            previous: Range::new(now - span - span, now - span),
            period_days: days,
            first_date: local_date(tz, current.start),
            last_date: last_local_date(tz, current),
        })
    }

    /// A calendar range `[from 00:00, (to + 1) 00:00)` local, clipped at `now`; the previous
    /// window is as many whole local days just before `from`.
    pub fn calendar(
        now: DateTime<Utc>,
        tz: Tz,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Window, WindowError> {
        Window::calendar_within(now, tz, from, to, MAX_DAYS)
    }

    /// [`Window::calendar`] with a caller-chosen limit on its length in days.
    pub(crate) fn calendar_within(
        now: DateTime<Utc>,
        tz: Tz,
        from: NaiveDate,
        to: NaiveDate,
        max_days: i64,
    ) -> Result<Window, WindowError> {
        if from > to {
            return Err(WindowError(format!("date_from ({from}) must not be after date_to ({to})")));
        }
        let period_days = (to - from).num_days() + 1;
        if period_days > max_days {
            return Err(WindowError(format!(
                "the range date_from..date_to spans {period_days} days; at most {max_days} are allowed"
            )));
        }
        let start = local_midnight(tz, from);
        let current = Range::new(start, local_midnight(tz, to + Duration::days(1)).min(now));
        Ok(Window {
            kind: WindowKind::Calendar { from, to },
            now,
            tz,
            current,
            previous: Range::new(local_midnight(tz, from - Duration::days(period_days)), start),
            period_days,
            first_date: from,
            last_date: last_local_date(tz, current),
        })
    }

    /// Parses the window parameters (`days`, `date_from`, `date_to`; docs/METRICS.md, "Windows").
    ///
    /// The dashboard's "last N days" buttons (`date_to` = today or today + 1 and
    /// `date_from = date_to − N`) mean `days=N`, so they hit the precomputed snapshots.
    pub fn from_params(
        now: DateTime<Utc>,
        tz: Tz,
        days: Option<&str>,
        date_from: Option<&str>,
        date_to: Option<&str>,
    ) -> Result<Window, WindowError> {
        if days.is_some() && (date_from.is_some() || date_to.is_some()) {
            return Err(WindowError("use either days or date_from/date_to, not both".to_string()));
        }
        if date_from.is_none() && date_to.is_none() {
            return Window::rolling(now, tz, parse_days(days)?);
        }
        let today = local_date(tz, now);
        let tomorrow = today + Duration::days(1);
        let to = date_to.map(|v| parse_date("date_to", v)).transpose()?;
        let from = date_from.map(|v| parse_date("date_from", v)).transpose()?;
        if let Some(to) = to {
            if to > tomorrow {
                return Err(WindowError(format!(
                    "date_to ({to}) must not be after today + 1 ({tomorrow}) in the reporting time zone"
                )));
            }
        }
        if let (Some(from), Some(to)) = (from, to) {
            let n = (to - from).num_days();
            if (to == today || to == tomorrow) && (1..=MAX_DAYS).contains(&n) {
                return Window::rolling(now, tz, n);
            }
        }
        // A browser east of the reporting zone may already be on tomorrow: it means today.
        let clamp = |d: NaiveDate| if d == tomorrow { today } else { d };
        let to = to.map(clamp).unwrap_or(today);
        let from = from.unwrap_or(to);
        Window::calendar(now, tz, from, to)
    }

    /// Every local date of the window, ascending: the rows of a daily series.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.first_date.iter_days().take_while(|d| *d <= self.last_date).collect()
    }
}

/// Local date of the last instant of `range` (its start date when it is empty).
fn last_local_date(tz: Tz, range: Range) -> NaiveDate {
    if range.end > range.start {
        local_date(tz, range.end - Duration::microseconds(1))
    } else {
        local_date(tz, range.start)
    }
}

fn parse_days(value: Option<&str>) -> Result<i64, WindowError> {
    let Some(text) = value else { return Ok(30) };
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d))
        .ok_or_else(|| WindowError(format!("days must be an integer from 1 to {MAX_DAYS} (got {text:?})")))
}

fn parse_date(name: &str, value: &str) -> Result<NaiveDate, WindowError> {
    let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| WindowError(format!("{name} must be a date in the form YYYY-MM-DD (got {value:?})")))?;
    if date < MIN_DATE {
        return Err(WindowError(format!("{name} must be on or after {MIN_DATE} (got {value:?})")));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Africa::Lagos;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn rolling_window_lists_n_plus_one_dates() {
        let w = Window::rolling(now(), Lagos, 7).unwrap();
        assert_eq!(w.current.start, Utc.with_ymd_and_hms(2026, 6, 8, 10, 0, 0).unwrap());
        assert_eq!(w.previous.start, Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap());
        assert_eq!(w.dates().len(), 8);
    }

    #[test]
    fn last_n_days_pattern_means_days() {
        let w = Window::from_params(now(), Lagos, None, Some("2026-06-08"), Some("2026-06-15")).unwrap();
        assert_eq!(w.kind, WindowKind::Rolling { days: 7 });
        let w = Window::from_params(now(), Lagos, None, Some("2026-06-09"), Some("2026-06-16")).unwrap();
        assert_eq!(w.kind, WindowKind::Rolling { days: 7 });
    }

    #[test]
    fn calendar_range_is_clipped_at_now_and_previous_is_whole_days() {
        // date_from alone means date_to = today: a calendar range (only both dates form the
        // dashboard's "last N days" pattern).
        let w = Window::from_params(now(), Lagos, None, Some("2026-06-10"), None).unwrap();
        assert_eq!(w.kind, WindowKind::Calendar { from: date("2026-06-10"), to: date("2026-06-15") });
        assert_eq!(w.period_days, 6);
        assert_eq!(w.current.start, Utc.with_ymd_and_hms(2026, 6, 9, 23, 0, 0).unwrap());
        assert_eq!(w.current.end, now());
        assert_eq!(w.previous.start, Utc.with_ymd_and_hms(2026, 6, 3, 23, 0, 0).unwrap());
        assert_eq!(w.dates().len(), 6);
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let err = |d: Option<&str>, f: Option<&str>, t: Option<&str>| {
            Window::from_params(now(), Lagos, d, f, t).unwrap_err().0
        };
        assert!(err(Some("0"), None, None).contains("days"));
        assert!(err(Some("3651"), None, None).contains("days"));
        assert!(err(Some("abc"), None, None).contains("days"));
        assert!(err(Some("7"), Some("2026-06-01"), None).contains("not both"));
        assert!(err(None, Some("2026-13-01"), None).contains("date_from"));
        assert!(err(None, None, Some("2026-06-17")).contains("date_to"));
        assert!(err(None, Some("2026-06-10"), Some("2026-06-01")).contains("date_from"));
        assert!(err(None, Some("2010-01-01"), Some("2026-06-01")).contains("3650"));
        // Dates at the ends of what the types hold are refused, not overflowed.
        assert!(err(None, None, Some("-262143-01-01")).contains("date_to"));
        assert!(err(None, Some("1969-12-31"), None).contains("date_from must be on or after 1970-01-01"));
        assert!(err(None, Some("+262142-12-31"), None).contains("date_from"));
    }

    #[test]
    fn date_to_alone_is_a_single_day() {
        let w = Window::from_params(now(), Lagos, None, None, Some("2026-06-01")).unwrap();
        assert_eq!(w.period_days, 1);
        assert_eq!(w.dates(), vec![date("2026-06-01")]);
    }
}
