//! Operator routes: trigger a run, list runs, and see the state of snapshots and databases.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};
use sqlx::Row;

use super::auth::StaffUser;
use super::error::{summary_error, ApiError};
use super::params::Params;
use super::AppState;
use crate::db::{parse_db_timestamp, Db, Sql};
use crate::materializer::{RunKind, RunTrigger};
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
                let run = load_run(&state.summary, id).await?.ok_or(ApiError::NotFound)?;
                return Ok((StatusCode::OK, Json(run)).into_response());
            }
            return Err(ApiError::Unavailable(format!(
                "the run could not start: {}",
                outcome.error.unwrap_or_default()
            )));
        }
    }
    let status = if run_id.is_some() { "running" } else { "queued" };
    Ok((StatusCode::ACCEPTED, Json(json!({ "run_id": run_id, "status": status, "coalesced": coalesced })))
        .into_response())
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
    let q = run_query(&state.summary, "WHERE trigger = 'admin' ORDER BY id DESC LIMIT 1");
    let mut conn = state.summary.pool.acquire().await.map_err(|e| summary_error(&e))?;
    let rows = q.fetch_all(&mut conn).await.map_err(|e| summary_error(&e))?;
    let last = rows.first().map(run_json).transpose().map_err(|e| summary_error(&e))?;
    let Some(started) = last
        .as_ref()
        .and_then(|r| r["started_at"].as_str())
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

const RUN_COLUMNS: &str =
    "id, trigger, requested_by, status, started_at, finished_at, duration_ms, windows, error, kind, \
     CAST(days_reread AS BIGINT)";

fn run_query(db: &Db, filter: &str) -> Sql {
    let mut q = Sql::new(db.dialect);
    let cols = RUN_COLUMNS
        .replace("started_at", &db.dialect.ts_text("started_at"))
        .replace("finished_at", &db.dialect.ts_text("finished_at"));
    q.push(&format!("SELECT {cols} FROM analytics_run {filter}"));
    q
}

fn run_json(row: &sqlx::any::AnyRow) -> Result<Value, sqlx::Error> {
    let at = |i: usize| -> Result<Value, sqlx::Error> {
        let text: Option<String> = row.try_get(i)?;
        Ok(text.as_deref().and_then(parse_db_timestamp).map_or(Value::Null, |t| json!(rfc3339_micros(t))))
    };
    let windows: String = row.try_get(7)?;
    Ok(json!({
        "id": row.try_get::<i64, _>(0)?,
        "trigger": row.try_get::<String, _>(1)?,
        "requested_by": row.try_get::<Option<i64>, _>(2)?,
        "status": row.try_get::<String, _>(3)?,
        "started_at": at(4)?,
        "finished_at": at(5)?,
        "duration_ms": row.try_get::<Option<i64>, _>(6)?,
        "windows": windows.split(',').filter_map(|w| w.parse::<i64>().ok()).collect::<Vec<_>>(),
        "error": row.try_get::<Option<String>, _>(8)?,
        "kind": row.try_get::<Option<String>, _>(9)?,
        "days_reread": row.try_get::<Option<i64>, _>(10)?,
    }))
}

async fn load_run(summary: &Db, id: i64) -> Result<Option<Value>, ApiError> {
    let mut q = run_query(summary, "WHERE id = ");
    let p = q.int(id);
    q.push(&p);
    let mut conn = summary.pool.acquire().await.map_err(|e| summary_error(&e))?;
    let rows = q.fetch_all(&mut conn).await.map_err(|e| summary_error(&e))?;
    rows.first().map(run_json).transpose().map_err(|e| summary_error(&e))
}

/// `GET admin/runs/`: the newest 50 runs.
pub async fn runs(State(state): State<Arc<AppState>>, _user: StaffUser) -> Result<Json<Value>, ApiError> {
    let q = run_query(&state.summary, "ORDER BY id DESC LIMIT 50");
    let mut conn = state.summary.pool.acquire().await.map_err(|e| summary_error(&e))?;
    let rows = q.fetch_all(&mut conn).await.map_err(|e| summary_error(&e))?;
    let runs = rows.iter().map(run_json).collect::<Result<Vec<_>, _>>().map_err(|e| summary_error(&e))?;
    Ok(Json(json!({ "runs": runs, "count": runs.len() })))
}

/// `GET admin/runs/{id}/`.
pub async fn run(
    State(state): State<Arc<AppState>>,
    _user: StaffUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.trim_end_matches('/').parse().map_err(|_| ApiError::NotFound)?;
    load_run(&state.summary, id).await?.map(Json).ok_or(ApiError::NotFound)
}

/// `GET admin/status/`: snapshot ages, next scheduled run, last error, database reachability.
pub async fn status(State(state): State<Arc<AppState>>, _user: StaffUser) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let mut snapshots: Vec<Value> = state
        .snapshots
        .all()
        .iter()
        .map(|((endpoint, days), s)| {
            json!({
                "endpoint": endpoint.path(),
                "window_days": days,
                "computed_at": rfc3339_micros(s.computed_at),
                "age_seconds": (now - s.computed_at).num_seconds(),
                "run_id": s.run_id,
            })
        })
        .collect();
    snapshots.sort_by_key(|s| (s["endpoint"].as_str().map(str::to_string), s["window_days"].as_i64()));
    let last_error = {
        let q = run_query(&state.summary, "WHERE status = 'failed' ORDER BY id DESC LIMIT 1");
        match state.summary.pool.acquire().await {
            Ok(mut conn) => {
                q.fetch_all(&mut conn).await.ok().and_then(|rows| rows.first().and_then(|r| run_json(r).ok()))
            }
            Err(_) => None,
        }
    };
    let next_run = state.schedule.as_deref().and_then(|expr| {
        croner::Cron::new(expr).with_seconds_required().parse().ok()?.find_next_occurrence(&now, false).ok()
    });
    // What on-demand windows fold from: null until a run or a background read has made one.
    let day_store = state.days.current().map(|(run_id, store)| {
        json!({
            "run_id": run_id,
            "read_at": rfc3339_micros(store.read_at()),
            "first_day_starts_at": rfc3339_micros(store.start()),
            "days": store.len(),
            "approx_bytes": store.approx_bytes(),
        })
    });
    let task = |health: &crate::task::TaskHealth| {
        json!({
            "restarts": health.restarts(),
            "last_panic": health.last_panic().map(|(at, message)| json!({ "at": rfc3339_micros(at), "message": message })),
        })
    };
    Ok(Json(json!({
        "tasks": {
            "run_worker": task(state.materializer.health()),
            "reloader": task(&state.reloader),
        },
        "snapshots": snapshots,
        "day_store": day_store,
        "windows": state.windows,
        "schedule": state.schedule,
        "next_scheduled_run": next_run.map(rfc3339_micros),
        "last_error": last_error,
        "databases": {
            "platform": { "reachable": state.platform.reachable().await, "kind": state.platform.dialect_name() },
            "summary": { "reachable": state.summary.reachable().await, "kind": state.summary.dialect_name() },
        },
    })))
}
