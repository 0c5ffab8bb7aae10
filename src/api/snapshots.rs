//! The in-memory copy of the latest run's snapshots, as ready-to-send bytes, refreshed from the
//! summary database when a newer run lands. A snapshot answer costs no database round trip,
//! no serialisation and no compression.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::response::{Prepared, Source};
use crate::db::{Db, Sql};
use crate::materializer::store::{list_runs, load_snapshots, RunFilter, RunRecord};
use crate::metrics::Endpoint;

/// One loaded snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The answer.
    pub prepared: Prepared,
    /// The run's `now`.
    pub computed_at: DateTime<Utc>,
    /// The run id.
    pub run_id: i64,
}

/// Loaded snapshots by (endpoint, window days).
pub type SnapshotMap = HashMap<(Endpoint, i64), Arc<Loaded>>;

/// The latest snapshots by (endpoint, window days).
///
/// Every snapshot answer reads the map, so it sits behind an atomic pointer swap: a reader
/// takes no lock and a reload never waits for readers.
#[derive(Default)]
pub struct SnapshotCache {
    current: ArcSwap<SnapshotMap>,
    newest_run: RwLock<Option<i64>>,
    last_full_rebuild: RwLock<Option<DateTime<Utc>>>,
    newest_success: RwLock<Option<RunRecord>>,
}

impl SnapshotCache {
    /// The snapshot for `endpoint` over `days`, if one is loaded.
    pub fn get(&self, endpoint: Endpoint, days: i64) -> Option<Arc<Loaded>> {
        self.current.load().get(&(endpoint, days)).cloned()
    }

    /// Every loaded snapshot.
    pub fn all(&self) -> Arc<SnapshotMap> {
        self.current.load_full()
    }

    /// The run the loaded snapshots come from (the newest, should a run have written only
    /// some windows); 0 when nothing is loaded.
    pub fn run_id(&self) -> i64 {
        self.current.load().values().map(|l| l.run_id).max().unwrap_or(0)
    }

    /// When the newest successful full rebuild of the stored days finished, on any instance
    /// (read with the snapshots, so `/metrics` can say it without a query).
    pub fn last_full_rebuild(&self) -> Option<DateTime<Utc>> {
        *self.last_full_rebuild.read().expect("not poisoned")
    }

    /// How far behind the wall clock the platform data of the newest successful run was, in
    /// ms (a hot standby's replay lag; 0 on a primary), read with the snapshots like
    /// [`Self::last_full_rebuild`].
    pub fn platform_lag_ms(&self) -> Option<i64> {
        self.newest_success().and_then(|r| r.platform_lag_ms)
    }

    /// The newest successful run (any instance), read with the snapshots: its capture mode,
    /// change-log size and drift findings are what `admin/status/` and `/metrics` report.
    pub fn newest_success(&self) -> Option<RunRecord> {
        self.newest_success.read().expect("not poisoned").clone()
    }

    /// Whether anything is loaded.
    pub fn is_empty(&self) -> bool {
        self.current.load().is_empty()
    }

    /// Reloads when the summary database holds a newer run than the one in memory; returns
    /// whether anything changed. Only `windows` (the configured common windows) are loaded: a
    /// window taken out of `ANALYTICS_WINDOWS` keeps its old rows in the summary database,
    /// which no run refreshes any more, so serving them would serve ever older numbers.
    pub async fn refresh(&self, summary: &Db, windows: &[i64]) -> Result<bool, sqlx::Error> {
        let mut conn = summary.pool.acquire().await?;
        let mut q = Sql::new(summary.dialect);
        q.push("SELECT CAST(COALESCE(MAX(run_id), 0) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM analytics_snapshot");
        let row = q.fetch_one(&mut conn).await?;
        let marker: i64 = row.try_get::<i64, _>(0)? * 1_000_000 + row.try_get::<i64, _>(1)?;
        if *self.newest_run.read().expect("not poisoned") == Some(marker) {
            return Ok(false);
        }
        let stored = load_snapshots(&mut conn, summary.dialect).await?;
        drop(conn);
        // Compressing is CPU work: keep it off the async workers.
        let windows = windows.to_vec();
        let map = tokio::task::spawn_blocking(move || {
            stored
                .into_iter()
                .filter(|s| windows.contains(&s.window_days))
                .filter_map(|s| {
                    let endpoint = Endpoint::parse(&s.endpoint)?;
                    let prepared = Prepared::new(
                        s.body.into_bytes(),
                        Some(s.etag),
                        "application/json",
                        Source::Snapshot,
                    );
                    Some((
                        (endpoint, s.window_days),
                        Arc::new(Loaded { prepared, computed_at: s.computed_at, run_id: s.run_id }),
                    ))
                })
                .collect::<HashMap<_, _>>()
        })
        .await
        .expect("compression does not panic");
        tracing::info!(snapshots = map.len(), "loaded snapshots");
        // Only gauges depend on these: a failure here must not keep the new snapshots out.
        match list_runs(summary, RunFilter::LastFullRebuild).await {
            Ok(mut runs) => {
                let finished = runs.pop().and_then(|r| r.finished_at);
                if let Some(at) = finished.and_then(|t| t.parse::<DateTime<Utc>>().ok()) {
                    *self.last_full_rebuild.write().expect("not poisoned") = Some(at);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the last full rebuild"),
        }
        match list_runs(summary, RunFilter::LastSucceeded).await {
            Ok(mut runs) => {
                if let Some(run) = runs.pop() {
                    *self.newest_success.write().expect("not poisoned") = Some(run);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the newest successful run"),
        }
        self.current.store(Arc::new(map));
        *self.newest_run.write().expect("not poisoned") = Some(marker);
        Ok(true)
    }
}
