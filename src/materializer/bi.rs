//! The BI relations every run keeps current, in the transaction that writes its snapshots:
//! `analytics_daily` (a typed row per local day, today included), `analytics_period_users`
//! (exact distinct users per week and month) and `analytics_metric_history` (every window's
//! scalars as they stood at each run).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use sqlx::AnyConnection;

use super::sync::{sync_rows, Table};
use crate::db::{Cast, Dialect, Sql};
use crate::metrics::bi::{daily_row, period_rows, period_users, Row};
use crate::metrics::days::Day;
use crate::metrics::DayStore;
use crate::time::local_date;

/// How long `analytics_metric_history` keeps every run's values; after that, the last run of
/// each local day stands for it (a five-minute schedule would otherwise add ~200,000 rows a
/// day).
pub const EVERY_RUN_DAYS: i64 = 7;

/// The rows of the daily and period relations, computed from a run's days before its write
/// transaction opens.
pub struct BiRows {
    daily: Vec<Row>,
    periods: Vec<Row>,
}

impl BiRows {
    /// The rows for `store`'s days plus `today` (the current local day so far): every stored
    /// day is complete, today is not.
    pub fn of(store: &DayStore, today: &Day) -> BiRows {
        let mut days: Vec<&Day> =
            store.days().iter().map(|d| d.as_ref()).filter(|d| d.date < today.date).collect();
        let mut daily: Vec<Row> = days.iter().map(|d| daily_row(d, true)).collect();
        daily.push(daily_row(today, false));
        days.push(today);
        let periods = period_rows(&period_users(&days, today.date));
        BiRows { daily, periods }
    }
}

/// What [`write`] changed, for the run's log line.
#[derive(Debug, Default)]
pub struct BiWritten {
    /// Rows of `analytics_daily` written or deleted.
    pub daily: usize,
    /// Rows of `analytics_period_users` written or deleted.
    pub periods: usize,
}

/// Writes the daily and period rows (only those that differ) and the run's history, and prunes
/// the history: rows older than [`EVERY_RUN_DAYS`] are thinned to each day's last run, rows
/// older than `history_days` deleted (all of them when it is 0). Expects the run's
/// `analytics_metric` rows to be written already in the same transaction.
pub async fn write(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    computed_at: DateTime<Utc>,
    rows: BiRows,
    tz: Tz,
    history_days: u32,
) -> Result<BiWritten, sqlx::Error> {
    let columns = columns_of(&rows.daily);
    let table = Table { name: "analytics_daily", columns: &columns, key: 1 };
    let daily = sync_rows(conn, dialect, &table, values(rows.daily), run_id, computed_at).await?;
    let columns = columns_of(&rows.periods);
    let table = Table { name: "analytics_period_users", columns: &columns, key: 2 };
    let periods = sync_rows(conn, dialect, &table, values(rows.periods), run_id, computed_at).await?;
    record_history(conn, dialect, run_id, computed_at, tz, history_days).await?;
    Ok(BiWritten { daily, periods })
}

/// The columns of `rows` (every row has the same).
fn columns_of(rows: &[Row]) -> Vec<(&'static str, Cast)> {
    rows.first().map(|r| r.iter().map(|(c, t, _)| (*c, *t)).collect()).unwrap_or_default()
}

fn values(rows: Vec<Row>) -> Vec<Vec<Value>> {
    rows.into_iter().map(|r| r.into_iter().map(|(_, _, v)| v).collect()).collect()
}

/// Copies the run's `analytics_metric` rows into the history, then thins and prunes it.
async fn record_history(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    computed_at: DateTime<Utc>,
    tz: Tz,
    history_days: u32,
) -> Result<(), sqlx::Error> {
    let today = local_date(tz, computed_at);
    if history_days > 0 {
        let mut q = Sql::new(dialect);
        let (run, day) = (q.int(run_id), q.date(today));
        q.push(&format!(
            "INSERT INTO analytics_metric_history (run_id, computed_at, day, resolution, window_days, metric, value) \
             SELECT run_id, computed_at, {day}, 'run', window_days, metric, value FROM analytics_metric WHERE run_id = {run}"
        ));
        q.execute(conn).await?;
    }
    // Whole days only, once each: a day before the horizon gets no more runs.
    let horizon = today - Duration::days(EVERY_RUN_DAYS);
    let mut q = Sql::new(dialect);
    let (h1, h2) = (q.date(horizon), q.date(horizon));
    q.push(&format!(
        "DELETE FROM analytics_metric_history WHERE resolution = 'run' AND day < {h1} AND run_id NOT IN \
         (SELECT MAX(run_id) FROM analytics_metric_history WHERE resolution = 'run' AND day < {h2} GROUP BY day)"
    ));
    q.execute(conn).await?;
    let mut q = Sql::new(dialect);
    let h = q.date(horizon);
    q.push(&format!(
        "UPDATE analytics_metric_history SET resolution = 'day' WHERE resolution = 'run' AND day < {h}"
    ));
    q.execute(conn).await?;
    let mut q = Sql::new(dialect);
    let cut = q.date(keep_from(today, history_days));
    q.push(&format!(
        "DELETE FROM analytics_metric_history WHERE resolution IN ('run', 'day') AND day < {cut}"
    ));
    q.execute(conn).await.map(|_| ())
}

/// The first local day the history keeps: `history_days` days back, today included (none
/// when it is 0).
fn keep_from(today: NaiveDate, history_days: u32) -> NaiveDate {
    today + Duration::days(1) - Duration::days(i64::from(history_days))
}
