//! Reading days from the platform: a whole store (a full rebuild), and the refresh of a stored
//! one.
//!
//! With change capture installed, a refresh applies the changes logged since the store's
//! cursor as exact deltas (see `apply`) and reads only the days that ended since. Without it,
//! no table has `updated_at`, so a refresh re-reads what is likely to have changed: the last
//! `settle_days` whole days (where pending statuses settle) and, found by an id watermark per
//! table whatever their `created_at`, the days of rows inserted since. What that cannot see (a
//! delete, an older update) waits for the scheduled full rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use roaring::RoaringBitmap;

use super::apply::{apply, NotApplicable, Target};
use super::{Base, CaptureMark, Day, DayStore, StoreParts};
use crate::capture::ChangeBatch;
use crate::db::{parse_db_timestamp, Bucket, Dialect};
use crate::metrics::facts::orders::order_groups;
use crate::metrics::facts::platform::bonus_groups;
use crate::metrics::facts::referrals::referral_counts;
use crate::metrics::facts::revenue::sum_revenue_before;
use crate::metrics::facts::tx::{parse_id_lists, tx_groups_with_id_lists};
use crate::metrics::facts::users::{joined_ids, signup_sets};
use crate::metrics::facts::{int, text};
use crate::metrics::rows::{OrderTable, TxGroup};
use crate::metrics::source::Source;
use crate::metrics::window::Range;
use crate::time::{local_date, local_midnight};

/// The tables a day's facts come from, with the column that places a row on a day, in the
/// order of [`Watermarks`]' fields.
pub const WATERMARK_TABLES: [(&str, &str); 6] = [
    ("wallet_wallettransaction", "created_at"),
    ("p2p_depositorder", "created_at"),
    ("p2p_withdraworder", "created_at"),
    ("gasfee_cryptopurchase", "created_at"),
    ("rewards_bonus", "created_at"),
    ("accounts_user", "date_joined"),
];

/// The highest id of each table a store's facts include: a row above it is new to the store,
/// whatever day its timestamp names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks(pub [i64; 6]);

/// On PostgreSQL, ids are taken at insert and transactions commit in any order: a row with a
/// lower id than one already seen may become visible later. Each refresh therefore looks this
/// many ids below the previous watermark again (a re-read day is replaced, never added twice).
/// SQLite has one writer at a time, so its ids become visible in order.
const COMMIT_LAG_IDS: i64 = 1000;

/// More back-dated rows than this in one refresh: the refresh gives up and the run rebuilds.
const MAX_BACKDATED_ROWS: i64 = 100_000;

/// Transaction groups, with their id lists of users, are read this many days per query, so a
/// long span never holds more than a month of id text in memory at once.
const USER_SET_CHUNK_DAYS: i64 = 31;

/// What a refresh produced.
#[derive(Debug)]
pub struct Refresh {
    /// The refreshed store.
    pub store: DayStore,
    /// How many days were read from the platform.
    pub reread: usize,
    /// Which days were read from the platform.
    pub read: BTreeSet<NaiveDate>,
    /// Dates whose facts differ from the previous store (or are new to it).
    pub changed: Vec<NaiveDate>,
}

/// Why a stored store cannot be refreshed and a full rebuild is needed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedsRebuild {
    /// The clock is before the store's read.
    ClockBehind,
    /// More back-dated rows than a refresh reads.
    TooManyBackdated,
    /// The logged changes cannot be applied as deltas.
    Log(NotApplicable),
}

/// What a refresh learns the platform's changes from.
#[derive(Debug, Clone, Copy)]
pub enum Since<'a> {
    /// No change log: re-read this many whole days and the days of rows inserted since.
    Settle(u32),
    /// The change log's batch since the store's cursor, and where it ends.
    Log(&'a ChangeBatch, &'a CaptureMark),
}

impl Since<'_> {
    /// The whole days re-read besides the days ended since the store was read.
    pub fn settle_days(&self) -> u32 {
        match self {
            Since::Settle(n) => *n,
            Since::Log(..) => 0,
        }
    }
}

impl DayStore {
    /// Reads every whole local day from the one containing `from` to the last one that ended by
    /// `now`, with the totals before it and the tables' watermarks, through `src` (which must
    /// not fold from a store: its reads are the truth).
    pub async fn build(
        src: &mut Source<'_>,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        generation: i64,
        capture: Option<CaptureMark>,
    ) -> Result<DayStore, sqlx::Error> {
        let tz = src.settings().tz;
        let watermarks = read_watermarks(src).await?;
        let first = local_date(tz, from.min(now));
        let end = DayStore::end_of_whole_days(tz, now).max(first);
        let days = read_days(src, first, end).await?.into_iter().map(Arc::new).collect();
        let base = Arc::new(read_base(src, first).await?);
        let parts = StoreParts { tz, read_at: now, first, days, base, watermarks, generation, capture };
        Ok(DayStore::from_parts(parts).expect("read days are consecutive"))
    }

    /// The first date a refresh at `now` re-reads in any case (the settle window and the days
    /// that ended since the store was read), and the date after the last one it keeps.
    fn reread_span(&self, now: DateTime<Utc>, settle_days: u32) -> (NaiveDate, NaiveDate) {
        let end = DayStore::end_of_whole_days(self.tz, now).max(self.end_date());
        let settle_from = (end - Duration::days(i64::from(settle_days))).min(self.end_date()).max(self.first);
        (settle_from, end)
    }

    /// Which of `dates` a refresh at `now` should be given read hour by hour (see
    /// [`crate::metrics::live::read_hours`]): those it re-reads anyway, and, when this store
    /// already keeps slots or an open day (a run of this process made it, so later runs will
    /// reuse them), those it keeps without. A store fresh from the summary database keeps none: a one-shot
    /// `recompute` would read the slots of days it does not re-read only to exit.
    pub fn hours_wanted(
        &self,
        dates: &BTreeSet<NaiveDate>,
        now: DateTime<Utc>,
        settle_days: u32,
    ) -> BTreeSet<NaiveDate> {
        let (settle_from, end) = self.reread_span(now, settle_days);
        // An open day is never loaded, so a store that has one was made by this process.
        let keeps_slots = self.open.is_some() || self.days.iter().any(|d| !d.hours.is_empty());
        let open = self.open.as_ref().map(|o| o.date);
        dates
            .iter()
            .filter(|d| **d >= self.first && **d < end && Some(**d) != open)
            .filter(|d| {
                **d >= settle_from || (keeps_slots && self.day(**d).is_none_or(|day| day.hours.is_empty()))
            })
            .copied()
            .collect()
    }

    /// Gives the stored days of `hourly` their hour slots. A day whose facts read by the hour
    /// differ from the stored ones changed outside the settle window: it keeps its stored facts
    /// (and no slots) until a full rebuild, as every other such day; its date is returned.
    pub fn attach_hours(&mut self, hourly: BTreeMap<NaiveDate, Day>) -> Vec<NaiveDate> {
        let mut differing = Vec::new();
        for (date, day) in hourly {
            let Some(i) =
                usize::try_from((date - self.first).num_days()).ok().filter(|i| *i < self.days.len())
            else {
                continue;
            };
            if *self.days[i] == day {
                self.days[i] = Arc::new(day);
            } else {
                differing.push(date);
            }
        }
        differing
    }

    /// This store brought up to `now` (see the module's description): the logged changes
    /// applied, or the last `settle_days` whole days and any day holding a row inserted since
    /// (by id) read again; the days that ended since it was read are read (taken from `hourly`
    /// where it has them, removed from it); days before `keep_from` are folded into the base.
    /// Reads through `src` (one snapshot).
    pub async fn refresh(
        &self,
        src: &mut Source<'_>,
        now: DateTime<Utc>,
        keep_from: DateTime<Utc>,
        since: Since<'_>,
        hourly: &mut BTreeMap<NaiveDate, Day>,
    ) -> Result<Result<Refresh, NeedsRebuild>, sqlx::Error> {
        let tz = self.tz;
        if now < self.read_at {
            return Ok(Err(NeedsRebuild::ClockBehind));
        }
        let (settle_from, end) = self.reread_span(now, since.settle_days());
        let watermarks = read_watermarks(src).await?;
        let mut days: Vec<Arc<Day>> = self.days.clone();
        let mut base = (*self.base).clone();
        let mut changed = Vec::new();
        let mut dates: BTreeSet<NaiveDate> = BTreeSet::new();
        let mut base_dirty = false;
        // The open day takes the changes like a stored one, so it needs no read when it ends.
        let open = match since {
            Since::Log(..) => self.open.as_ref().map(|o| o.date),
            Since::Settle(_) => None,
        };
        match since {
            Since::Log(batch, _) => {
                days.extend(self.open.iter().cloned());
                let target = Target { tz, first: self.first, days: &mut days, base: &mut base };
                match apply(src, target, batch).await? {
                    Ok(applied) => changed.extend(applied),
                    Err(why) => return Ok(Err(NeedsRebuild::Log(why))),
                }
            }
            Since::Settle(_) => {
                let before = local_midnight(tz, settle_from);
                let Some(backdated) = backdated_dates(src, self.watermarks, before).await? else {
                    return Ok(Err(NeedsRebuild::TooManyBackdated));
                };
                base_dirty = backdated.iter().any(|d| *d < self.first);
                dates.extend(backdated.into_iter().filter(|d| *d >= self.first && *d < settle_from));
            }
        }
        let mut d = settle_from;
        while d < end {
            if Some(d) != open {
                dates.insert(d);
            }
            d += Duration::days(1);
        }
        // Still open: it leaves the stored days again (and is not written).
        let still_open = match open {
            Some(date) if date >= end => days.pop(),
            _ => None,
        };
        changed.retain(|d| Some(*d) != still_open.as_ref().map(|o| o.date));
        if let Some(date) = open.filter(|_| still_open.is_none()) {
            changed.push(date);
        }
        let unread: BTreeSet<NaiveDate> = dates.iter().filter(|d| !hourly.contains_key(d)).copied().collect();
        let mut read: Vec<Day> = dates.iter().filter_map(|d| hourly.remove(d)).collect();
        for (from, to) in runs(&unread) {
            read.extend(read_days(src, from, to).await?);
        }
        read.sort_by_key(|d| d.date);
        for day in read {
            let i = usize::try_from((day.date - self.first).num_days()).expect("after the first day");
            if i < days.len() {
                if *days[i] != day && !changed.contains(&day.date) {
                    changed.push(day.date);
                }
                // Replaced even when equal: its hour slots (or their absence) are the new read's.
                days[i] = Arc::new(day);
            } else {
                changed.push(day.date);
                days.push(Arc::new(day));
            }
        }
        // Days before the span the windows need leave the store; their totals join the base.
        let keep = local_date(tz, keep_from).clamp(self.first, end);
        let drop = usize::try_from((keep - self.first).num_days()).unwrap_or(0).min(days.len());
        let first = self.first + Duration::days(drop as i64);
        if base_dirty {
            base = read_base(src, first).await?;
        } else {
            for day in &days[..drop] {
                base.revenue_kobo += day.activity.revenue().total().kobo;
                base.joined |= &day.joined;
            }
        }
        days.drain(..drop);
        changed.sort();
        changed.dedup();
        changed.retain(|d| *d >= first);
        let reread = dates.len();
        let read = dates.clone();
        let capture = match since {
            Since::Log(_, mark) => Some(mark.clone()),
            Since::Settle(_) => None,
        };
        let parts = StoreParts {
            tz,
            read_at: now,
            first,
            days,
            base: Arc::new(base),
            watermarks,
            generation: self.generation,
            capture,
        };
        let mut store = DayStore::from_parts(parts).expect("refreshed days are consecutive");
        if let Some(day) = still_open {
            store.set_open(day);
        }
        Ok(Ok(Refresh { store, reread, read, changed }))
    }
}

/// Consecutive runs of `dates` (ascending) as `[from, to)` pairs.
pub(super) fn runs<'d>(dates: impl IntoIterator<Item = &'d NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &d in dates {
        match out.last_mut() {
            Some((_, to)) if *to == d => *to = d + Duration::days(1),
            _ => out.push((d, d + Duration::days(1))),
        }
    }
    out
}

/// Every fact of the whole local days `[first, end)`, one entry per date (empty days too).
pub async fn read_days(
    src: &mut Source<'_>,
    first: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<Day>, sqlx::Error> {
    let tz = src.settings().tz;
    let len = usize::try_from((end - first).num_days()).unwrap_or(0);
    let mut days: Vec<Day> = (0..len).map(|i| Day::empty(first + Duration::days(i as i64))).collect();
    if days.is_empty() {
        return Ok(days);
    }
    let span = Range::new(local_midnight(tz, first), local_midnight(tz, end));
    let index = |key: &str| -> Option<usize> {
        let date = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
        usize::try_from((date - first).num_days()).ok().filter(|i| *i < len)
    };
    for g in order_groups(src, OrderTable::P2pDeposit, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].activity.p2p.push(g);
        }
    }
    for g in order_groups(src, OrderTable::CryptoPurchase, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].activity.crypto.push(g);
        }
    }
    for g in order_groups(src, OrderTable::P2pWithdraw, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].withdrawals.push(g);
        }
    }
    for g in bonus_groups(src, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].bonuses.push(g);
        }
    }
    // Each transaction group with its users: the rows are scanned once for both. A chunk's id
    // lists become sets on a blocking thread while the next chunk's query runs.
    let mut parsing: Option<tokio::task::JoinHandle<_>> = None;
    let mut chunk_from = first;
    while chunk_from < end {
        let chunk_to = (chunk_from + Duration::days(USER_SET_CHUNK_DAYS)).min(end);
        let chunk = Range::new(local_midnight(tz, chunk_from), local_midnight(tz, chunk_to));
        let lists = tx_groups_with_id_lists(src, chunk, Bucket::Day).await?;
        if let Some(parsed) = parsing.take() {
            add_tx_groups(&mut days, &index, parsed.await.expect("parsing does not panic")?);
        }
        parsing = Some(tokio::task::spawn_blocking(move || parse_id_lists(lists)));
        chunk_from = chunk_to;
    }
    if let Some(parsed) = parsing {
        add_tx_groups(&mut days, &index, parsed.await.expect("parsing does not panic")?);
    }
    for (key, joined) in signup_sets(src, span).await? {
        if let Some(i) = index(&key) {
            days[i].joined = joined;
        }
    }
    for (key, referrer, count) in referral_counts(src, span, Bucket::Day).await? {
        if let Some(i) = index(&key) {
            days[i].referrals.push((referrer, count));
        }
    }
    for day in &mut days {
        day.normalize();
    }
    Ok(days)
}

/// The totals before `first`: lifetime revenue and the users who had joined.
async fn read_base(src: &mut Source<'_>, first: NaiveDate) -> Result<Base, sqlx::Error> {
    let start = local_midnight(src.settings().tz, first);
    let revenue_kobo = sum_revenue_before(src, &[start]).await?[0];
    let joined = joined_ids(src, start).await?;
    Ok(Base { revenue_kobo, joined })
}

/// The highest id of every table in [`WATERMARK_TABLES`], in one query.
pub async fn read_watermarks(src: &mut Source<'_>) -> Result<Watermarks, sqlx::Error> {
    let mut q = src.sql();
    let columns: Vec<String> = WATERMARK_TABLES
        .iter()
        .map(|(table, _)| format!("(SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table})"))
        .collect();
    q.push(&format!("SELECT {}", columns.join(", ")));
    let row = src.one(&q).await?;
    let mut marks = [0; 6];
    for (i, mark) in marks.iter_mut().enumerate() {
        *mark = int(&row, i)?;
    }
    Ok(Watermarks(marks))
}

/// The local dates before `before` of rows inserted since `marks` (back-dated rows); `None`
/// when there are more than a refresh should read.
async fn backdated_dates(
    src: &mut Source<'_>,
    marks: Watermarks,
    before: DateTime<Utc>,
) -> Result<Option<BTreeSet<NaiveDate>>, sqlx::Error> {
    let tz = src.settings().tz;
    let lag = match src.dialect() {
        Dialect::Postgres => COMMIT_LAG_IDS,
        Dialect::Sqlite => 0,
    };
    let mut q = src.sql();
    let mut parts = Vec::new();
    for ((table, column), mark) in WATERMARK_TABLES.iter().zip(marks.0) {
        let since = q.int(mark - lag);
        let bound = q.ts(before);
        let text = src.dialect().ts_text(column);
        // SQLite would otherwise walk the timestamp index over all history instead of the few
        // rows above the watermark.
        let time = match src.dialect() {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_string(),
        };
        parts.push(format!("SELECT {text} FROM {table} WHERE id > {since} AND {time} < {bound}"));
    }
    let limit = q.int(MAX_BACKDATED_ROWS + 1);
    q.push(&format!("SELECT * FROM ({}) b LIMIT {limit}", parts.join(" UNION ALL ")));
    let rows = src.all(&q).await?;
    if rows.len() as i64 > MAX_BACKDATED_ROWS {
        return Ok(None);
    }
    let mut dates = BTreeSet::new();
    for row in &rows {
        let at = text(row, 0)?;
        let at = parse_db_timestamp(&at)
            .ok_or_else(|| sqlx::Error::Decode(format!("unreadable timestamp {at:?}").into()))?;
        dates.insert(local_date(tz, at));
    }
    Ok(Some(dates))
}

/// Puts transaction groups with their users into the days their keys name.
fn add_tx_groups(
    days: &mut [Day],
    index: &impl Fn(&str) -> Option<usize>,
    groups: Vec<(TxGroup, RoaringBitmap)>,
) {
    for (g, users) in groups {
        if let Some(i) = index(&g.key) {
            if g.status == "success" {
                days[i].active_success |= &users;
            }
            days[i].active |= users;
            days[i].activity.tx.push(g);
        }
    }
}
