//! The day store's cover of ranges: whole days, hour slots and live parts.

use super::*;
use crate::metrics::window::Range;
use crate::time::local_midnight;
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
        capture: None,
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
        capture: None,
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
fn the_open_day_folds_its_whole_hours_before_the_read_and_the_rest_is_read_live() {
    let tz = chrono_tz::Africa::Lagos;
    let at = |d, h, m| Utc.with_ymd_and_hms(2026, 6, d, h, m, 0).unwrap();
    // Days 06-01 ..= 06-14 and 06-15 open, read at 06-15 10:20 local (09:20 UTC).
    let mut s = store(tz, date(2026, 6, 1), 14, at(15, 9, 20));
    let slots = slot_bounds(tz, date(2026, 6, 15)).len() - 1;
    s.set_open(Day::from_hours(
        date(2026, 6, 15),
        (0..slots).map(|_| Arc::new(Day::empty(date(2026, 6, 15)))).collect(),
    ));
    assert_eq!(s.covered_until(), at(15, 9, 0));
    // A request a little later: the open day's 10 whole hours before the read, then live.
    let now = at(15, 9, 50);
    let cover = s.cover(Range::new(now - Duration::days(7), now)).unwrap();
    assert_eq!(dates(&cover), (9..=14).map(|d| date(2026, 6, d)).collect::<Vec<_>>());
    assert_eq!(cover.slots.len(), 10);
    assert_eq!(
        cover.live,
        vec![Range::new(now - Duration::days(7), at(8, 23, 0)), Range::new(at(15, 9, 0), now)]
    );
    // Today alone: its whole hours, and the rest live.
    let cover = s.cover(Range::new(at(14, 23, 0), now)).unwrap();
    assert!(cover.days.is_empty());
    assert_eq!((cover.slots.len(), cover.live.clone()), (10, vec![Range::new(at(15, 9, 0), now)]));
    // A day of another date is not kept open.
    s.set_open(Day::from_hours(date(2026, 6, 16), Vec::new()));
    assert_eq!(s.covered_until(), s.end());
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
    use crate::metrics::rows::TxGroup;
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
