//! One materializer run: take the lease, read every payload from one consistent platform
//! snapshot, write everything in one summary transaction, record the outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use tokio::sync::oneshot;

use super::bi::BiRows;
use super::lease;
pub use super::outcome::{RunError, RunOutcome, CANCELLED, PLATFORM_UNREACHABLE};
use super::read::read_with_retries;
use super::store::{abandon_unfinished_runs, finish_run, insert_run, write_results, RunWork, WriteError};
use super::{RunContext, RunKind, RunTrigger};
use crate::telemetry::error_chain;

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
#[derive(Clone, Debug)]
struct DayWork {
    kind: RunKind,
    reread: usize,
    platform_lag_ms: i64,
    written: usize,
    capture: &'static str,
    changes_applied: Option<usize>,
    drift: Option<(usize, String)>,
}

async fn execute(
    ctx: &RunContext,
    run_id: i64,
    started: DateTime<Utc>,
    kind: RunKind,
    lost: &AtomicBool,
) -> Result<DayWork, RunError> {
    let read_started = std::time::Instant::now();
    let (clock, snapshots, days, today) = read_with_retries(ctx, run_id, kind).await?;
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
        written: days.changes.days_written(&days.store),
        capture: days.capture,
        changes_applied: days.changes_applied,
        drift: days.drift.as_ref().map(|d| (d.findings.len(), d.findings.join("\n"))),
    };
    // Unions of two years of user sets: off the runtime's threads, before the transaction opens.
    let (store, phase) = (days.store.clone(), std::time::Instant::now());
    let bi_rows = tokio::task::spawn_blocking(move || BiRows::of(&store, &today))
        .await
        .map_err(|e| RunError::Write(format!("computing the BI rows: {e}")))?;
    tracing::debug!(ms = phase.elapsed().as_millis() as u64, "BI rows computed");
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
        let computed_at = clock.now;
        let bi = super::bi::write(
            &mut tx,
            ctx.summary.dialect,
            run_id,
            computed_at,
            bi_rows,
            ctx.settings.tz,
            ctx.history_days,
        );
        let bi = bi.await?;
        tracing::debug!(
            ms = phase.elapsed().as_millis() as u64,
            daily = bi.daily,
            periods = bi.periods,
            "BI relations written"
        );
        let phase = std::time::Instant::now();
        let row = RunWork {
            kind: work.kind,
            days_reread: work.reread,
            platform_lag_ms: work.platform_lag_ms,
            capture: work.capture,
            changes_applied: work.changes_applied,
            drift: work.drift.clone(),
        };
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
        Ok(true) => {
            if let Some(mark) = days.store.capture() {
                if ctx.prune_log {
                    prune_log(ctx, &mark.cursor).await;
                }
                record_log_size(ctx, run_id).await;
            }
            Ok(work)
        }
        Ok(false) => Err(RunError::LeaseLost),
        Err(e) => Err(RunError::Write(error_chain(&e))),
    }
}

/// Deletes the change-log rows the stored days now include. A platform that refuses (a hot
/// standby, a role without DELETE on the log) keeps them until `capture prune` runs on the
/// primary; the run has succeeded either way.
async fn prune_log(ctx: &RunContext, cursor: &crate::capture::Cursor) {
    match crate::capture::prune(&ctx.platform, cursor).await {
        Ok(deleted) => tracing::debug!(deleted, "change log pruned"),
        Err(e) => tracing::info!(
            error = %error_chain(&e),
            "could not prune the change log from here (a standby or a read-only role?): run `mafita-analytics \
             capture prune` against the primary"
        ),
    }
}

/// Counts what the change log holds after the run and adds it to the run's row (the size gauge).
async fn record_log_size(ctx: &RunContext, run_id: i64) {
    let counted = match crate::capture::count_rows(&ctx.platform).await {
        Ok(rows) => match ctx.summary.pool.acquire().await {
            Ok(mut conn) => super::store::record_log_rows(&mut conn, ctx.summary.dialect, run_id, rows).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = counted {
        tracing::warn!(run_id, error = %error_chain(&e), "could not record the change log's size");
    }
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
