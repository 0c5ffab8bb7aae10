//! The HTTP layer: Django-compatible routes under `/api/analytics/`, served from the in-memory
//! snapshots when the window is a common one, computed on demand otherwise.

pub mod admin;
pub mod auth;
pub mod days;
pub mod error;
pub mod handlers;
pub mod ondemand;
pub mod params;
pub mod prom;
pub mod response;
pub mod snapshots;
pub mod startup;

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::db::Db;
use crate::materializer::Materializer;
use crate::metrics::{Endpoint, MetricSettings};
use auth::{TokenVerifier, UserCache};
use days::DayKeeper;
use error::ApiError;
use ondemand::OnDemand;
use prom::Registry;
use snapshots::SnapshotCache;

/// Everything handlers share.
pub struct AppState {
    /// Platform database (on-demand windows, user checks).
    pub platform: Db,
    /// Summary database (snapshots, runs).
    pub summary: Db,
    /// Business settings.
    pub settings: MetricSettings,
    /// Common windows.
    pub windows: Vec<i64>,
    /// The cron schedule, when this instance runs one.
    pub schedule: Option<String>,
    /// Latest snapshots in memory.
    pub snapshots: SnapshotCache,
    /// On-demand answers.
    pub ondemand: OnDemand,
    /// Token checks.
    pub verifier: TokenVerifier,
    /// Users' active/staff flags.
    pub users: UserCache,
    /// The run worker (admin recompute).
    pub materializer: Materializer,
    /// The day store on-demand windows fold from.
    pub days: Arc<DayKeeper>,
    /// Request and cache counters.
    pub prom: Registry,
}

/// Longest any request may take (an on-demand year of a large platform included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The router. `cors_origins` is the comma-separated allow list.
pub fn router(state: Arc<AppState>, cors_origins: &str) -> Router {
    let mut api = Router::new();
    for endpoint in Endpoint::ALL {
        let path = endpoint.path().trim_end_matches('/');
        api = api
            .route(&format!("/api/analytics/{path}"), handlers::route(endpoint))
            .route(&format!("/api/analytics/{path}/"), handlers::route(endpoint));
    }
    let both = |r: Router<Arc<AppState>>, path: &str, method: axum::routing::MethodRouter<Arc<AppState>>| {
        r.route(path, method.clone()).route(&format!("{path}/"), method)
    };
    api = both(api, "/api/analytics/reports/export", get(handlers::export));
    api = both(api, "/api/analytics/admin/recompute", post(admin::recompute));
    api = both(api, "/api/analytics/admin/runs", get(admin::runs));
    api = both(api, "/api/analytics/admin/runs/{id}", get(admin::run));
    api = both(api, "/api/analytics/admin/status", get(admin::status));
    api.route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError::MethodNotAllowed(method.to_string())
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req.extensions().get::<MatchedPath>().map_or(req.uri().path(), |m| m.as_str());
            tracing::info_span!("request", method = %req.method(), route = %route)
        }))
        .layer(cors(cors_origins))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .with_state(state)
}

fn cors(origins: &str) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH])
        .expose_headers([
            header::ETAG,
            header::CONTENT_DISPOSITION,
            axum::http::HeaderName::from_static("x-analytics-source"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Counts every answer by matched route and status, with its latency.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(req).await;
    state.prom.observe(&route, response.status().as_u16(), started.elapsed());
    response
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when snapshots are loaded or the platform database answers (so on-demand works).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let snapshots = !state.snapshots.is_empty();
    let ready = snapshots || state.platform.reachable().await;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "ready": ready, "snapshots_loaded": snapshots }))).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut extra = String::new();
    extra.push_str("# HELP analytics_snapshot_age_seconds Age of each loaded snapshot.\n");
    extra.push_str("# TYPE analytics_snapshot_age_seconds gauge\n");
    let now = Utc::now();
    for ((endpoint, days), s) in state.snapshots.all().iter() {
        let age = (now - s.computed_at).num_milliseconds() as f64 / 1000.0;
        let _ = writeln!(
            extra,
            "analytics_snapshot_age_seconds{{endpoint=\"{}\",window_days=\"{days}\"}} {age}",
            endpoint.name()
        );
    }
    if let Some(store) = state.days.store() {
        // Operators see how old the days on-demand windows fold from are, and what they cost.
        let age = (now - store.read_at()).num_milliseconds() as f64 / 1000.0;
        extra.push_str(
            "# HELP analytics_day_store_age_seconds Age of the day store on-demand windows fold from.\n",
        );
        extra.push_str("# TYPE analytics_day_store_age_seconds gauge\n");
        let _ = writeln!(extra, "analytics_day_store_age_seconds {age}");
        extra.push_str("# HELP analytics_day_store_bytes Approximate size of the day store.\n");
        extra.push_str("# TYPE analytics_day_store_bytes gauge\n");
        let _ = writeln!(extra, "analytics_day_store_bytes {}", store.approx_bytes());
    }
    let runs = async {
        let mut conn = state.summary.pool.acquire().await?;
        let mut q = crate::db::Sql::new(state.summary.dialect);
        q.push(
            "SELECT status, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT) FROM analytics_run GROUP BY status",
        );
        q.fetch_all(&mut conn).await
    };
    if let Ok(Ok(rows)) = tokio::time::timeout(Duration::from_secs(2), runs).await {
        use sqlx::Row;
        extra.push_str("# HELP analytics_runs_total Materializer runs by outcome (all instances).\n");
        extra.push_str("# TYPE analytics_runs_total counter\n");
        let mut durations = String::from(
            "# HELP analytics_run_duration_seconds_sum Total run time by outcome.\n# TYPE analytics_run_duration_seconds_sum counter\n",
        );
        for row in rows {
            let status: String = row.try_get(0).unwrap_or_default();
            let n: i64 = row.try_get(1).unwrap_or_default();
            let ms: i64 = row.try_get(2).unwrap_or_default();
            let _ = writeln!(extra, "analytics_runs_total{{status=\"{status}\"}} {n}");
            let _ = writeln!(
                durations,
                "analytics_run_duration_seconds_sum{{status=\"{status}\"}} {}",
                ms as f64 / 1000.0
            );
        }
        extra.push_str(&durations);
    }
    let mut response = state.prom.render(&extra).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// Keeps the in-memory snapshots in step with the summary database.
pub fn spawn_reloader(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            state.days.catch_up(state.snapshots.run_id());
            tokio::time::sleep(every).await;
            if let Err(e) = state.snapshots.refresh(&state.summary).await {
                tracing::warn!(error = %e, "could not check for new snapshots; serving the loaded ones");
            }
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// A bound server: the address is known before it serves (tests bind port 0).
pub struct Application {
    listener: tokio::net::TcpListener,
    app: Router,
}

impl Application {
    /// Binds `addr` and builds the router.
    pub async fn bind(
        addr: SocketAddr,
        state: Arc<AppState>,
        cors_origins: &str,
    ) -> std::io::Result<Application> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Application { listener, app: router(state, cors_origins) })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.app).with_graceful_shutdown(shutdown).await
    }
}
