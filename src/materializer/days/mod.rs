//! The day store in the summary database: one row per day and group in plain columns (what a
//! BI tool sums over any range), the day's user sets as serialized roaring bitmaps, and one
//! row saying which days are stored, for which zone, and how far the platform was read.
//!
//! Every row carries the run that last wrote it, and a day's `analytics_day_users` row the run
//! that last changed anything of that day, so an instance that holds the days of an earlier
//! run loads only the days changed since, not the whole store.

mod diff;
mod save;
mod write;

pub use save::save;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::capture::Cursor;
use crate::db::{parse_db_timestamp, Db, Dialect, Sql};
use crate::metrics::days::{
    Base, CaptureMark, Day, DaySlot, DayStore, StoreParts, Watermarks, STORE_VERSION,
};
use crate::metrics::rows::{BonusGroup, OrderGroup, TxGroup};

/// The one row of `analytics_day_store`.
const STORE_ROW: &str = "days";

/// What `analytics_day_store` says about the stored days.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreMeta {
    /// Layout version ([`STORE_VERSION`] when readable).
    pub version: i64,
    /// IANA zone the days are cut in.
    pub time_zone: String,
    /// First stored date.
    pub first: NaiveDate,
    /// Date after the last stored one.
    pub end: NaiveDate,
    /// The run's `now` when the days were read.
    pub read_at: DateTime<Utc>,
    /// The run of the last full rebuild.
    pub generation: i64,
    /// The run that wrote the store last.
    pub run_id: i64,
}

/// Why stored days could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The summary database failed.
    #[error("summary database error")]
    Database(#[from] sqlx::Error),
    /// A stored value is not what this version writes.
    #[error("stored days are unreadable: {0}")]
    Corrupt(String),
}

/// Which days a run rewrites.
#[derive(Clone, Debug)]
pub enum Changes {
    /// Every day (a full rebuild): the stored days are replaced.
    All,
    /// These dates, written as their differences from `prior` (the stored days of run
    /// `prior_run`, which the refresh started from); days before the store's first date
    /// removed, and the base rewritten.
    Days {
        /// The dates whose facts changed or are new.
        dates: Vec<NaiveDate>,
        /// The run whose stored days were refreshed.
        prior_run: i64,
        /// Those days.
        prior: Arc<DayStore>,
    },
}

impl Changes {
    /// How many days are written.
    pub fn days_written(&self, store: &DayStore) -> usize {
        match self {
            Changes::All => store.len(),
            Changes::Days { dates, .. } => dates.len(),
        }
    }
}

/// The stored days' description, if any are stored.
pub async fn load_meta(conn: &mut AnyConnection, dialect: Dialect) -> Result<Option<StoreMeta>, LoadError> {
    let mut q = Sql::new(dialect);
    let name = q.text(STORE_ROW);
    q.push(&format!(
        "SELECT CAST(version AS BIGINT), time_zone, CAST(first_day AS TEXT), CAST(end_day AS TEXT), {}, \
         generation, run_id FROM analytics_day_store WHERE name = {name}",
        dialect.ts_text("read_at")
    ));
    let Some(row) = q.fetch_all(conn).await?.into_iter().next() else { return Ok(None) };
    Ok(Some(StoreMeta {
        version: row.try_get(0)?,
        time_zone: row.try_get(1)?,
        first: date(&row.try_get::<String, _>(2)?)?,
        end: date(&row.try_get::<String, _>(3)?)?,
        read_at: {
            let at: String = row.try_get(4)?;
            parse_db_timestamp(&at).ok_or_else(|| LoadError::Corrupt(format!("read_at {at:?}")))?
        },
        generation: row.try_get(5)?,
        run_id: row.try_get(6)?,
    }))
}

/// The stored days for zone `tz` with their description: `slot`'s own copy when the summary
/// database holds that run's days, else loaded — only the days rewritten after the slot's run
/// when its copy is of the same generation, the rest taken from it. `None` when nothing usable
/// is stored (nothing yet, or another zone or store version).
///
/// Call inside one read transaction so the row and the days belong to the same run.
pub async fn current_store(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tz: Tz,
    slot: &DaySlot,
) -> Result<Option<(StoreMeta, Arc<DayStore>)>, LoadError> {
    let Some(meta) = load_meta(conn, dialect).await? else { return Ok(None) };
    if meta.version != STORE_VERSION || meta.time_zone != tz.name() {
        return Ok(None);
    }
    let mine = slot.current();
    if let Some((run, store)) = &mine {
        if *run == meta.run_id && store.generation() == meta.generation {
            return Ok(Some((meta, store.clone())));
        }
    }
    let prior = mine
        .as_ref()
        .map(|(run, store)| (*run, store.as_ref()))
        .filter(|(run, store)| store.generation() == meta.generation && *run <= meta.run_id);
    let since = prior.map_or(0, |(run, _)| run);
    let mut loaded = load_days(conn, dialect, since).await?;
    let mut days = Vec::new();
    let mut date = meta.first;
    while date < meta.end {
        let day = match (loaded.remove(&date), prior.and_then(|(_, p)| p.day(date))) {
            (Some(day), _) => Arc::new(day),
            (None, Some(kept)) => kept.clone(),
            (None, None) => return Err(LoadError::Corrupt(format!("day {date} is missing"))),
        };
        days.push(day);
        date += chrono::Duration::days(1);
    }
    let (base, watermarks, capture) = load_base(conn, dialect).await?;
    let parts = StoreParts {
        tz,
        read_at: meta.read_at,
        first: meta.first,
        days,
        base: Arc::new(base),
        watermarks,
        generation: meta.generation,
        capture,
    };
    let store = DayStore::from_parts(parts).map_err(|e| LoadError::Corrupt(e.to_string()))?;
    Ok(Some((meta, Arc::new(store))))
}

/// Where the stored days stand in the platform's change log (`None` when nothing is stored or
/// the days were read without capture).
pub async fn load_capture_mark(summary: &Db) -> Result<Option<CaptureMark>, LoadError> {
    let mut conn = summary.pool.acquire().await?;
    if load_meta(&mut conn, summary.dialect).await?.is_none() {
        return Ok(None);
    }
    Ok(load_base(&mut conn, summary.dialect).await?.2)
}

/// The totals before the first day, the watermarks and the change-log position, from the
/// store row.
async fn load_base(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<(Base, Watermarks, Option<CaptureMark>), LoadError> {
    let mut q = Sql::new(dialect);
    let name = q.text(STORE_ROW);
    q.push(&format!(
        "SELECT revenue_before_kobo, users_before_set, transaction_id_max, deposit_order_id_max, \
         withdraw_order_id_max, crypto_purchase_id_max, bonus_id_max, user_id_max, capture_epoch, \
         capture_cursor FROM analytics_day_store WHERE name = {name}"
    ));
    let row = q.fetch_one(conn).await?;
    let mut marks = [0; 6];
    for (i, mark) in marks.iter_mut().enumerate() {
        *mark = row.try_get(2 + i)?;
    }
    let capture = match (row.try_get::<Option<String>, _>(8)?, row.try_get::<Option<String>, _>(9)?) {
        (Some(epoch), Some(cursor)) => {
            // The platform's kind decides the cursor's form; a cursor of the other form (the
            // platform database was replaced) is simply not continued.
            let cursor =
                Cursor::parse(Dialect::Postgres, &cursor).or_else(|| Cursor::parse(Dialect::Sqlite, &cursor));
            cursor.map(|cursor| CaptureMark { epoch, cursor })
        }
        _ => None,
    };
    Ok((Base { revenue_kobo: row.try_get(0)?, joined: set(&row, 1)? }, Watermarks(marks), capture))
}

/// The days changed after run `since` (every day when 0), by date: those whose users row a
/// later run stamped, with all of their rows (a refresh rewrites only the rows that changed).
async fn load_days(
    conn: &mut AnyConnection,
    dialect: Dialect,
    since: i64,
) -> Result<BTreeMap<NaiveDate, Day>, LoadError> {
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let select = |columns: &str, table: &str| {
        let mut q = Sql::new(dialect);
        let since = q.int(since);
        let which = if table == "analytics_day_users" {
            format!("run_id > {since}")
        } else {
            format!("day IN (SELECT day FROM analytics_day_users WHERE run_id > {since})")
        };
        q.push(&format!("SELECT CAST(day AS TEXT), {columns} FROM {table} WHERE {which}"));
        q
    };
    let corrupt = |e: LoadError| sqlx::Error::Decode(e.to_string().into());
    let q = select("active_set, success_set, signup_set", "analytics_day_users");
    q.for_each_row(conn, |row| {
        let d = date(&row.try_get::<String, _>(0)?).map_err(corrupt)?;
        let day = days.entry(d).or_insert_with(|| Day::empty(d));
        day.active = set(&row, 1).map_err(corrupt)?;
        day.active_success = set(&row, 2).map_err(corrupt)?;
        day.joined = set(&row, 3).map_err(corrupt)?;
        Ok(())
    })
    .await?;
    let q = select(
        "category, tx_type, status, CAST(CASE WHEN is_p2p THEN 1 ELSE 0 END AS BIGINT), tx_count, amount_kobo",
        "analytics_day_transaction",
    );
    for row in q.fetch_all(conn).await? {
        let d = date(&row.try_get::<String, _>(0)?)?;
        let key = row.try_get::<String, _>(0)?;
        let p2p: i64 = row.try_get(4)?;
        day_of(&mut days, d)?.activity.tx.push(TxGroup {
            key,
            category: row.try_get(1)?,
            tx_type: row.try_get(2)?,
            status: row.try_get(3)?,
            p2p: p2p == 1,
            count: row.try_get(5)?,
            kobo: row.try_get(6)?,
        });
    }
    let q = select("kind, status, network, order_count, total_kobo", "analytics_day_order");
    for row in q.fetch_all(conn).await? {
        let d = date(&row.try_get::<String, _>(0)?)?;
        let group = OrderGroup {
            key: row.try_get(0)?,
            status: row.try_get(2)?,
            network: row.try_get(3)?,
            count: row.try_get(4)?,
            kobo: row.try_get(5)?,
        };
        let day = day_of(&mut days, d)?;
        match row.try_get::<String, _>(1)?.as_str() {
            "p2p_deposit" => day.activity.p2p.push(group),
            "crypto_purchase" => day.activity.crypto.push(group),
            "p2p_withdraw" => day.withdrawals.push(group),
            other => return Err(LoadError::Corrupt(format!("order kind {other:?}"))),
        }
    }
    let q = select("status, bonus_count, amount_kobo", "analytics_day_bonus");
    for row in q.fetch_all(conn).await? {
        let d = date(&row.try_get::<String, _>(0)?)?;
        day_of(&mut days, d)?.bonuses.push(BonusGroup {
            key: row.try_get(0)?,
            status: row.try_get(1)?,
            count: row.try_get(2)?,
            kobo: row.try_get(3)?,
        });
    }
    let q = select("referrer_id, referrals", "analytics_day_referral");
    for row in q.fetch_all(conn).await? {
        let d = date(&row.try_get::<String, _>(0)?)?;
        day_of(&mut days, d)?.referrals.push((row.try_get(1)?, row.try_get(2)?));
    }
    for day in days.values_mut() {
        day.normalize();
    }
    Ok(days)
}

/// The loaded day of a group row; every stored day has a users row, so a group without one
/// means the tables were edited by hand.
fn day_of(days: &mut BTreeMap<NaiveDate, Day>, d: NaiveDate) -> Result<&mut Day, LoadError> {
    days.get_mut(&d).ok_or_else(|| LoadError::Corrupt(format!("groups of day {d} without its users row")))
}

fn date(text: &str) -> Result<NaiveDate, LoadError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| LoadError::Corrupt(format!("day {text:?}")))
}

fn set(row: &AnyRow, i: usize) -> Result<RoaringBitmap, LoadError> {
    let bytes: Vec<u8> = row.try_get(i)?;
    RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| LoadError::Corrupt(format!("user set: {e}")))
}

pub(super) fn serialize(set: &RoaringBitmap) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// Begins the read transaction stored days are loaded in: one snapshot, so the store row, the
/// day rows and the base all belong to one run even when another run commits mid-load (on
/// PostgreSQL `REPEATABLE READ`; a SQLite read transaction is one snapshot already in WAL mode,
/// and in rollback-journal mode a writer waits for it).
pub async fn begin_snapshot(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
    dialect: Dialect,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    crate::db::limit_read(&mut tx, dialect, crate::db::ReadScope::Snapshot, None).await?;
    Ok(tx)
}

/// Brings `slot` up to the days the summary database holds, loading only what was rewritten
/// since the slot's run when it can; returns the run the slot now holds (`None` when nothing
/// usable is stored). What API instances do when a run they did not run has landed.
pub async fn load_into(slot: &DaySlot, summary: &Db, tz: Tz) -> Result<Option<i64>, LoadError> {
    let mut conn = summary.pool.acquire().await?;
    let mut tx = begin_snapshot(&mut conn, summary.dialect).await?;
    let Some((meta, store)) = current_store(&mut tx, summary.dialect, tz, slot).await? else {
        return Ok(None);
    };
    tx.rollback().await?;
    slot.publish(meta.run_id, store);
    Ok(Some(meta.run_id))
}
