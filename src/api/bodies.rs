//! The wire shapes of the operational routes (admin, health, errors), typed like the payloads
//! so the OpenAPI document and the answers come from the same definitions.

use serde::Serialize;
use utoipa::ToSchema;

use crate::materializer::store::RunRecord;

/// Every error answer (DRF style).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong; a bad parameter is named.
    pub detail: String,
    /// SimpleJWT's code on 401s about the token or its user (`token_not_valid`,
    /// `user_not_found`, `user_inactive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `GET /healthz`: the process is up.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    pub status: String,
}

/// `GET /readyz`: ready when snapshots are loaded or the platform database answers.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Readiness {
    /// snapshots_loaded or platform_reachable (the status is 200, else 503).
    pub ready: bool,
    /// This instance holds snapshots in memory.
    pub snapshots_loaded: bool,
    /// The platform database answers.
    pub platform_reachable: bool,
    /// The summary database answers.
    pub summary_reachable: bool,
    /// Times the run worker panicked and was started again.
    pub run_worker_restarts: u64,
    /// Times the snapshot reloader panicked and was started again.
    pub reloader_restarts: u64,
}

/// Whether a triggered run has started yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecomputeState {
    /// The run started (its id is known).
    Running,
    /// Waiting for the run in progress, on this or another instance, to end.
    Queued,
}

/// `POST admin/recompute/` → 202.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RecomputeAccepted {
    /// The run's id, once it has started.
    pub run_id: Option<i64>,
    /// Started or queued.
    pub status: RecomputeState,
    /// The request joined a run already waiting instead of queueing another.
    pub coalesced: bool,
}

/// `GET admin/runs/`: the newest 50 runs.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunRecord>,
    /// Runs listed.
    pub count: usize,
}

/// `GET admin/status/`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Status {
    /// This instance's background tasks.
    pub tasks: Tasks,
    /// Every snapshot this instance serves, by endpoint and window.
    pub snapshots: Vec<SnapshotAge>,
    /// The day store on-demand windows fold from; null until a run or a background read made
    /// one.
    pub day_store: Option<DayStoreState>,
    /// The common windows, in days.
    pub windows: Vec<i64>,
    /// When this answer was made, RFC 3339 UTC: the clock every age here is measured by.
    pub generated_at: String,
    /// The cron expression, when this instance schedules runs.
    pub schedule: Option<String>,
    /// The next scheduled run, RFC 3339 UTC.
    pub next_scheduled_run: Option<String>,
    /// The cron expression of full rebuilds, when this instance schedules them.
    pub rebuild_schedule: Option<String>,
    /// The next scheduled full rebuild, RFC 3339 UTC.
    pub next_full_rebuild: Option<String>,
    /// When the newest successful full rebuild (by any instance) finished, RFC 3339 UTC.
    pub last_full_rebuild_at: Option<String>,
    /// A snapshot older than this (three periods of `ANALYTICS_SCHEDULE`) is stale; null when
    /// scheduled runs are disabled.
    pub stale_after_seconds: Option<u64>,
    /// The newest failed run.
    pub last_error: Option<RunRecord>,
    /// How far behind the wall clock the platform data of the newest successful run was, in
    /// ms: 0 when it read a primary or a caught-up standby; on a standby behind, its snapshots
    /// are as of its last replayed commit (their `computed_at`). Null before any run.
    pub platform_lag_ms: Option<i64>,
    /// How runs learn the platform's changes, as the newest successful run found it.
    pub capture: CaptureState,
    /// What the newest successful run's drift checks found.
    pub drift: DriftState,
    /// Reachability of both databases.
    pub databases: Databases,
}

/// `capture` of the status: change capture on the platform, as the newest successful run
/// found it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CaptureState {
    /// `installed` (runs apply the change log), `absent` (runs re-read the settle window and
    /// rely on drift checks and the scheduled rebuild), `incomplete` (a trigger is missing or
    /// disabled: the log is not trusted); null before any run.
    pub mode: Option<String>,
    /// The run this describes.
    pub run_id: Option<i64>,
    /// Changed rows that run applied from the log (null when it rebuilt or ran without capture).
    pub changes_applied: Option<i64>,
    /// Rows left in the log after it (counted up to a million): a log that only grows means
    /// nothing prunes it (runs on a standby: run `capture prune` on the primary).
    pub log_rows: Option<i64>,
}

/// `drift` of the status: what the newest successful run's drift checks found.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DriftState {
    /// The run this describes.
    pub run_id: Option<i64>,
    /// Differences found between the stored days and the platform (days found were read
    /// again); 0 when all agreed, null when the run rebuilt every day.
    pub findings: Option<i64>,
    /// What they were, one per line.
    pub detail: Option<String>,
}

/// `tasks` of the status.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Tasks {
    /// The run worker.
    pub run_worker: TaskState,
    /// The snapshot reloader.
    pub reloader: TaskState,
}

/// A supervised background task.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TaskState {
    /// Times it panicked and was started again.
    pub restarts: u64,
    /// Its last panic.
    pub last_panic: Option<TaskPanic>,
}

/// A background task's panic.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TaskPanic {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The panic message.
    pub message: String,
}

/// One snapshot's freshness.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SnapshotAge {
    /// Route under `/api/analytics/`, e.g. `kpis/`.
    pub endpoint: String,
    /// Window in days.
    pub window_days: i64,
    /// The run's `now`, RFC 3339 UTC.
    pub computed_at: String,
    /// Seconds since `computed_at`.
    pub age_seconds: i64,
    /// The run that stored it.
    pub run_id: i64,
    /// Older than `stale_after_seconds`.
    pub stale: bool,
}

/// `day_store` of the status.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DayStoreState {
    /// The run whose days these are.
    pub run_id: i64,
    /// When the days were read, RFC 3339 UTC.
    pub read_at: String,
    /// Seconds since `read_at`.
    pub age_seconds: i64,
    /// Start of the first stored day, RFC 3339 UTC.
    pub first_day_starts_at: String,
    /// Days held.
    pub days: usize,
    /// Approximate size in memory.
    pub approx_bytes: usize,
}

/// `databases` of the status.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Databases {
    /// The platform (Django) database.
    pub platform: DatabaseState,
    /// The summary database.
    pub summary: DatabaseState,
}

/// One database's state.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DatabaseState {
    /// It answered a probe just now.
    pub reachable: bool,
    /// `PostgreSQL` or `SQLite`.
    pub kind: String,
}
