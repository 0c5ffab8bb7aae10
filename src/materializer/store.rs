//! The summary tables: migrations, run records, and the atomic write of a run's results.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::flatten::{daily, scalars, DailyValue};
use super::sync::{sync_rows, Table};
use super::{RunKind, RunStatus, RunTrigger};
use crate::db::{parse_db_timestamp, Cast, Db, Dialect, Sql};
use crate::metrics::Endpoint;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Creates or upgrades the `analytics_*` tables. Never touches platform tables.
pub async fn migrate(summary: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    match summary.dialect {
        Dialect::Postgres => POSTGRES_MIGRATIONS.run(&summary.pool).await,
        Dialect::Sqlite => SQLITE_MIGRATIONS.run(&summary.pool).await,
    }
}

/// The migrations this build knows that the summary database has not applied (`version
/// description`), so a binary upgraded without `migrate` says so instead of failing its runs
/// on a missing table. Errors when the summary tables do not exist at all.
pub async fn pending_migrations(summary: &Db) -> Result<Vec<String>, sqlx::Error> {
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&summary.pool)
        .await?;
    let known = match summary.dialect {
        Dialect::Postgres => &POSTGRES_MIGRATIONS,
        Dialect::Sqlite => &SQLITE_MIGRATIONS,
    };
    Ok(known
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect())
}

/// One endpoint × window result, ready to store and serve.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// Which common window.
    pub window_days: i64,
    /// The payload.
    pub payload: Value,
    /// The exact JSON bytes served.
    pub body: String,
    /// Strong ETag of `body`.
    pub etag: String,
    /// The run's `now`.
    pub computed_at: DateTime<Utc>,
}

impl Snapshot {
    /// Serialises `payload` once; the bytes and their ETag are what every replica serves.
    pub fn new(endpoint: Endpoint, window_days: i64, payload: Value, computed_at: DateTime<Utc>) -> Snapshot {
        let body = payload.to_string();
        let etag = etag_of(body.as_bytes());
        Snapshot { endpoint, window_days, payload, body, etag, computed_at }
    }
}

/// A strong ETag: the first 128 bits of the body's SHA-256, quoted.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Records a run as started (committed at once, so operators can watch it) and returns its id.
pub async fn insert_run(
    conn: &mut AnyConnection,
    dialect: Dialect,
    trigger: RunTrigger,
    requested_by: Option<i64>,
    windows: &[i64],
    instance: &str,
    started_at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let values = [
        q.text(trigger.as_str()),
        requested_by.map_or("NULL".to_string(), |id| q.int(id)),
        q.ts(started_at),
        q.text(windows.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
        q.text(instance),
    ];
    let running = q.text(RunStatus::Running.as_str());
    q.push(&format!(
        "INSERT INTO analytics_run (trigger, requested_by, status, started_at, windows, instance) \
         VALUES ({}, {}, {running}, {}, {}, {}) RETURNING id",
        values[0], values[1], values[2], values[3], values[4]
    ));
    q.fetch_one(conn).await?.try_get::<i64, _>(0)
}

/// Marks runs still `running` as failed. Called by the lease holder before it starts: only the
/// holder runs, so any other `running` row belongs to an instance that died mid-run.
pub async fn abandon_unfinished_runs(conn: &mut AnyConnection, dialect: Dialect) -> Result<u64, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let at = q.ts(Utc::now());
    let why = q.text("abandoned: its instance stopped before the run finished (nothing was stored)");
    let (failed, running) = (q.text(RunStatus::Failed.as_str()), q.text(RunStatus::Running.as_str()));
    q.push(&format!(
        "UPDATE analytics_run SET status = {failed}, finished_at = {at}, error = {why} WHERE status = {running}"
    ));
    Ok(q.execute(conn).await?.rows_affected())
}

/// Marks this instance's `running` run failed with `error` (shutdown cut it short); returns
/// its id, if there was one.
pub async fn cancel_running(
    conn: &mut AnyConnection,
    dialect: Dialect,
    instance: &str,
    error: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let me = q.text(instance);
    let running = q.text(RunStatus::Running.as_str());
    q.push(&format!("SELECT id FROM analytics_run WHERE status = {running} AND instance = {me}"));
    let id = q.fetch_all(&mut *conn).await?.first().map(|row| row.try_get::<i64, _>(0)).transpose()?;
    let mut q = Sql::new(dialect);
    let at = q.ts(Utc::now());
    let why = q.text(error);
    let me = q.text(instance);
    let (failed, running) = (q.text(RunStatus::Failed.as_str()), q.text(RunStatus::Running.as_str()));
    q.push(&format!(
        "UPDATE analytics_run SET status = {failed}, finished_at = {at}, error = {why}, \
         duration_ms = NULL WHERE status = {running} AND instance = {me}"
    ));
    q.execute(conn).await?;
    Ok(id)
}

/// What a successful run did, as its row records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunWork {
    /// Refresh or rebuild of the stored days.
    pub kind: RunKind,
    /// Whole days read from the platform.
    pub days_reread: usize,
    /// How far the platform read lay behind the wall clock (a standby's replay lag), in ms.
    pub platform_lag_ms: i64,
    /// Change capture as the run found it: `installed`, `absent` or `incomplete`.
    pub capture: &'static str,
    /// Changed rows applied from the change log (none when it rebuilt or ran without capture).
    pub changes_applied: Option<usize>,
    /// How many differences the drift checks found, and what they were (none when it rebuilt).
    pub drift: Option<(usize, String)>,
}

/// Records how many rows the change log held after run `run_id` pruned it.
pub async fn record_log_rows(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    rows: i64,
) -> Result<(), sqlx::Error> {
    let mut q = Sql::new(dialect);
    let (rows, id) = (q.int(rows), q.int(run_id));
    q.push(&format!("UPDATE analytics_run SET capture_log_rows = {rows} WHERE id = {id}"));
    q.execute(conn).await?;
    Ok(())
}

/// Marks a run finished, `failed` with its error or `succeeded` with what it did (`work`).
pub async fn finish_run(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    started_at: DateTime<Utc>,
    error: Option<&str>,
    work: Option<RunWork>,
) -> Result<(), sqlx::Error> {
    let finished = Utc::now();
    let mut q = Sql::new(dialect);
    let status = q.text(if error.is_some() { RunStatus::Failed } else { RunStatus::Succeeded }.as_str());
    let at = q.ts(finished);
    let ms = q.int((finished - started_at).num_milliseconds().max(0));
    let err = error.map_or("NULL".to_string(), |e| q.text(e));
    let null = || "NULL".to_string();
    let count = |q: &mut Sql, n: usize| q.int(i64::try_from(n).unwrap_or(i64::MAX));
    let (kind, reread, lag, capture, applied, findings, drift) = match &work {
        Some(w) => (
            q.text(w.kind.as_str()),
            count(&mut q, w.days_reread),
            q.int(w.platform_lag_ms),
            q.text(w.capture),
            w.changes_applied.map_or_else(null, |n| count(&mut q, n)),
            w.drift.as_ref().map_or_else(null, |(n, _)| count(&mut q, *n)),
            w.drift.as_ref().filter(|(n, _)| *n > 0).map_or_else(null, |(_, d)| q.text(d.clone())),
        ),
        None => (null(), null(), null(), null(), null(), null(), null()),
    };
    let id = q.int(run_id);
    q.push(&format!(
        "UPDATE analytics_run SET status = {status}, finished_at = {at}, duration_ms = {ms}, error = {err}, \
         kind = {kind}, days_reread = {reread}, platform_lag_ms = {lag}, capture = {capture}, \
         changes_applied = {applied}, drift_findings = {findings}, drift = {drift} WHERE id = {id}"
    ));
    q.execute(conn).await?;
    Ok(())
}

/// Writes a run's snapshots, flattened metrics and (when `daily_from` names the largest
/// window) daily series, replacing what earlier runs stored for the same windows. The caller
/// wraps this in the transaction that also marks the run succeeded.
pub async fn write_results(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    snapshots: &[Snapshot],
    daily_from: Option<i64>,
    fail_after: Option<usize>,
) -> Result<(), WriteError> {
    let windows: Vec<i64> = {
        let mut w: Vec<i64> = snapshots.iter().map(|s| s.window_days).collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    for table in ["analytics_snapshot", "analytics_metric"] {
        let mut q = Sql::new(dialect);
        let list: Vec<String> = windows.iter().map(|w| q.int(*w)).collect();
        q.push(&format!("DELETE FROM {table} WHERE window_days IN ({})", list.join(", ")));
        q.execute(conn).await?;
    }
    for (i, snap) in snapshots.iter().enumerate() {
        if fail_after == Some(i) {
            return Err(WriteError::Injected(i));
        }
        let mut q = Sql::new(dialect);
        let endpoint = q.text(snap.endpoint.path());
        let window = q.int(snap.window_days);
        let payload = q.text(snap.body.clone());
        let payload = match dialect {
            Dialect::Postgres => format!("CAST({payload} AS JSONB)"),
            Dialect::Sqlite => payload,
        };
        let body = q.text(snap.body.clone());
        let etag = q.text(snap.etag.clone());
        let at = q.ts(snap.computed_at);
        let run = q.int(run_id);
        q.push(&format!(
            "INSERT INTO analytics_snapshot (endpoint, window_days, payload, body, etag, computed_at, run_id) \
             VALUES ({endpoint}, {window}, {payload}, {body}, {etag}, {at}, {run})"
        ));
        q.execute(conn).await?;
    }
    // Every snapshot of a run is computed at the run's one `now`.
    let computed_at = snapshots.first().map(|s| s.computed_at);
    if let Some(computed_at) = computed_at {
        let rows: Vec<Value> = snapshots
            .iter()
            .flat_map(|s| {
                scalars(s.endpoint, &s.payload)
                    .into_iter()
                    .map(|(metric, value)| serde_json::json!([s.window_days, metric, value]))
            })
            .collect();
        let mut q = Sql::new(dialect);
        let rows = q.json_rows(rows.into(), &[Cast::Int, Cast::Text, Cast::Numeric]);
        let (at, run) = (q.ts(computed_at), q.int(run_id));
        q.push(&format!(
            "INSERT INTO analytics_metric (window_days, metric, value, computed_at, run_id) \
             SELECT c0, c1, c2, {at}, {run} FROM {rows}"
        ));
        q.execute(conn).await?;
    }
    if let Some(largest) = daily_from {
        let series: Vec<DailyValue> = snapshots
            .iter()
            .filter(|s| s.window_days == largest)
            .flat_map(|s| daily(s.endpoint, &s.payload))
            .collect();
        write_daily(conn, dialect, run_id, computed_at, series).await?;
    }
    Ok(())
}

/// The daily series of the largest window, one row per day, metric and dimension.
const DAILY_METRIC: Table<'static> = Table {
    name: "analytics_daily_metric",
    columns: &[
        ("day", Cast::Date),
        ("metric", Cast::Text),
        ("dimension", Cast::Text),
        ("value", Cast::Numeric),
    ],
    key: 3,
};

/// Brings `analytics_daily_metric` to `series`, writing only what differs (see [`sync_rows`]).
async fn write_daily(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    computed_at: Option<DateTime<Utc>>,
    series: Vec<DailyValue>,
) -> Result<(), sqlx::Error> {
    // No snapshot, no run `now`, nothing to write.
    let Some(computed_at) = computed_at else { return Ok(()) };
    let rows =
        series.into_iter().map(|d| vec![d.day.into(), d.metric.into(), d.dimension.into(), d.value.into()]);
    sync_rows(conn, dialect, &DAILY_METRIC, rows.collect(), run_id, computed_at).await.map(|_| ())
}

/// Why a run's results were not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The summary database failed.
    #[error("summary database error")]
    Database(#[from] sqlx::Error),
    /// A test asked the write to fail after this many snapshots.
    #[error("injected failure after {0} snapshot writes")]
    Injected(usize),
    /// The stored days are no longer those the run refreshed: its differences cannot be
    /// written over them.
    #[error("{0}")]
    Moved(String),
}

/// A stored snapshot as read back for serving or verification.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSnapshot {
    /// Route of the endpoint.
    pub endpoint: String,
    /// Window in days.
    pub window_days: i64,
    /// The exact JSON served.
    pub body: String,
    /// Its ETag.
    pub etag: String,
    /// The run's `now`.
    pub computed_at: DateTime<Utc>,
    /// The run that wrote it.
    pub run_id: i64,
}

/// Every stored snapshot.
pub async fn load_snapshots(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<Vec<StoredSnapshot>, sqlx::Error> {
    let mut q = Sql::new(dialect);
    q.push(&format!(
        "SELECT endpoint, CAST(window_days AS BIGINT), body, etag, {}, run_id FROM analytics_snapshot ORDER BY endpoint, window_days",
        dialect.ts_text("computed_at")
    ));
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            let at: String = row.try_get(4)?;
            Ok(StoredSnapshot {
                endpoint: row.try_get(0)?,
                window_days: row.try_get(1)?,
                body: row.try_get(2)?,
                etag: row.try_get(3)?,
                computed_at: parse_db_timestamp(&at)
                    .ok_or_else(|| sqlx::Error::Decode(format!("unreadable computed_at {at:?}").into()))?,
                run_id: row.try_get(5)?,
            })
        })
        .collect()
}

/// One row of `analytics_run` as operators see it (`admin/runs/`, `admin/status/`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RunRecord {
    /// Run id, increasing.
    pub id: i64,
    /// Why it ran.
    pub trigger: RunTrigger,
    /// The staff user who asked, for admin-triggered runs.
    pub requested_by: Option<i64>,
    /// Where it stands.
    pub status: RunStatus,
    /// RFC 3339 UTC with microseconds.
    pub started_at: Option<String>,
    /// RFC 3339 UTC with microseconds; null while running.
    pub finished_at: Option<String>,
    /// Wall time; null while running or when cut short.
    pub duration_ms: Option<i64>,
    /// The common windows it computed, in days.
    pub windows: Vec<i64>,
    /// Why it failed (`abandoned:` and `cancelled:` prefixes for runs cut short).
    pub error: Option<String>,
    /// Refresh or rebuild of the stored days; null until it knows.
    pub kind: Option<RunKind>,
    /// Days it re-read from the platform.
    pub days_reread: Option<i64>,
    /// How far behind the wall clock the platform data it read was, in ms: 0 on a primary or a
    /// caught-up standby; on a standby behind, the run's windows end at its last replayed
    /// commit. Null until the run succeeds.
    pub platform_lag_ms: Option<i64>,
    /// Change capture as the run found it on the platform: `installed`, `absent` (runs re-read
    /// the settle window) or `incomplete` (a trigger is missing: not trusted). Null until the
    /// run succeeds.
    pub capture: Option<String>,
    /// Changed rows it applied from the change log; null when it rebuilt or ran without capture.
    pub changes_applied: Option<i64>,
    /// Rows left in the change log after the run (counted up to a million); null without capture.
    pub capture_log_rows: Option<i64>,
    /// How many differences its drift checks found between the stored days and the platform
    /// (days found were read again); null when it rebuilt.
    pub drift_findings: Option<i64>,
    /// What they were, one per line.
    pub drift: Option<String>,
}

/// Which runs [`list_runs`] returns, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFilter {
    /// The newest `n`.
    Newest(i64),
    /// The one with this id.
    Id(i64),
    /// The newest failed run.
    LastFailed,
    /// The newest run an operator triggered.
    LastAdmin,
    /// The newest run that rebuilt every stored day and succeeded.
    LastFullRebuild,
    /// The newest run that succeeded.
    LastSucceeded,
}

/// Reads runs from `analytics_run`, newest first.
pub async fn list_runs(db: &Db, filter: RunFilter) -> Result<Vec<RunRecord>, sqlx::Error> {
    let mut q = Sql::new(db.dialect);
    let ts = |col: &str| db.dialect.ts_text(col);
    let condition = match filter {
        RunFilter::Newest(_) => String::new(),
        RunFilter::Id(id) => format!("WHERE id = {}", q.int(id)),
        RunFilter::LastFailed => format!("WHERE status = {}", q.text(RunStatus::Failed.as_str())),
        RunFilter::LastAdmin => format!("WHERE trigger = {}", q.text(RunTrigger::Admin.as_str())),
        RunFilter::LastFullRebuild => format!(
            "WHERE kind = {} AND status = {}",
            q.text(RunKind::Full.as_str()),
            q.text(RunStatus::Succeeded.as_str())
        ),
        RunFilter::LastSucceeded => format!("WHERE status = {}", q.text(RunStatus::Succeeded.as_str())),
    };
    let limit = match filter {
        RunFilter::Newest(n) => q.int(n),
        _ => q.int(1),
    };
    q.push(&format!(
        "SELECT id, trigger, requested_by, status, {}, {}, duration_ms, windows, error, kind, \
         CAST(days_reread AS BIGINT), CAST(platform_lag_ms AS BIGINT), capture, CAST(changes_applied AS BIGINT), \
         CAST(capture_log_rows AS BIGINT), CAST(drift_findings AS BIGINT), drift \
         FROM analytics_run {condition} ORDER BY id DESC LIMIT {limit}",
        ts("started_at"),
        ts("finished_at"),
    ));
    let mut conn = db.pool.acquire().await?;
    q.fetch_all(&mut conn).await?.iter().map(run_record).collect()
}

fn run_record(row: &sqlx::any::AnyRow) -> Result<RunRecord, sqlx::Error> {
    let at = |i: usize| -> Result<Option<String>, sqlx::Error> {
        let text: Option<String> = row.try_get(i)?;
        Ok(text.as_deref().and_then(parse_db_timestamp).map(crate::time::rfc3339_micros))
    };
    // A value this version does not know (a newer version wrote it) is an error, not a guess.
    fn known<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, sqlx::Error> {
        value.parse().map_err(|_| sqlx::Error::Decode(format!("analytics_run.{column} = {value:?}").into()))
    }
    let windows: String = row.try_get(7)?;
    Ok(RunRecord {
        id: row.try_get(0)?,
        trigger: known("trigger", &row.try_get::<String, _>(1)?)?,
        requested_by: row.try_get(2)?,
        status: known("status", &row.try_get::<String, _>(3)?)?,
        started_at: at(4)?,
        finished_at: at(5)?,
        duration_ms: row.try_get(6)?,
        windows: windows.split(',').filter_map(|w| w.parse::<i64>().ok()).collect(),
        error: row.try_get(8)?,
        kind: row.try_get::<Option<String>, _>(9)?.map(|k| known("kind", &k)).transpose()?,
        days_reread: row.try_get(10)?,
        platform_lag_ms: row.try_get(11)?,
        capture: row.try_get(12)?,
        changes_applied: row.try_get(13)?,
        capture_log_rows: row.try_get(14)?,
        drift_findings: row.try_get(15)?,
        drift: row.try_get(16)?,
    })
}
