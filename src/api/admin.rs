//! Operator routes: trigger a run, list runs, and see the state of snapshots and databases.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use super::auth::StaffUser;
use super::bodies::*;
use super::error::{ApiError, SummaryDb};
use super::params::Params;
use super::AppState;
use crate::materializer::schedule::Cadence;
use crate::materializer::store::{list_runs, RunFilter, RunRecord};
use crate::materializer::{RunKind, RunTrigger};
use crate::task::TaskHealth;
use crate::time::rfc3339_micros;

/// How long `POST recompute` waits to learn the run id before answering 202.
const START_WAIT: Duration = Duration::from_secs(2);
/// How long `?wait=true` waits for the run to finish.
const FINISH_WAIT: Duration = Duration::from_secs(60);

/// `POST admin/recompute/`: 202 `{run_id, status, coalesced}`; `?wait=true` answers 200 with the
/// finished run (or 202 if it takes longer than 60 s); `?full=true` rebuilds the stored days.
pub async fn recompute(
    State(state): State<Arc<AppState>>,
    user: StaffUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = Params::new(pairs);
    let wait = match params.get("wait") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("wait must be true or false (got {other:?})")))
        }
    };
    let kind = match params.get("full") {
        None | Some("false") | Some("0") => RunKind::Incremental,
        Some("true") | Some("1") => RunKind::Full,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("full must be true or false (got {other:?})")))
        }
    };
    throttle(&state).await?;
    let ticket = state.materializer.request_as(RunTrigger::Admin, Some(user.id), kind).await;
    let coalesced = ticket.coalesced;
    let run_id = tokio::time::timeout(START_WAIT, ticket.started).await.ok().and_then(Result::ok).flatten();
    if wait {
        if let Ok(Ok(outcome)) = tokio::time::timeout(FINISH_WAIT, ticket.finished).await {
            if let Some(id) = outcome.run_id {
                // Serve the new numbers at once rather than at the next reload tick.
                if let Err(e) = state.snapshots.refresh(&state.summary, &state.windows).await {
                    tracing::warn!(error = %e, "could not reload snapshots after the run");
                }
                let run = load_run(&state, id).await?.ok_or(ApiError::NotFound)?;
                return Ok((StatusCode::OK, Json(run)).into_response());
            }
            return Err(ApiError::Unavailable(format!(
                "the run could not start: {}",
                outcome.error.unwrap_or_default()
            )));
        }
    }
    let status = if run_id.is_some() { RecomputeState::Running } else { RecomputeState::Queued };
    Ok((StatusCode::ACCEPTED, Json(RecomputeAccepted { run_id, status, coalesced })).into_response())
}

/// Refuses an admin-triggered run sooner than `ANALYTICS_ADMIN_MIN_INTERVAL` after the last
/// one started, on any instance (the summary database knows them all): each run holds a
/// long read transaction on the platform's primary, and a script looping on this route must
/// not keep one open back to back.
async fn throttle(state: &AppState) -> Result<(), ApiError> {
    let interval = state.admin_min_interval;
    if interval.is_zero() {
        return Ok(());
    }
    let last = list_runs(&state.summary, RunFilter::LastAdmin).await.map_err(SummaryDb)?;
    let Some(started) = last
        .first()
        .and_then(|r| r.started_at.as_deref())
        .and_then(|t| t.parse::<chrono::DateTime<Utc>>().ok())
    else {
        return Ok(());
    };
    let since = (Utc::now() - started).to_std().unwrap_or_default();
    if since >= interval {
        return Ok(());
    }
    let wait = interval - since;
    let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Err(ApiError::TooManyRequests {
        detail: format!(
            "An admin-triggered run started {} s ago; runs may be triggered at most every {} s \
             (ANALYTICS_ADMIN_MIN_INTERVAL). Retry in {retry_after} s; scheduled runs keep the numbers fresh meanwhile.",
            since.as_secs(),
            interval.as_secs()
        ),
        retry_after,
    })
}

async fn load_run(state: &AppState, id: i64) -> Result<Option<RunRecord>, ApiError> {
    Ok(list_runs(&state.summary, RunFilter::Id(id)).await.map_err(SummaryDb)?.pop())
}

/// `GET admin/runs/`: the newest 50 runs.
pub async fn runs(State(state): State<Arc<AppState>>, _user: StaffUser) -> Result<Json<RunList>, ApiError> {
    let runs = list_runs(&state.summary, RunFilter::Newest(50)).await.map_err(SummaryDb)?;
    Ok(Json(RunList { count: runs.len(), runs }))
}

/// `GET admin/runs/{id}/`.
pub async fn run(
    State(state): State<Arc<AppState>>,
    _user: StaffUser,
    Path(id): Path<String>,
) -> Result<Json<RunRecord>, ApiError> {
    let id: i64 = id.trim_end_matches('/').parse().map_err(|_| ApiError::NotFound)?;
    load_run(&state, id).await?.map(Json).ok_or(ApiError::NotFound)
}

/// `GET admin/status/`: snapshot ages and staleness, next scheduled run and full rebuild, the
/// day store, last error, database reachability.
pub async fn status(State(state): State<Arc<AppState>>, _user: StaffUser) -> Result<Json<Status>, ApiError> {
    let now = Utc::now();
    let stale_after = state.cadence.stale_after;
    let mut snapshots: Vec<SnapshotAge> = state
        .snapshots
        .all()
        .iter()
        .map(|((endpoint, days), s)| {
            let age = now - s.computed_at;
            SnapshotAge {
                endpoint: endpoint.path().to_string(),
                window_days: *days,
                computed_at: rfc3339_micros(s.computed_at),
                age_seconds: age.num_seconds(),
                run_id: s.run_id,
                stale: stale_after.is_some_and(|limit| age.to_std().is_ok_and(|a| a > limit)),
            }
        })
        .collect();
    snapshots.sort_by(|a, b| (&a.endpoint, a.window_days).cmp(&(&b.endpoint, b.window_days)));
    // The status page must answer while the summary database is down: it says so below.
    let last_error = list_runs(&state.summary, RunFilter::LastFailed).await.ok().and_then(|mut r| r.pop());
    // Read from the run rows with the snapshots (as /metrics reads them): both change only
    // when a run lands, and the snapshots are reloaded then.
    let last_full_rebuild_at = state.snapshots.last_full_rebuild().map(rfc3339_micros);
    let platform_lag_ms = state.snapshots.platform_lag_ms();
    let newest = state.snapshots.newest_success();
    let capture = CaptureState {
        mode: newest.as_ref().and_then(|r| r.capture.clone()),
        run_id: newest.as_ref().map(|r| r.id),
        changes_applied: newest.as_ref().and_then(|r| r.changes_applied),
        log_rows: newest.as_ref().and_then(|r| r.capture_log_rows),
    };
    let drift = DriftState {
        run_id: newest.as_ref().map(|r| r.id),
        findings: newest.as_ref().and_then(|r| r.drift_findings),
        detail: newest.as_ref().and_then(|r| r.drift.clone()),
    };
    let cadence = &state.cadence;
    let next_run = Cadence::next_after(cadence.schedule.as_deref(), now);
    let next_rebuild = Cadence::next_after(cadence.rebuild_schedule.as_deref(), now);
    // What on-demand windows fold from: null until a run or a background read has made one.
    let day_store = state.days.current().map(|(run_id, store)| DayStoreState {
        run_id,
        read_at: rfc3339_micros(store.read_at()),
        age_seconds: (now - store.read_at()).num_seconds(),
        first_day_starts_at: rfc3339_micros(store.start()),
        days: store.len(),
        approx_bytes: store.approx_bytes(),
    });
    let task = |health: &TaskHealth| TaskState {
        restarts: health.restarts(),
        last_panic: health.last_panic().map(|(at, message)| TaskPanic { at: rfc3339_micros(at), message }),
    };
    let (platform, summary) = tokio::join!(state.platform.reachable(), state.summary.reachable());
    Ok(Json(Status {
        tasks: Tasks { run_worker: task(state.materializer.health()), reloader: task(&state.reloader) },
        snapshots,
        day_store,
        windows: state.windows.clone(),
        generated_at: rfc3339_micros(now),
        schedule: cadence.schedule.clone(),
        next_scheduled_run: next_run.map(rfc3339_micros),
        rebuild_schedule: cadence.rebuild_schedule.clone(),
        next_full_rebuild: next_rebuild.map(rfc3339_micros),
        last_full_rebuild_at,
        stale_after_seconds: stale_after.map(|d| d.as_secs()),
        last_error,
        platform_lag_ms,
        capture,
        drift,
        databases: Databases {
            platform: DatabaseState { reachable: platform, kind: state.platform.dialect_name().into() },
            summary: DatabaseState { reachable: summary, kind: state.summary.dialect_name().into() },
        },
    }))
}
