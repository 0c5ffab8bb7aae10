//! The materializer: recomputes every payload of the common windows into the summary tables,
//! on a schedule and on request, one run at a time across every instance.
//!
//! A run is a plain `async fn` ([`run_once`]) that tests call directly; [`Materializer`] wraps
//! it in a single worker per process so triggers arriving during a run coalesce into at most
//! one follow-up run.

pub mod bi;
pub mod days;
pub mod flatten;
pub mod indexes;
pub mod lease;
pub mod outcome;
pub mod read;
pub mod run;
pub mod schedule;
pub mod standby;
pub mod store;
mod sync;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use strum::{EnumString, IntoStaticStr};
use tokio::sync::{oneshot, Mutex, Notify};
use utoipa::ToSchema;

use crate::db::Db;
use crate::metrics::{DaySlot, MetricSettings};
use crate::task::{supervise, Shutdown, TaskHealth};
use crate::time::Clock;
pub use run::{RunError, RunOutcome};

/// Why a run happened (stored in `analytics_run.trigger`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RunTrigger {
    /// The cron schedule.
    Schedule,
    /// Start-up found snapshots missing or stale.
    Startup,
    /// An operator through the admin route.
    Admin,
    /// The `recompute` command.
    Cli,
}

impl RunTrigger {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How a run treats the stored days: refresh them (re-read only what can have changed) or
/// rebuild them from the platform. Stored in `analytics_run.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RunKind {
    /// Re-read the settle window, the days ended since, and days with new rows; when the stored
    /// days cannot be refreshed (none yet, another zone or version) the run rebuilds instead.
    Incremental,
    /// Re-read every day.
    Full,
}

impl RunKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Where a run stands (stored in `analytics_run.status`, the only three values the run table
/// defines; a run cut short by shutdown is `failed` with an error starting `cancelled:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished (or its instance died; the next lease holder marks it failed).
    Running,
    /// Finished and stored its snapshots.
    Succeeded,
    /// Finished without storing anything; `error` says why.
    Failed,
}

impl RunStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How a run of this process's worker ended, for `/metrics` (a cancelled run is stored as
/// failed, but operators count it apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum RunResult {
    /// Stored its snapshots.
    Succeeded,
    /// Shutdown cut it short.
    Cancelled,
    /// Failed for any other reason.
    Failed,
}

impl RunResult {
    /// The `/metrics` label.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Failures a test can ask a run to suffer, to prove the previous results survive.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Fail the write transaction after this many snapshot rows.
    pub fail_after_snapshots: Option<usize>,
    /// Panic in this many runs, just after they are recorded (a bug in the run code).
    pub panics: Arc<AtomicUsize>,
    /// Hold each run this long after it is recorded (a slow platform read).
    pub stall: Option<Duration>,
}

impl Faults {
    /// Whether this run must panic (and one fewer after it).
    fn take_panic(&self) -> bool {
        self.panics.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// Where the Django tables are read.
    pub platform: Db,
    /// Where the `analytics_*` tables are written.
    pub summary: Db,
    /// Business settings.
    pub settings: MetricSettings,
    /// Windows this context's runs compute, ascending.
    pub windows: Vec<i64>,
    /// The largest configured common window: its daily series go to `analytics_daily_metric`
    /// whenever a run includes it (a `recompute --windows 7` leaves them alone).
    pub daily_window: i64,
    /// Lease lifetime without renewal.
    pub lease_ttl: Duration,
    /// Platform statement timeout.
    pub statement_timeout: Duration,
    /// This process's lease holder name (host, pid and a random suffix).
    pub instance: String,
    /// Injected failures (tests only; empty in production).
    pub faults: Faults,
    /// Where each run leaves the day store it read, for this process's on-demand windows.
    pub days: Arc<DaySlot>,
    /// Whole local days re-read by every incremental run besides the days ended since the last
    /// (`ANALYTICS_SETTLE_DAYS`): how long a status may take to settle and still be counted.
    pub settle_days: u32,
    /// Whether a run deletes the change-log rows it applied (`ANALYTICS_CAPTURE_PRUNE`).
    pub prune_log: bool,
    /// How many local days `analytics_metric_history` keeps (`ANALYTICS_METRIC_HISTORY_DAYS`).
    pub history_days: u32,
    /// Where runs take their `now`.
    pub clock: Clock,
}

/// A unique name for this process in leases and run records.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// One run now: waits for the lease (up to `wait`, forever when `None`), runs, releases it.
/// Returns `None` when the lease could not be had within `wait`.
pub async fn run_once(
    ctx: &RunContext,
    trigger: RunTrigger,
    requested_by: Option<i64>,
    wait: Option<Duration>,
) -> Option<RunOutcome> {
    run_once_as(ctx, trigger, requested_by, wait, RunKind::Incremental).await
}

/// [`run_once`] as a run of `kind`.
pub async fn run_once_as(
    ctx: &RunContext,
    trigger: RunTrigger,
    requested_by: Option<i64>,
    wait: Option<Duration>,
    kind: RunKind,
) -> Option<RunOutcome> {
    match run::acquire_lease(ctx, wait).await {
        Ok(true) => Some(run::run_holding_lease(ctx, trigger, requested_by, kind, None).await),
        Ok(false) => None,
        Err(e) => {
            Some(RunOutcome { run_id: None, error: Some(format!("summary database unavailable: {e}")) })
        }
    }
}

/// A request waiting for the next run: who asked, and whom to tell.
struct Pending {
    trigger: RunTrigger,
    requested_by: Option<i64>,
    kind: RunKind,
    started: Vec<oneshot::Sender<Option<i64>>>,
    finished: Vec<oneshot::Sender<RunOutcome>>,
}

/// What a caller gets back from [`Materializer::request`].
pub struct Ticket {
    /// `true` when the request joined one already waiting (it adds no extra run).
    pub coalesced: bool,
    /// The run's id once it has started (`None` if it could not be recorded).
    pub started: oneshot::Receiver<Option<i64>>,
    /// The run's outcome once it has finished.
    pub finished: oneshot::Receiver<RunOutcome>,
}

/// The per-process run worker, shared by the scheduler and the HTTP layer.
#[derive(Clone)]
pub struct Materializer {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: RunContext,
    pending: Mutex<Option<Pending>>,
    wake: Notify,
    health: Arc<TaskHealth>,
    stats: RunStats,
    shutdown: Shutdown,
    worker: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Runs this process's worker finished, by outcome: counts and total seconds.
#[derive(Debug, Default)]
pub struct RunStats {
    by_outcome: std::sync::Mutex<BTreeMap<RunResult, (u64, f64)>>,
}

impl RunStats {
    fn record(&self, outcome: &RunOutcome, elapsed: Duration) {
        let key = match &outcome.error {
            None => RunResult::Succeeded,
            Some(e) if e.starts_with(run::CANCELLED) => RunResult::Cancelled,
            Some(_) => RunResult::Failed,
        };
        let mut map = self.by_outcome.lock().expect("not poisoned");
        let entry = map.entry(key).or_default();
        entry.0 += 1;
        entry.1 += elapsed.as_secs_f64();
    }

    /// `(outcome, runs, seconds)` for every outcome seen, by name.
    pub fn snapshot(&self) -> Vec<(RunResult, u64, f64)> {
        self.by_outcome.lock().expect("not poisoned").iter().map(|(k, (n, s))| (*k, *n, *s)).collect()
    }
}

impl Materializer {
    /// Starts the worker task, supervised: a panic in a run is logged, counted in
    /// [`Materializer::health`] and the worker starts again.
    pub fn start(ctx: RunContext) -> Materializer {
        let inner = Arc::new(Inner {
            ctx,
            pending: Mutex::new(None),
            wake: Notify::new(),
            health: Arc::default(),
            stats: RunStats::default(),
            shutdown: Shutdown::default(),
            worker: std::sync::Mutex::new(None),
        });
        let worker = inner.clone();
        let handle = supervise("run worker", inner.health.clone(), move || worker.clone().work());
        *inner.worker.lock().expect("not poisoned") = Some(handle);
        Materializer { inner }
    }

    /// The run context (settings, databases).
    pub fn context(&self) -> &RunContext {
        &self.inner.ctx
    }

    /// The worker's panics and restarts.
    pub fn health(&self) -> &TaskHealth {
        &self.inner.health
    }

    /// Runs this process finished, by outcome.
    pub fn stats(&self) -> &RunStats {
        &self.inner.stats
    }

    /// Stops the worker with the server: a run in progress is cancelled (recorded as failed
    /// with a `cancelled:` error, nothing of it stored) and the lease released, so another
    /// instance can run at once instead of after a lease lifetime. Waits for the worker.
    pub async fn stop(&self) {
        self.inner.shutdown.trigger();
        let handle = self.inner.worker.lock().expect("not poisoned").take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
    }

    /// Asks for a run. Requests made while one is waiting join it (a full rebuild asked by any
    /// of them makes it full); one made during a run becomes the single follow-up run.
    pub async fn request(&self, trigger: RunTrigger, requested_by: Option<i64>) -> Ticket {
        self.request_as(trigger, requested_by, RunKind::Incremental).await
    }

    /// [`Materializer::request`] for a run of `kind`.
    pub async fn request_as(&self, trigger: RunTrigger, requested_by: Option<i64>, kind: RunKind) -> Ticket {
        let (started_tx, started) = oneshot::channel();
        let (finished_tx, finished) = oneshot::channel();
        let mut pending = self.inner.pending.lock().await;
        let coalesced = match pending.as_mut() {
            Some(p) => {
                if kind == RunKind::Full {
                    p.kind = RunKind::Full;
                }
                p.started.push(started_tx);
                p.finished.push(finished_tx);
                true
            }
            None => {
                *pending = Some(Pending {
                    trigger,
                    requested_by,
                    kind,
                    started: vec![started_tx],
                    finished: vec![finished_tx],
                });
                false
            }
        };
        drop(pending);
        self.inner.wake.notify_one();
        Ticket { coalesced, started, finished }
    }
}

impl Inner {
    async fn work(self: Arc<Self>) {
        loop {
            if self.pending.lock().await.is_none() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = self.shutdown.triggered() => return,
                }
            }
            if self.shutdown.is_triggered() {
                return;
            }
            let Some(request) = self.pending.lock().await.take() else { continue };
            let started = Instant::now();
            let finished = request.finished;
            let outcome = tokio::select! {
                outcome = self.run(request.trigger, request.requested_by, request.kind, request.started) => outcome,
                _ = self.shutdown.triggered() => run::cancel(&self.ctx).await,
            };
            self.stats.record(&outcome, started.elapsed());
            crate::memory::release_freed_memory();
            for f in finished {
                let _ = f.send(outcome.clone());
            }
        }
    }

    async fn run(
        &self,
        trigger: RunTrigger,
        requested_by: Option<i64>,
        kind: RunKind,
        started: Vec<oneshot::Sender<Option<i64>>>,
    ) -> RunOutcome {
        match run::acquire_lease(&self.ctx, None).await {
            Ok(_) => {
                // Tell waiters the id as soon as the run row exists.
                let (tx, rx) = oneshot::channel::<Option<i64>>();
                tokio::spawn(async move {
                    let id = rx.await.ok().flatten();
                    for s in started {
                        let _ = s.send(id);
                    }
                });
                run::run_holding_lease(&self.ctx, trigger, requested_by, kind, Some(tx)).await
            }
            Err(e) => {
                for s in started {
                    let _ = s.send(None);
                }
                RunOutcome { run_id: None, error: Some(format!("summary database unavailable: {e}")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored spelling (`as_str`), the JSON one (serde) and the parsed one (strum) agree.
    #[test]
    fn each_run_enum_has_one_spelling() {
        fn check<T: Copy + Serialize + std::str::FromStr + PartialEq + std::fmt::Debug>(
            all: &[T],
            name: impl Fn(T) -> &'static str,
            expected: &[&str],
        ) {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            assert_eq!(names, expected);
            for (v, n) in all.iter().zip(expected) {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(n));
                assert_eq!(n.parse::<T>().ok(), Some(*v));
            }
        }
        use RunTrigger as T;
        check(
            &[T::Schedule, T::Startup, T::Admin, T::Cli],
            T::as_str,
            &["schedule", "startup", "admin", "cli"],
        );
        check(&[RunKind::Incremental, RunKind::Full], RunKind::as_str, &["incremental", "full"]);
        use RunStatus as S;
        check(&[S::Running, S::Succeeded, S::Failed], S::as_str, &["running", "succeeded", "failed"]);
        let results = [RunResult::Succeeded, RunResult::Cancelled, RunResult::Failed];
        assert_eq!(results.map(RunResult::as_str), ["succeeded", "cancelled", "failed"]);
    }
}
