//! The materializer: recomputes every payload of the common windows into the summary tables,
//! on a schedule and on request, one run at a time across every instance.
//!
//! A run is a plain `async fn` ([`run_once`]) that tests call directly; [`Materializer`] wraps
//! it in a single worker per process so triggers arriving during a run coalesce into at most
//! one follow-up run.

pub mod days;
pub mod flatten;
pub mod indexes;
pub mod lease;
pub mod run;
pub mod schedule;
pub mod store;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, Mutex, Notify};

use crate::db::Db;
use crate::metrics::{DaySlot, MetricSettings};
use crate::time::Clock;
pub use run::{RunError, RunOutcome};

/// Why a run happened (stored in `analytics_run.trigger`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Startup => "startup",
            RunTrigger::Admin => "admin",
            RunTrigger::Cli => "cli",
        }
    }
}

/// How a run treats the stored days: refresh them (re-read only what can have changed) or
/// rebuild them from the platform. Stored in `analytics_run.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
        match self {
            RunKind::Incremental => "incremental",
            RunKind::Full => "full",
        }
    }
}

/// Failures a test can ask a run to suffer, to prove the previous results survive.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Fail the write transaction after this many snapshot rows.
    pub fail_after_snapshots: Option<usize>,
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
}

impl Materializer {
    /// Starts the worker task.
    pub fn start(ctx: RunContext) -> Materializer {
        let inner = Arc::new(Inner { ctx, pending: Mutex::new(None), wake: Notify::new() });
        let worker = inner.clone();
        tokio::spawn(async move { worker.work().await });
        Materializer { inner }
    }

    /// The run context (settings, databases).
    pub fn context(&self) -> &RunContext {
        &self.inner.ctx
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
            self.wake.notified().await;
            loop {
                let Some(request) = self.pending.lock().await.take() else { break };
                let outcome = match run::acquire_lease(&self.ctx, None).await {
                    Ok(_) => {
                        // Tell waiters the id as soon as the run row exists.
                        let (tx, rx) = oneshot::channel::<Option<i64>>();
                        let started = request.started;
                        tokio::spawn(async move {
                            let id = rx.await.ok().flatten();
                            for s in started {
                                let _ = s.send(id);
                            }
                        });
                        run::run_holding_lease(
                            &self.ctx,
                            request.trigger,
                            request.requested_by,
                            request.kind,
                            Some(tx),
                        )
                        .await
                    }
                    Err(e) => {
                        for s in request.started {
                            let _ = s.send(None);
                        }
                        RunOutcome { run_id: None, error: Some(format!("summary database unavailable: {e}")) }
                    }
                };
                crate::memory::release_freed_memory();
                for f in request.finished {
                    let _ = f.send(outcome.clone());
                }
            }
        }
    }
}
