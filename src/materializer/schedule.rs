//! The cron schedule (tokio-cron-scheduler) and the start-up freshness check.

use std::time::Duration;

use chrono::Utc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use super::store::load_snapshots;
use super::{Materializer, RunKind, RunTrigger};
use crate::metrics::Endpoint;

/// Parses `ANALYTICS_SCHEDULE` (cron with seconds) and returns its period: the gap between its
/// next two ticks, which is also how old snapshots may get before start-up refreshes them.
/// `None` when the schedule is empty (scheduled runs disabled).
pub fn schedule_period(expr: &str) -> Result<Option<Duration>, String> {
    cron_period(expr, "ANALYTICS_SCHEDULE")
}

/// [`schedule_period`] of the cron expression held by `setting`.
pub fn cron_period(expr: &str, setting: &str) -> Result<Option<Duration>, String> {
    if expr.trim().is_empty() {
        return Ok(None);
    }
    let cron = croner::Cron::new(expr.trim()).with_seconds_required().parse().map_err(|e| {
        format!(
            "{setting} must be a cron expression with seconds such as \"0 */5 * * * *\" ({e}; got {expr:?})"
        )
    })?;
    let mut ticks = cron.iter_after(Utc::now());
    let (Some(a), Some(b)) = (ticks.next(), ticks.next()) else {
        return Err(format!("{setting} never fires (got {expr:?})"));
    };
    Ok(Some((b - a).to_std().unwrap_or(Duration::from_secs(300))))
}

/// Whether `rebuild` (`ANALYTICS_REBUILD_SCHEDULE`) has ticked since the last successful full
/// rebuild recorded in the summary database (or none was ever recorded): the rule every
/// deployment shape follows, so a `recompute` from cron, or a scheduler that was down at the
/// tick, still performs the rebuild. `false` when rebuilds are disabled.
pub async fn rebuild_due(
    summary: &crate::db::Db,
    rebuild: &str,
    now: chrono::DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    if rebuild.trim().is_empty() {
        return Ok(false);
    }
    let last = super::store::list_runs(summary, super::store::RunFilter::LastFullRebuild).await?;
    let Some(at) = last.first().and_then(|r| r.started_at.as_deref()).and_then(|t| t.parse().ok()) else {
        return Ok(true);
    };
    Ok(Cadence::next_after(Some(rebuild.trim()), at).is_some_and(|tick| tick <= now))
}

/// Starts the cron scheduler: every tick of `expr` asks the materializer for a run (a full
/// rebuild when one is due by [`rebuild_due`], say after the instance missed the rebuild tick),
/// and every tick of `rebuild` (when not empty) for a full rebuild of the stored days,
/// coalescing with any run already waiting. Cron times are UTC. A failed run is logged by the
/// run itself; the scheduler keeps ticking.
pub async fn start_scheduler(
    materializer: Materializer,
    expr: &str,
    rebuild: &str,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    for (expr, kind) in [(expr, RunKind::Incremental), (rebuild, RunKind::Full)] {
        if expr.trim().is_empty() {
            continue;
        }
        let materializer = materializer.clone();
        let rebuild = rebuild.trim().to_string();
        let job = Job::new_async(expr.trim(), move |_id, _lock| {
            let (materializer, rebuild) = (materializer.clone(), rebuild.clone());
            Box::pin(async move {
                let due = kind == RunKind::Incremental
                    && rebuild_due(&materializer.context().summary, &rebuild, Utc::now())
                        .await
                        .unwrap_or(false);
                if due {
                    tracing::info!("a full rebuild is due by ANALYTICS_REBUILD_SCHEDULE (its tick was missed): this run rebuilds");
                }
                let kind = if due { RunKind::Full } else { kind };
                let ticket = materializer.request_as(RunTrigger::Schedule, None, kind).await;
                if ticket.coalesced {
                    tracing::debug!(kind = kind.as_str(), "schedule tick joined a run already waiting");
                }
            })
        })?;
        scheduler.add(job).await?;
    }
    scheduler.start().await?;
    Ok(scheduler)
}

/// Asks for a start-up run when any common window's snapshot is missing or older than one
/// schedule period. Returns whether one was requested.
pub async fn refresh_if_stale(materializer: &Materializer, period: Option<Duration>) -> bool {
    let ctx = materializer.context();
    let stored = match ctx.summary.pool.acquire().await {
        Ok(mut conn) => load_snapshots(&mut conn, ctx.summary.dialect).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let max_age = period.unwrap_or(Duration::from_secs(300));
    let fresh = |endpoint: Endpoint, days: i64| {
        stored.iter().any(|s| {
            s.endpoint == endpoint.path()
                && s.window_days == days
                && (Utc::now() - s.computed_at).to_std().is_ok_and(|age| age <= max_age)
        })
    };
    let stale = ctx.windows.iter().any(|&d| Endpoint::ALL.iter().any(|&e| !fresh(e, d)));
    if stale {
        tracing::info!("snapshots missing or older than one period; running at start-up");
        materializer.request(RunTrigger::Startup, None).await;
    }
    stale
}

/// When runs happen, as an instance reports it to operators (status route, console).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cadence {
    /// `ANALYTICS_SCHEDULE`, when this instance schedules runs.
    pub schedule: Option<String>,
    /// `ANALYTICS_REBUILD_SCHEDULE`, when this instance schedules runs and rebuilds are on.
    pub rebuild_schedule: Option<String>,
    /// Three periods of the configured schedule, whichever instance runs it: a snapshot older
    /// than that missed two runs in a row (the `AnalyticsSnapshotsStale` alert's reasoning).
    /// `None` when scheduled runs are disabled everywhere.
    pub stale_after: Option<Duration>,
}

/// Runs a snapshot may miss before the status calls it stale.
const STALE_PERIODS: u32 = 3;

impl Cadence {
    /// The cadence of an instance configured with `schedule` and `rebuild` (already checked by
    /// [`cron_period`]) that runs the scheduler when `scheduling`.
    pub fn new(schedule: &str, rebuild: &str, scheduling: bool) -> Cadence {
        let some = |expr: &str| Some(expr.trim().to_string()).filter(|e| scheduling && !e.is_empty());
        Cadence {
            schedule: some(schedule),
            rebuild_schedule: some(rebuild),
            stale_after: schedule_period(schedule).ok().flatten().map(|p| p * STALE_PERIODS),
        }
    }

    /// The next tick of `expr` after `now`.
    pub fn next_after(expr: Option<&str>, now: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
        croner::Cron::new(expr?).with_seconds_required().parse().ok()?.find_next_occurrence(&now, false).ok()
    }
}
