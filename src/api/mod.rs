//! The HTTP layer: Django-compatible routes under `/api/analytics/`, served from the in-memory
//! snapshots when the window is a common one, computed on demand otherwise.

pub mod admin;
pub mod auth;
pub mod bodies;
pub mod console;
pub mod days;
pub mod error;
pub mod handlers;
pub mod ondemand;
pub mod openapi;
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
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::CorsOrigins;
use crate::db::Db;
use crate::materializer::schedule::Cadence;
use crate::materializer::Materializer;
use crate::metrics::{Endpoint, MetricSettings};
use crate::task::{panic_message, supervise, Shutdown, TaskHealth};
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
    /// When runs happen (for the status route and the console).
    pub cadence: Cadence,
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
    /// Shortest gap between admin-triggered runs (zero: no limit).
    pub admin_min_interval: Duration,
    /// The snapshot reloader's panics and restarts.
    pub reloader: Arc<TaskHealth>,
}

/// Longest any request may take (an on-demand year of a large platform included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Every route the API serves with its method and handler, analytics routes written with
/// their trailing slash (they are also served without it). The router and the tests that hold
/// the OpenAPI document to the router both read this one table.
fn route_handlers() -> Vec<(String, Method, axum::routing::MethodRouter<Arc<AppState>>)> {
    let mut routes: Vec<(String, Method, axum::routing::MethodRouter<Arc<AppState>>)> = Endpoint::ALL
        .into_iter()
        .map(|e| (format!("/api/analytics/{}", e.path()), Method::GET, handlers::route(e)))
        .collect();
    routes.extend([
        ("/api/analytics/reports/export/".to_string(), Method::GET, get(handlers::export)),
        ("/api/analytics/admin/recompute/".to_string(), Method::POST, post(admin::recompute)),
        ("/api/analytics/admin/runs/".to_string(), Method::GET, get(admin::runs)),
        ("/api/analytics/admin/runs/{id}/".to_string(), Method::GET, get(admin::run)),
        ("/api/analytics/admin/status/".to_string(), Method::GET, get(admin::status)),
        (console::CONSOLE_PATH.to_string(), Method::GET, get(console::page)),
        (console::ASSETS_PATH.to_string(), Method::GET, get(console::asset)),
        ("/healthz".to_string(), Method::GET, get(healthz)),
        ("/readyz".to_string(), Method::GET, get(readyz)),
        ("/metrics".to_string(), Method::GET, get(metrics)),
        (openapi::DOCUMENT_PATH.to_string(), Method::GET, get(document)),
    ]);
    routes
}

/// `(path, method)` of every route, the docs page included: what the OpenAPI document must
/// describe.
pub fn route_table() -> Vec<(String, Method)> {
    let mut table: Vec<(String, Method)> = route_handlers().into_iter().map(|(p, m, _)| (p, m)).collect();
    table.push((format!("{}/", openapi::DOCS_PATH), Method::GET));
    table
}

/// An analytics route's path without its trailing slash (also served), if it has one.
fn bare_path(path: &str) -> Option<String> {
    path.strip_prefix("/api/analytics/")
        .and_then(|p| p.strip_suffix('/'))
        .map(|b| format!("/api/analytics/{b}"))
}

/// Every path the router matches for [`route_handlers`]: what `/metrics` labels requests with.
pub fn matched_paths() -> Vec<String> {
    route_handlers().into_iter().flat_map(|(path, _, _)| bare_path(&path).into_iter().chain([path])).collect()
}

/// The router, with CORS for `cors_origins`.
pub fn router(state: Arc<AppState>, cors_origins: &CorsOrigins) -> Router {
    let mut api = Router::new();
    for (path, _, handler) in route_handlers() {
        if let Some(bare) = bare_path(&path) {
            api = api.route(&bare, handler.clone());
        }
        api = api.route(&path, handler);
    }
    // The docs page and its assets are bundled into the binary: no CDN, works offline.
    let docs: Router<Arc<AppState>> = utoipa_swagger_ui::SwaggerUi::new(openapi::DOCS_PATH)
        .config(utoipa_swagger_ui::Config::from(openapi::DOCUMENT_PATH))
        .into();
    api.merge(docs)
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
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// The OpenAPI document, serialised once per process.
async fn document() -> Response {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| openapi::document().to_json().expect("the document serialises"));
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}

/// A handler that panicked (a bug) answers a JSON 500 like any internal error, instead of
/// dropping the connection; the panic is logged.
fn panic_response(payload: Box<dyn std::any::Any + Send>) -> Response {
    ApiError::Internal(format!("handler panicked: {}", panic_message(payload))).into_response()
}

fn cors(origins: &CorsOrigins) -> CorsLayer {
    let allow = match origins {
        // Tokens travel in the Authorization header, never in cookies: any origin may read.
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(
            list.iter().map(|o| HeaderValue::from_str(o).expect("validated when the setting was parsed")),
        ),
    };
    CorsLayer::new()
        .allow_origin(allow)
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
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(req).await;
    state.prom.observe(
        route.as_ref().map(MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn healthz() -> Json<bodies::Health> {
    Json(bodies::Health { status: "ok".into() })
}

/// Ready when snapshots are loaded or the platform database answers (so on-demand works).
/// The body also says what is wrong short of not ready: a database that does not answer, a
/// background task that panicked and was started again.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let snapshots = !state.snapshots.is_empty();
    let (platform, summary) = tokio::join!(state.platform.reachable(), state.summary.reachable());
    let ready = snapshots || platform;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = bodies::Readiness {
        ready,
        snapshots_loaded: snapshots,
        platform_reachable: platform,
        summary_reachable: summary,
        run_worker_restarts: state.materializer.health().restarts(),
        reloader_restarts: state.reloader.restarts(),
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut extra = String::new();
    extra.push_str("# HELP analytics_snapshot_age_seconds Age of each snapshot this instance serves (the run that computed it may be any instance).\n");
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
            "# HELP analytics_day_store_age_seconds Age of the day store this instance folds on-demand windows from.\n",
        );
        extra.push_str("# TYPE analytics_day_store_age_seconds gauge\n");
        let _ = writeln!(extra, "analytics_day_store_age_seconds {age}");
        extra.push_str("# HELP analytics_day_store_bytes Approximate size of this instance's day store.\n");
        extra.push_str("# TYPE analytics_day_store_bytes gauge\n");
        let _ = writeln!(extra, "analytics_day_store_bytes {}", store.approx_bytes());
    }
    if let Some(at) = state.snapshots.last_full_rebuild() {
        // Read with the snapshots: when any instance last rebuilt every stored day.
        extra.push_str("# HELP analytics_last_full_rebuild_timestamp_seconds When the newest successful full rebuild of the stored days finished (any instance), Unix seconds.\n");
        extra.push_str("# TYPE analytics_last_full_rebuild_timestamp_seconds gauge\n");
        let _ = writeln!(
            extra,
            "analytics_last_full_rebuild_timestamp_seconds {}",
            at.timestamp_micros() as f64 / 1e6
        );
    }
    if let Some(lag) = state.snapshots.platform_lag_ms() {
        // Read with the snapshots: a standby that lags stamps runs minutes in the past.
        extra.push_str("# HELP analytics_platform_lag_seconds How far behind the wall clock the platform data of the newest successful run was (a hot standby's replay lag; 0 on a primary).\n");
        extra.push_str("# TYPE analytics_platform_lag_seconds gauge\n");
        let _ = writeln!(extra, "analytics_platform_lag_seconds {}", lag as f64 / 1000.0);
    }
    if let Some(run) = state.snapshots.newest_success() {
        // Read with the snapshots, from the newest successful run (any instance).
        if let Some(mode) = &run.capture {
            extra.push_str("# HELP analytics_capture_mode How runs learn the platform's changes (1 for the mode the newest successful run found: installed, absent or incomplete).\n");
            extra.push_str("# TYPE analytics_capture_mode gauge\n");
            let _ = writeln!(extra, "analytics_capture_mode{{mode=\"{mode}\"}} 1");
        }
        if let Some(rows) = run.capture_log_rows {
            extra.push_str("# HELP analytics_capture_log_rows Rows left in the platform's change log after the newest successful run (counted up to 1e6).\n");
            extra.push_str("# TYPE analytics_capture_log_rows gauge\n");
            let _ = writeln!(extra, "analytics_capture_log_rows {rows}");
        }
        if let Some(findings) = run.drift_findings {
            extra.push_str("# HELP analytics_drift_findings Differences the newest successful run's drift checks found between the stored days and the platform.\n");
            extra.push_str("# TYPE analytics_drift_findings gauge\n");
            let _ = writeln!(extra, "analytics_drift_findings {findings}");
        }
    }
    // Runs are counted by this instance's worker, in memory: a scrape never queries a
    // database, so scrapes cost nothing and cannot starve requests.
    extra.push_str("# HELP analytics_runs_total Runs this instance's worker finished, by outcome (per instance; sum over instances for the total).\n");
    extra.push_str("# TYPE analytics_runs_total counter\n");
    let stats = state.materializer.stats().snapshot();
    for (outcome, n, _) in &stats {
        let _ = writeln!(extra, "analytics_runs_total{{status=\"{}\"}} {n}", outcome.as_str());
    }
    extra.push_str("# HELP analytics_run_duration_seconds_sum Time this instance's runs took, by outcome (per instance).\n");
    extra.push_str("# TYPE analytics_run_duration_seconds_sum counter\n");
    for (outcome, _, seconds) in &stats {
        let _ = writeln!(
            extra,
            "analytics_run_duration_seconds_sum{{status=\"{}\"}} {seconds}",
            outcome.as_str()
        );
    }
    extra.push_str("# HELP analytics_task_restarts_total Background tasks of this instance that panicked and were started again (per instance).\n");
    extra.push_str("# TYPE analytics_task_restarts_total counter\n");
    let _ = writeln!(
        extra,
        "analytics_task_restarts_total{{task=\"run_worker\"}} {}",
        state.materializer.health().restarts()
    );
    let _ =
        writeln!(extra, "analytics_task_restarts_total{{task=\"reloader\"}} {}", state.reloader.restarts());
    let mut response = state.prom.render(&extra).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// Keeps the in-memory snapshots in step with the summary database until `shutdown`;
/// supervised, so a panic is logged, counted in `state.reloader` and the reloader restarts.
pub fn spawn_reloader(
    state: Arc<AppState>,
    every: Duration,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    let health = state.reloader.clone();
    supervise("snapshot reloader", health, move || {
        let (state, shutdown) = (state.clone(), shutdown.clone());
        async move {
            loop {
                state.days.catch_up(state.snapshots.run_id());
                state.prom.upkeep();
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.triggered() => return,
                }
                if let Err(e) = state.snapshots.refresh(&state.summary, &state.windows).await {
                    tracing::warn!(error = %e, "could not check for new snapshots; serving the loaded ones");
                }
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
        cors_origins: &CorsOrigins,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500_and_the_server_keeps_serving() {
        let app = Router::new()
            .route("/boom", get(|| async { panic!("a bug") as &str }))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(panic_response));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let res = reqwest::get(format!("{base}/boom")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({ "detail": "A server error occurred." })
        );
        assert_eq!(reqwest::get(format!("{base}/fine")).await.unwrap().text().await.unwrap(), "fine");
    }
}
