//! One materializer run: take the lease, read every payload from one consistent platform
//! snapshot, write everything in one summary transaction, record the outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Connection;
use tokio::sync::oneshot;

use super::days::{current_store, Changes, LoadError};
use super::lease;
use super::standby::{
    bound, is_recovery_conflict, read_replay, PlatformNow, CONFLICT_ATTEMPTS, CONFLICT_BACKOFF,
};
use super::store::{
    abandon_unfinished_runs, finish_run, insert_run, write_results, RunWork, Snapshot, WriteError,
};
use super::{RunContext, RunKind, RunTrigger};
use crate::db::{is_unreachable, limit_read, ReadScope};
use crate::metrics::{compute, live, prefetch, DayStore, Endpoint, MetricError, Source, TxFilter, Window};
use crate::telemetry::error_chain;
use crate::time::local_date;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// The `analytics_run` id (`None` when the run never started, e.g. the summary DB was down).
    pub run_id: Option<i64>,
    /// `None` on success, else what went wrong (also stored in `analytics_run.error`).
    pub error: Option<String>,
}

impl RunOutcome {
    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading the platform database failed or timed out.
    #[error("platform read failed: {0}")]
    Platform(String),
    /// A hot standby cancelled the platform read because replay needed rows it still saw:
    /// retried a few times before the run fails.
    #[error("platform read failed: {0}")]
    RecoveryConflict(String),
    /// Writing the summary database failed.
    #[error("summary write failed: {0}")]
    Write(String),
    /// Another instance took the lease over while this run was computing (it outlived its lease).
    #[error("the run lease was lost before the results were written; nothing was stored")]
    LeaseLost,
}

/// How a run's error starts when the platform database could not be reached.
pub const PLATFORM_UNREACHABLE: &str = "the platform database cannot be reached";

/// How a cancelled run's error starts (`analytics_run.error`); its status is `failed`, the
/// one failure status SPEC §6 defines.
pub const CANCELLED: &str = "cancelled:";

/// Records this instance's unfinished run as cancelled and releases the lease: what a run
/// cut short by shutdown leaves behind, so another instance can run at once. The run's
/// transactions were dropped with it, so nothing of it was stored.
pub async fn cancel(ctx: &RunContext) -> RunOutcome {
    let error = format!("{CANCELLED} the instance shut down during the run; nothing was stored");
    let mut run_id = None;
    match ctx.summary.pool.acquire().await {
        Ok(mut conn) => {
            match super::store::cancel_running(&mut conn, ctx.summary.dialect, &ctx.instance, &error).await {
                Ok(id) => run_id = id,
                Err(e) => {
                    tracing::warn!(error = %e, "could not record the cancelled run; the next run marks it abandoned")
                }
            }
            if let Err(e) = lease::release(&mut conn, ctx.summary.dialect, &ctx.instance).await {
                tracing::warn!(error = %e, "could not release the run lease; it will expire");
            }
        }
        Err(e) => tracing::warn!(error = %e, "summary database unavailable while cancelling the run"),
    }
    tracing::warn!(run_id, "run cancelled by shutdown; the lease is released");
    RunOutcome { run_id, error: Some(error) }
}

/// How long to wait between attempts to take a busy lease.
const LEASE_POLL: Duration = Duration::from_millis(250);

/// Waits until this instance holds the run lease (or `deadline` passes).
pub async fn acquire_lease(ctx: &RunContext, deadline: Option<Duration>) -> Result<bool, sqlx::Error> {
    let started = std::time::Instant::now();
    loop {
        let mut conn = ctx.summary.pool.acquire().await?;
        if lease::try_acquire(&mut conn, ctx.summary.dialect, &ctx.instance, ctx.lease_ttl).await? {
            return Ok(true);
        }
        drop(conn);
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            return Ok(false);
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// Runs once while holding the lease (the caller has acquired it) and releases it afterwards.
///
/// The run is recorded in `analytics_run` first; on failure the row says why and the previous
/// snapshots stay in place.
#[tracing::instrument(skip(ctx, on_start), fields(instance = %ctx.instance))]
pub async fn run_holding_lease(
    ctx: &RunContext,
    trigger: RunTrigger,
    requested_by: Option<i64>,
    kind: RunKind,
    on_start: Option<oneshot::Sender<Option<i64>>>,
) -> RunOutcome {
    let lost = Arc::new(AtomicBool::new(false));
    // Aborted however the run ends: returned, panicked or cancelled.
    let renewer = AbortOnDrop(spawn_renewer(ctx.clone(), lost.clone()));
    let outcome = run_recorded(ctx, trigger, requested_by, kind, &lost, on_start).await;
    drop(renewer);
    if let Ok(mut conn) = ctx.summary.pool.acquire().await {
        if let Err(e) = lease::release(&mut conn, ctx.summary.dialect, &ctx.instance).await {
            tracing::warn!(error = %e, "could not release the run lease; it will expire");
        }
    }
    outcome
}

async fn run_recorded(
    ctx: &RunContext,
    trigger: RunTrigger,
    requested_by: Option<i64>,
    kind: RunKind,
    lost: &AtomicBool,
    on_start: Option<oneshot::Sender<Option<i64>>>,
) -> RunOutcome {
    let started = Utc::now();
    let windows = ctx.windows.clone();
    let recorded = async {
        let mut conn = ctx.summary.pool.acquire().await?;
        let abandoned = abandon_unfinished_runs(&mut conn, ctx.summary.dialect).await?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "marked runs of a stopped instance as failed");
        }
        insert_run(&mut conn, ctx.summary.dialect, trigger, requested_by, &windows, &ctx.instance, started)
            .await
    }
    .await;
    if let Some(tx) = on_start {
        let _ = tx.send(recorded.as_ref().ok().copied());
    }
    let run_id = match recorded {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "could not record a run in the summary database");
            return RunOutcome { run_id: None, error: Some(format!("summary database unavailable: {e}")) };
        }
    };
    tracing::info!(run_id, ?trigger, ?windows, "run started");
    if ctx.faults.take_panic() {
        panic!("injected fault: the run panics after it is recorded");
    }
    if let Some(stall) = ctx.faults.stall {
        tokio::time::sleep(stall).await;
    }
    let result = execute(ctx, run_id, started, kind, lost).await;
    match result {
        Ok(days) => {
            tracing::info!(
                run_id,
                kind = days.kind.as_str(),
                days_reread = days.reread,
                days_written = days.written,
                ms = (Utc::now() - started).num_milliseconds(),
                "run succeeded"
            );
            RunOutcome { run_id: Some(run_id), error: None }
        }
        Err(e) => {
            let message = e.to_string();
            tracing::error!(run_id, error = %message, "run failed; previous snapshots stay in place");
            if let Ok(mut conn) = ctx.summary.pool.acquire().await {
                if let Err(e) =
                    finish_run(&mut conn, ctx.summary.dialect, run_id, started, Some(&message), None).await
                {
                    tracing::error!(run_id, error = %e, "could not record the failure");
                }
            }
            RunOutcome { run_id: Some(run_id), error: Some(message) }
        }
    }
}

/// What a run did with the day store.
#[derive(Clone, Copy, Debug)]
struct DayWork {
    kind: RunKind,
    reread: usize,
    platform_lag_ms: i64,
    written: usize,
}

async fn execute(
    ctx: &RunContext,
    run_id: i64,
    started: DateTime<Utc>,
    kind: RunKind,
    lost: &AtomicBool,
) -> Result<DayWork, RunError> {
    let read_started = std::time::Instant::now();
    let (clock, snapshots, days) = read_with_retries(ctx, run_id, kind).await?;
    // Before the write: by the time API instances see this run, its days are in place.
    ctx.days.publish(run_id, days.store.clone());
    // How long the platform read transaction was open: the cost a run imposes on the platform.
    tracing::info!(run_id, read_ms = read_started.elapsed().as_millis() as u64, "platform snapshot read");
    if lost.load(Ordering::SeqCst) {
        ctx.days.clear_if(run_id);
        return Err(RunError::LeaseLost);
    }
    let work = DayWork {
        kind: days.kind,
        reread: days.reread,
        platform_lag_ms: clock.lag_ms,
        written: match &days.changes {
            Changes::All => days.store.len(),
            Changes::Days(dates) => dates.len(),
        },
    };
    let write = async {
        let mut conn = ctx.summary.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // Fence: extend the lease inside the write transaction; if it is no longer ours, another
        // instance may be writing and we must not.
        if !lease::renew(&mut tx, ctx.summary.dialect, &ctx.instance, ctx.lease_ttl).await? {
            return Ok::<bool, WriteError>(false);
        }
        let phase = std::time::Instant::now();
        super::days::save(&mut tx, ctx.summary.dialect, run_id, &days.store, &days.changes).await?;
        tracing::debug!(ms = phase.elapsed().as_millis() as u64, "days written");
        let phase = std::time::Instant::now();
        let daily = ctx.windows.contains(&ctx.daily_window).then_some(ctx.daily_window);
        write_results(
            &mut tx,
            ctx.summary.dialect,
            run_id,
            &snapshots,
            daily,
            ctx.faults.fail_after_snapshots,
        )
        .await?;
        tracing::debug!(ms = phase.elapsed().as_millis() as u64, "snapshots and metrics written");
        let phase = std::time::Instant::now();
        let row =
            RunWork { kind: work.kind, days_reread: work.reread, platform_lag_ms: work.platform_lag_ms };
        finish_run(&mut tx, ctx.summary.dialect, run_id, started, None, Some(row)).await?;
        tx.commit().await?;
        tracing::debug!(ms = phase.elapsed().as_millis() as u64, "run status written and committed");
        Ok(true)
    };
    let written = write.await;
    if !matches!(written, Ok(true)) {
        // The summary database does not hold these days: the next run must not build on them.
        ctx.days.clear_if(run_id);
    }
    match written {
        Ok(true) => Ok(work),
        Ok(false) => Err(RunError::LeaseLost),
        Err(e) => Err(RunError::Write(error_chain(&e))),
    }
}

/// Takes the run's `now` from what the platform can show ([`bound`]) and reads every payload
/// as of it; a read a hot standby cancels for a recovery conflict is tried again, with a fresh
/// `now`, up to [`CONFLICT_ATTEMPTS`] times in all.
async fn read_with_retries(
    ctx: &RunContext,
    run_id: i64,
    kind: RunKind,
) -> Result<(PlatformNow, Vec<Snapshot>, RunDays), RunError> {
    let mut attempt = 1;
    loop {
        let clock = platform_now(ctx).await?;
        let prior = match kind {
            RunKind::Full => None,
            RunKind::Incremental => stored_days(ctx, clock.now).await?,
        };
        if let Some(store) = prior.as_deref().filter(|s| clock.lag_ms > 0 && clock.now < s.read_at()) {
            // Folding an older view over newer stored days would mix two moments.
            return Err(RunError::Platform(format!(
                "the platform standby has replayed up to {} ({} ms behind), before the stored days were read \
                 ({}); a run does not go back in time: the next one tries again",
                crate::time::rfc3339_micros(clock.now),
                clock.lag_ms,
                crate::time::rfc3339_micros(store.read_at())
            )));
        }
        match read_platform(ctx, clock.now, run_id, prior).await {
            Err(RunError::RecoveryConflict(message)) if attempt < CONFLICT_ATTEMPTS => {
                let pause = CONFLICT_BACKOFF * 2u32.pow(attempt - 1);
                tracing::warn!(run_id, attempt, error = %message, ?pause, "a recovery conflict cancelled the platform read; retrying");
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(RunError::RecoveryConflict(message)) => {
                return Err(RunError::Platform(format!(
                "{message} (cancelled by a recovery conflict on each of {CONFLICT_ATTEMPTS} attempts: raise \
                     max_standby_streaming_delay or turn hot_standby_feedback on; see the README)"
            )))
            }
            Err(e) => return Err(e),
            Ok((snapshots, days)) => return Ok((clock, snapshots, days)),
        }
    }
}

/// The run's `now`: the wall clock, or on a hot standby that lags the last commit it replayed.
async fn platform_now(ctx: &RunContext) -> Result<PlatformNow, RunError> {
    let wall = ctx.clock.now();
    let replay = read_replay(&ctx.platform).await.map_err(|e| platform_error(&e))?;
    let clock = bound(wall, &replay).map_err(RunError::Platform)?;
    if clock.lag_ms > 0 {
        tracing::warn!(lag_ms = clock.lag_ms, now = %clock.now, "the platform standby lags: the run's windows end at its last replayed commit");
    }
    Ok(clock)
}

/// The stored days the next run refreshes: this process's own copy when it is the one the
/// summary database holds, else the days loaded from there (only those rewritten since this
/// process's copy, when it has one of the same generation). `None` when the run must rebuild:
/// nothing stored, another zone or store version, or days that start after the span the
/// windows need.
async fn stored_days(ctx: &RunContext, now: DateTime<Utc>) -> Result<Option<Arc<DayStore>>, RunError> {
    let summary =
        |e: &dyn std::error::Error| RunError::Write(format!("reading the stored days: {}", error_chain(e)));
    let started = std::time::Instant::now();
    let mut conn = ctx.summary.pool.acquire().await.map_err(|e| summary(&e))?;
    let mut tx = conn.begin().await.map_err(|e| summary(&e))?;
    let (meta, store) = match current_store(&mut tx, ctx.summary.dialect, ctx.settings.tz, &ctx.days).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::info!("no stored days of this zone and store version: this run rebuilds them");
            return Ok(None);
        }
        Err(LoadError::Corrupt(why)) => {
            tracing::warn!(%why, "stored days are unreadable: this run rebuilds them");
            return Ok(None);
        }
        Err(e) => return Err(summary(&e)),
    };
    let needed = local_date(ctx.settings.tz, DayStore::span_start_for(ctx.daily_window, now));
    if meta.first > needed {
        tracing::info!(first = %meta.first, %needed, "stored days start too late for the windows: this run rebuilds them");
        return Ok(None);
    }
    tracing::info!(days = store.len(), ms = started.elapsed().as_millis() as u64, "stored days ready");
    Ok(Some(store))
}

/// The day store a run folds from and what to write of it.
struct RunDays {
    store: Arc<DayStore>,
    kind: RunKind,
    reread: usize,
    changes: Changes,
}

/// The day store of a run: `prior` refreshed, or every day read again when there is none or it
/// cannot be refreshed. The days the windows cut partway get hour slots: those a refresh
/// re-reads are read by the hour instead of whole, the others once, by the second run of a
/// process (see [`DayStore::hours_wanted`]).
async fn run_days(
    src: &mut Source<'_>,
    ctx: &RunContext,
    now: DateTime<Utc>,
    run_id: i64,
    prior: Option<&DayStore>,
    windows: &[Window],
) -> Result<RunDays, sqlx::Error> {
    let span_start = DayStore::span_start_for(ctx.daily_window, now);
    if let Some(prior) = prior {
        let partial = live::partial_dates(ctx.settings.tz, windows);
        let mut hourly = live::read_hours(src, &prior.hours_wanted(&partial, now, ctx.settle_days)).await?;
        match prior.refresh(src, now, span_start, ctx.settle_days, &mut hourly).await? {
            Ok(mut r) => {
                warn_differing(r.store.attach_hours(hourly));
                return Ok(RunDays {
                    store: Arc::new(r.store),
                    kind: RunKind::Incremental,
                    reread: r.reread,
                    changes: Changes::Days(r.changed),
                });
            }
            Err(why) => tracing::info!(?why, "stored days cannot be refreshed: this run rebuilds them"),
        }
    }
    // Without slots: the next runs give them to the days that need them (see `hours_wanted`).
    let store = DayStore::build(src, span_start, now, run_id).await?;
    let reread = store.len();
    Ok(RunDays { store: Arc::new(store), kind: RunKind::Full, reread, changes: Changes::All })
}

/// Logs stored days that a read by the hour found changed.
fn warn_differing(dates: Vec<NaiveDate>) {
    if !dates.is_empty() {
        tracing::warn!(
            ?dates,
            "these stored days changed outside the settle window; they keep their stored facts until \
             the next full rebuild (`verify` lists them, `recompute --full` rebuilds them)"
        );
    }
}

/// Computes every endpoint for every window inside one read transaction, so all numbers of a
/// run come from the same platform snapshot: first the day store (refreshed from `prior`, or
/// rebuilt), then every payload folded from it.
async fn read_platform(
    ctx: &RunContext,
    now: DateTime<Utc>,
    run_id: i64,
    prior: Option<Arc<DayStore>>,
) -> Result<(Vec<Snapshot>, RunDays), RunError> {
    let windows: Vec<Window> = ctx
        .windows
        .iter()
        .map(|days| Window::rolling(now, ctx.settings.tz, *days).expect("validated windows"))
        .collect();
    let jobs: Vec<(Endpoint, Window)> =
        windows.iter().flat_map(|w| Endpoint::ALL.iter().map(move |e| (*e, *w))).collect();
    let mut conn = ctx.platform.pool.acquire().await.map_err(|e| platform_error(&e))?;
    let mut tx = begin_read(&mut conn, ctx).await?;
    let compute_all = async {
        // One source for the whole snapshot: payloads share what it has read.
        let mut src = Source::new(&mut tx, ctx.platform.dialect, &ctx.settings);
        let days = run_days(&mut src, ctx, now, run_id, prior.as_deref(), &windows).await?;
        src.set_days(Some(days.store.clone()));
        // Every window's partial days in one read per fact, instead of a few reads per window.
        live::prefetch(&mut src, &windows).await?;
        let mut payloads = Vec::with_capacity(jobs.len());
        for (endpoint, window) in &jobs {
            payloads.push(compute(&mut src, *endpoint, window, &TxFilter::default()).await?.into_value());
        }
        Ok::<_, MetricError>((payloads, days))
    };
    let budget = ctx.statement_timeout * u32::try_from(jobs.len().max(1)).unwrap_or(u32::MAX);
    let (payloads, days) = match tokio::time::timeout(budget, compute_all).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(platform_error(&e)),
        Err(_) => return Err(RunError::Platform(format!("platform reads took longer than {budget:?}"))),
    };
    tx.rollback().await.map_err(|e| platform_error(&e))?;
    let snapshots = jobs
        .iter()
        .zip(payloads)
        .map(|((endpoint, window), payload)| Snapshot::new(*endpoint, window.period_days, payload, now))
        .collect();
    Ok((snapshots, days))
}

/// A platform failure as the run records it; one that means the database is out of reach says
/// so first, so an operator reading `admin/runs/` need not decode "pool timed out".
fn platform_error(e: &(dyn std::error::Error + 'static)) -> RunError {
    let chain = error_chain(e);
    let causes =
        || std::iter::successors(Some(e), |e| e.source()).filter_map(|c| c.downcast_ref::<sqlx::Error>());
    if causes().any(is_recovery_conflict) {
        return RunError::RecoveryConflict(chain);
    }
    let unreachable = causes().any(is_unreachable);
    RunError::Platform(if unreachable { format!("{PLATFORM_UNREACHABLE}: {chain}") } else { chain })
}

/// Opens the read transaction a run reads the platform in: on PostgreSQL one `REPEATABLE
/// READ, READ ONLY` snapshot with the statement timeout.
pub(crate) async fn begin_read<'c>(
    conn: &'c mut sqlx::pool::PoolConnection<sqlx::Any>,
    ctx: &RunContext,
) -> Result<sqlx::Transaction<'c, sqlx::Any>, RunError> {
    let mut tx = conn.begin().await.map_err(|e| platform_error(&e))?;
    limit_read(&mut tx, ctx.platform.dialect, ReadScope::Snapshot, ctx.statement_timeout)
        .await
        .map_err(|e| platform_error(&e))?;
    Ok(tx)
}

/// Computes `jobs` in one read transaction. PostgreSQL: `REPEATABLE READ READ ONLY` with the
/// statement timeout. SQLite: one deferred read transaction (ended before anything is
/// written), bounded as a whole since SQLite has no statement timeout. Also returns the day
/// store the payloads were folded from.
pub async fn read_payloads(
    ctx: &RunContext,
    jobs: &[(Endpoint, Window)],
) -> Result<(Vec<Value>, Option<Arc<DayStore>>), RunError> {
    let mut conn = ctx.platform.pool.acquire().await.map_err(|e| platform_error(&e))?;
    let mut tx = begin_read(&mut conn, ctx).await?;
    let compute_all = async {
        // One source for the whole snapshot: payloads share what it has read.
        let mut src = Source::new(&mut tx, ctx.platform.dialect, &ctx.settings);
        let mut windows: Vec<Window> = Vec::new();
        for (_, w) in jobs {
            if !windows.contains(w) {
                windows.push(*w);
            }
        }
        let store = prefetch(&mut src, &windows).await?;
        let mut payloads = Vec::with_capacity(jobs.len());
        for (endpoint, window) in jobs {
            payloads.push(compute(&mut src, *endpoint, window, &TxFilter::default()).await?.into_value());
        }
        Ok::<_, MetricError>((payloads, store))
    };
    let budget = ctx.statement_timeout * u32::try_from(jobs.len().max(1)).unwrap_or(u32::MAX);
    let payloads = match tokio::time::timeout(budget, compute_all).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(platform_error(&e)),
        Err(_) => return Err(RunError::Platform(format!("platform reads took longer than {budget:?}"))),
    };
    tx.rollback().await.map_err(|e| platform_error(&e))?;
    Ok(payloads)
}

/// A task aborted when its handle goes out of scope.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the lease every third of its lifetime while the run is alive.
fn spawn_renewer(ctx: RunContext, lost: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = ctx.lease_ttl / 3;
        loop {
            tokio::time::sleep(period).await;
            let renewed = match ctx.summary.pool.acquire().await {
                Ok(mut conn) => {
                    lease::renew(&mut conn, ctx.summary.dialect, &ctx.instance, ctx.lease_ttl).await
                }
                Err(e) => Err(e),
            };
            match renewed {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!("run lease was taken over by another instance");
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not renew the run lease; retrying"),
            }
        }
    })
}
