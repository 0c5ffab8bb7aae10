//! A run's platform read: its `now` (bounded by what a hot standby has replayed), the stored
//! days it refreshes, and every payload computed inside one read transaction, retried when a
//! standby cancels it for a recovery conflict.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::Connection;

use super::days::{begin_snapshot, current_store, Changes, LoadError};
use super::outcome::{platform_error, RunError};
use super::standby::{bound, read_replay, PlatformNow, CONFLICT_ATTEMPTS, CONFLICT_BACKOFF};
use super::store::Snapshot;
use super::{RunContext, RunKind};
use crate::capture::{read_changes, read_cursor, read_state, Capture, ChangeBatch};
use crate::db::{limit_read, ReadScope};
use crate::metrics::days::{CaptureMark, Day, Drift, Since};
use crate::metrics::{
    compute, live, prefetch, today, DayStore, Endpoint, MetricError, Source, TxFilter, Window,
};
use crate::telemetry::error_chain;
use crate::time::local_date;

/// Takes the run's `now` from what the platform can show ([`bound`]) and reads every payload
/// as of it; a read a hot standby cancels for a recovery conflict is tried again, with a fresh
/// `now`, up to [`CONFLICT_ATTEMPTS`] times in all.
pub(crate) async fn read_with_retries(
    ctx: &RunContext,
    run_id: i64,
    kind: RunKind,
) -> Result<(PlatformNow, Vec<Snapshot>, RunDays, Day), RunError> {
    let mut attempt = 1;
    loop {
        let clock = platform_now(ctx).await?;
        let prior = match kind {
            RunKind::Full => None,
            RunKind::Incremental => stored_days(ctx, clock.now).await?,
        };
        if let Some((_, store)) = prior.as_ref().filter(|(_, s)| clock.lag_ms > 0 && clock.now < s.read_at())
        {
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
            Ok((snapshots, days, today)) => return Ok((clock, snapshots, days, today)),
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

/// The stored days the next run refreshes, with the run that wrote them: this process's own
/// copy when it is the one the summary database holds, else the days loaded from there (only
/// those rewritten since this process's copy, when it has one of the same generation). `None`
/// when the run must rebuild: nothing stored, another zone or store version, or days that
/// start after the span the windows need.
async fn stored_days(ctx: &RunContext, now: DateTime<Utc>) -> Result<Option<(i64, Arc<DayStore>)>, RunError> {
    let summary =
        |e: &dyn std::error::Error| RunError::Write(format!("reading the stored days: {}", error_chain(e)));
    let started = std::time::Instant::now();
    let mut conn = ctx.summary.pool.acquire().await.map_err(|e| summary(&e))?;
    let mut tx = begin_snapshot(&mut conn, ctx.summary.dialect).await.map_err(|e| summary(&e))?;
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
    Ok(Some((meta.run_id, store)))
}

/// The day store a run folds from and what to write of it.
pub(crate) struct RunDays {
    /// Every stored day after this run.
    pub store: Arc<DayStore>,
    /// Refreshed or rebuilt.
    pub kind: RunKind,
    /// Whole days read from the platform.
    pub reread: usize,
    /// Which days to write.
    pub changes: Changes,
    /// Change capture as the run found it (`installed`, `absent`, `incomplete`).
    pub capture: &'static str,
    /// Rows changed that the run applied from the change log (`None` without capture or when
    /// it rebuilt).
    pub changes_applied: Option<usize>,
    /// What the drift checks found (`None` when the run rebuilt: every day is fresh).
    pub drift: Option<Drift>,
}

/// The most log rows a run applies as deltas; past it (a bulk load or a long outage) it
/// rebuilds, which then costs less than applying them one by one.
const MAX_LOG_ROWS: i64 = 500_000;

/// How a run's platform snapshot stands with change capture.
pub(crate) enum LogPosition {
    /// Not installed, or not complete: runs re-read the settle window.
    Unused(Capture),
    /// Installed: the snapshot's mark, and the batch since `prior`'s mark when it can be
    /// continued (else why not).
    Ready { mark: CaptureMark, batch: Result<ChangeBatch, String> },
}

/// Reads capture's state, this snapshot's position in the log and the changes since `prior`'s
/// (at most `limit` log rows).
pub(crate) async fn log_position(
    src: &mut Source<'_>,
    prior: Option<&DayStore>,
    limit: i64,
) -> Result<LogPosition, sqlx::Error> {
    let dialect = src.dialect();
    let (capture, _) = read_state(src.connection(), dialect).await?;
    let Capture::Ready { epoch, pruned } = capture.clone() else {
        if let Capture::Incomplete(why) = &capture {
            tracing::warn!(%why, "change capture is installed but incomplete; runs re-read the settle window");
        }
        return Ok(LogPosition::Unused(capture));
    };
    let cursor = read_cursor(src.connection(), dialect).await?;
    let mark = CaptureMark { epoch: epoch.clone(), cursor };
    let batch = match prior.map(|p| p.capture()) {
        None => Err("no stored days".to_string()),
        Some(None) => Err("the stored days were read without change capture".to_string()),
        Some(Some(m)) if m.epoch != epoch => Err("change capture was installed again since".to_string()),
        Some(Some(m)) if pruned > m.cursor.horizon() => {
            Err("the change log was pruned past the stored days' position (another consumer?)".to_string())
        }
        Some(Some(m)) => {
            match read_changes(src.connection(), dialect, &m.cursor, &mark.cursor, limit).await? {
                Some(batch) => Ok(batch),
                None => Err(format!("more than {limit} changes were logged since the last run")),
            }
        }
    };
    Ok(LogPosition::Ready { mark, batch })
}

/// The day store of a run: `prior` refreshed, or every day read again when there is none or it
/// cannot be refreshed. With change capture a refresh applies the logged changes; without it,
/// it re-reads the settle window. The days the windows cut partway get hour slots: those a
/// refresh re-reads are read by the hour instead of whole, the others once, by the second run
/// of a process (see [`DayStore::hours_wanted`]).
async fn run_days(
    src: &mut Source<'_>,
    ctx: &RunContext,
    now: DateTime<Utc>,
    run_id: i64,
    prior: Option<&(i64, Arc<DayStore>)>,
    windows: &[Window],
) -> Result<RunDays, sqlx::Error> {
    let span_start = DayStore::span_start_for(ctx.daily_window, now);
    let position = log_position(src, prior.map(|(_, p)| p.as_ref()), MAX_LOG_ROWS).await?;
    let (capture, mark) = match &position {
        LogPosition::Unused(c) => (c.name(), None),
        LogPosition::Ready { mark, .. } => ("installed", Some(mark.clone())),
    };
    let since = match &position {
        LogPosition::Unused(_) => Ok(Since::Settle(ctx.settle_days)),
        LogPosition::Ready { mark, batch: Ok(batch) } => Ok(Since::Log(batch, mark)),
        LogPosition::Ready { batch: Err(why), .. } => Err(why.clone()),
    };
    // With capture the store keeps today open (see `DayStore::set_open`): read by the hour when
    // it is new, then kept by the logged changes.
    let today = DayStore::end_of_whole_days(ctx.settings.tz, now);
    match (prior, since) {
        (Some((prior_run, prior)), Ok(since)) => {
            let partial = live::partial_dates(ctx.settings.tz, windows);
            let mut wanted = prior.hours_wanted(&partial, now, since.settle_days());
            let continued = prior.open_day().is_some_and(|o| o.date == today);
            let open_wanted = matches!(since, Since::Log(..)) && !continued;
            if open_wanted {
                wanted.insert(today);
            }
            let mut hourly = live::read_hours(src, &wanted).await?;
            let open = hourly.remove(&today).filter(|_| open_wanted);
            match prior.refresh(src, now, span_start, since, &mut hourly).await? {
                Ok(mut r) => {
                    warn_differing(r.store.attach_hours(hourly));
                    if let Some(day) = open {
                        r.store.set_open(day);
                    }
                    let drift =
                        r.store.check_drift(src, run_id, &r.read, matches!(since, Since::Log(..))).await?;
                    report_drift(&drift, capture);
                    r.changed.extend(drift.repaired.iter().copied());
                    r.changed.sort();
                    r.changed.dedup();
                    let changes_applied = match since {
                        Since::Log(batch, _) => Some(batch.changes.len()),
                        Since::Settle(_) => None,
                    };
                    return Ok(RunDays {
                        store: Arc::new(r.store),
                        kind: RunKind::Incremental,
                        reread: r.reread,
                        changes: Changes::Days {
                            dates: r.changed,
                            prior_run: *prior_run,
                            prior: prior.clone(),
                        },
                        capture,
                        changes_applied,
                        drift: Some(drift),
                    });
                }
                Err(why) => tracing::info!(?why, "stored days cannot be refreshed: this run rebuilds them"),
            }
        }
        (Some(_), Err(why)) => {
            tracing::info!(%why, "the change log cannot continue the stored days: this run rebuilds them")
        }
        (None, _) => {}
    }
    // Without slots: the next runs give them to the days that need them (see `hours_wanted`).
    let mut store = DayStore::build(src, span_start, now, run_id, mark.clone()).await?;
    if mark.is_some() {
        let mut open = live::read_hours(src, &[today].into_iter().collect()).await?;
        if let Some(day) = open.remove(&today) {
            store.set_open(day);
        }
    }
    let reread = store.len();
    Ok(RunDays {
        store: Arc::new(store),
        kind: RunKind::Full,
        reread,
        changes: Changes::All,
        capture,
        changes_applied: None,
        drift: None,
    })
}

/// Logs what the drift checks found: expected now and then without change capture (a delete, an
/// update older than the settle window), a broken log with it.
fn report_drift(drift: &Drift, capture: &str) {
    if !drift.found() {
        return;
    }
    let findings = drift.findings.join("; ");
    if capture == "installed" {
        tracing::error!(%findings, repaired = ?drift.repaired, "stored days differed from the platform although change capture is installed: \
            were its triggers disabled (a restore with triggers off)? The days found were read again; `recompute --full` rebuilds the rest");
    } else {
        tracing::warn!(%findings, repaired = ?drift.repaired, "stored days differed from the platform (a change the settle window cannot see): \
            the days found were read again; the scheduled full rebuild catches the rest, change capture (`capture install`) all of it");
    }
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
/// rebuilt), then every payload folded from it, then today so far (for `analytics_daily`).
async fn read_platform(
    ctx: &RunContext,
    now: DateTime<Utc>,
    run_id: i64,
    prior: Option<(i64, Arc<DayStore>)>,
) -> Result<(Vec<Snapshot>, RunDays, Day), RunError> {
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
        let days = run_days(&mut src, ctx, now, run_id, prior.as_ref(), &windows).await?;
        src.set_days(Some(days.store.clone()));
        // Every window's partial days in one read per fact, instead of a few reads per window.
        live::prefetch(&mut src, &windows).await?;
        let mut payloads = Vec::with_capacity(jobs.len());
        for (endpoint, window) in &jobs {
            payloads.push(compute(&mut src, *endpoint, window, &TxFilter::default()).await?.into_value());
        }
        let today = today::so_far(&mut src, now).await?;
        Ok::<_, MetricError>((payloads, days, today))
    };
    let (payloads, days, today) = within_budget(ctx, jobs.len(), compute_all).await?;
    tx.rollback().await.map_err(|e| platform_error(&e))?;
    let snapshots = jobs
        .iter()
        .zip(payloads)
        .map(|((endpoint, window), payload)| Snapshot::new(*endpoint, window.period_days, payload, now))
        .collect();
    Ok((snapshots, days, today))
}

/// Awaits `reads` of `jobs` payloads for at most one statement timeout per job: SQLite has no
/// statement timeout, so the read as a whole is bounded here on every backend.
pub(crate) async fn within_budget<T>(
    ctx: &RunContext,
    jobs: usize,
    reads: impl std::future::Future<Output = Result<T, MetricError>>,
) -> Result<T, RunError> {
    let budget = ctx.statement_timeout * u32::try_from(jobs.max(1)).unwrap_or(u32::MAX);
    match tokio::time::timeout(budget, reads).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(platform_error(&e)),
        Err(_) => Err(RunError::Platform(format!("platform reads took longer than {budget:?}"))),
    }
}

/// Opens the read transaction a run reads the platform in: on PostgreSQL one `REPEATABLE
/// READ, READ ONLY` snapshot with the statement timeout.
pub(crate) async fn begin_read<'c>(
    conn: &'c mut sqlx::pool::PoolConnection<sqlx::Any>,
    ctx: &RunContext,
) -> Result<sqlx::Transaction<'c, sqlx::Any>, RunError> {
    let mut tx = conn.begin().await.map_err(|e| platform_error(&e))?;
    limit_read(&mut tx, ctx.platform.dialect, ReadScope::Snapshot, Some(ctx.statement_timeout))
        .await
        .map_err(|e| platform_error(&e))?;
    Ok(tx)
}

/// Computes `jobs` through `src` (one read snapshot): every window's live parts first, then
/// each payload folded from them. Also returns the day store the payloads were folded from.
pub(crate) async fn compute_jobs(
    src: &mut Source<'_>,
    jobs: &[(Endpoint, Window)],
) -> Result<(Vec<Value>, Option<Arc<DayStore>>), MetricError> {
    let mut windows: Vec<Window> = Vec::new();
    for (_, w) in jobs {
        if !windows.contains(w) {
            windows.push(*w);
        }
    }
    let store = prefetch(src, &windows).await?;
    let mut payloads = Vec::with_capacity(jobs.len());
    for (endpoint, window) in jobs {
        payloads.push(compute(src, *endpoint, window, &TxFilter::default()).await?.into_value());
    }
    Ok((payloads, store))
}
