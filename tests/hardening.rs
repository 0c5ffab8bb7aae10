//! No request can crash, starve or outlive a revocation: each case through the real server.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::app::{spawn_app, spawn_app_with, App, AppOptions};
use common::Backend;
use mafita_analytics::api::ondemand::Limits;
use mafita_analytics::config::CorsOrigins;
use mafita_analytics::materializer::store::{list_runs, RunFilter};
use mafita_analytics::materializer::{run_once, Faults, RunStatus, RunTrigger};
use reqwest::StatusCode;
use serde_json::Value;

async fn detail(res: reqwest::Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["detail"].as_str().unwrap_or_default().to_string()
}

async fn sql(app: &App, statement: &str) {
    sqlx::query(statement).execute(&app.db.db.pool).await.unwrap();
}

#[tokio::test]
async fn dates_at_the_ends_of_the_calendar_are_a_400_naming_the_parameter() {
    let app = spawn_app(Backend::Sqlite).await;
    for (path, name) in [
        ("/api/analytics/dashboard/overview/?date_to=-262143-01-01", "date_to"),
        ("/api/analytics/dashboard/overview/?date_from=-262143-01-01&date_to=-262143-01-02", "date_to"),
        ("/api/analytics/dashboard/overview/?date_from=1969-12-31&date_to=1970-01-05", "date_from"),
        ("/api/analytics/revenue/?date_from=0001-01-01&date_to=0001-01-05", "date_to"),
        ("/api/analytics/users/?date_from=%2B262142-12-31", "date_from"),
        ("/api/analytics/reports/export/?report_type=daily&date_to=-262143-01-01", "date_to"),
        ("/api/analytics/reports/export/?type=users&date_to=1969-12-31", "date_to"),
    ] {
        let res = app.staff_get(path).await;
        let status = res.status();
        let detail = detail(res).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {detail}");
        assert!(detail.contains(name), "{path}: {detail}");
    }
    // The server is still there.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_star_lets_any_origin_read_and_a_list_only_its_origins() {
    let app =
        spawn_app_with(Backend::Sqlite, AppOptions { cors: CorsOrigins::Any, ..AppOptions::default() }).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/api/analytics/kpis/", app.base))
        .header("origin", "https://bi.example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let listed = spawn_app(Backend::Sqlite).await;
    let other = listed
        .client
        .get(format!("{}/healthz", listed.base))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_bad_cors_origin_stops_serve_with_a_message_naming_the_variable() {
    for bad in ["https://admin.mafitapay.com/", "admin.mafitapay.com", "*,https://a.com"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
            .arg("serve")
            .env("DATABASE_URL", "sqlite:///nonexistent/never-opened.sqlite3")
            .env("ANALYTICS_JWT_SECRET", "x")
            .env("ANALYTICS_CORS_ORIGINS", bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("ANALYTICS_CORS_ORIGINS"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// With every on-demand slot taken, an uncommon window waits for the queue timeout and gets a
/// 503 with `Retry-After`, while snapshots and token checks carry on; with every platform
/// connection taken, token checks still have their own pool.
#[tokio::test]
async fn busy_on_demand_slots_and_platform_pool_starve_neither_snapshots_nor_token_checks() {
    let limits =
        Limits { concurrency: 1, queue_timeout: Duration::from_millis(300), ..AppOptions::default().limits };
    let app = spawn_app_with(Backend::Sqlite, AppOptions { limits, ..AppOptions::default() }).await;
    let held = app.state.ondemand.slot().await.unwrap();
    let res = app.staff_get("/api/analytics/revenue/?days=13").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(detail(res).await.contains("on-demand"));
    let res = app.staff_get("/api/analytics/reports/export/?type=users").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.staff_get("/api/analytics/revenue/?days=7").await.status(), StatusCode::OK);
    drop(held);
    assert_eq!(app.staff_get("/api/analytics/revenue/?days=13").await.status(), StatusCode::OK);

    // Every platform connection busy: a user never seen before is still checked.
    let mut taken = Vec::new();
    for _ in 0..4 {
        taken.push(app.state.platform.pool.acquire().await.unwrap());
    }
    let res = app.get("/api/analytics/kpis/?days=30", Some(&app.token(2))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "user 2 is not staff: the check ran");
    drop(taken);
}

backend_test! {
    /// Flags are reused for the TTL only; past it, a database that answers decides — an error
    /// included — and only a database that cannot be connected to lets the last flags stand in,
    /// for the configured time.
    async fn user_flags_stand_in_only_while_the_database_cannot_be_connected_to(backend: Backend) {
        let options = AppOptions { auth_ttl: Duration::from_millis(300), ..AppOptions::default() };
        let app = spawn_app_with(backend, options).await;
        let path = "/api/analytics/kpis/?days=7";
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);

        // Demoted: refused once the TTL has passed.
        sql(&app, "UPDATE accounts_user SET is_staff = FALSE WHERE id = 1").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(app.staff_get(path).await.status(), StatusCode::FORBIDDEN, "{backend:?}");
        sql(&app, "UPDATE accounts_user SET is_staff = TRUE WHERE id = 1").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);

        // The database answers with an error: no stand-in.
        sql(&app, "ALTER TABLE accounts_user RENAME TO accounts_user_moved").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let res = app.staff_get(path).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{backend:?}");
        assert!(!detail(res).await.contains("accounts_user"), "no SQL in answers");
        sql(&app, "ALTER TABLE accounts_user_moved RENAME TO accounts_user").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);

        // The database cannot be connected to: the known user's last flags stand in, an
        // unknown one gets a 503.
        app.state.users.db().pool.close().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK, "{backend:?}");
        let res = app.get(path, Some(&app.token(3))).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(detail(res).await.contains("temporarily unavailable"));
    }
}

#[tokio::test]
async fn stand_ins_end_after_the_configured_time() {
    let options = AppOptions {
        auth_ttl: Duration::from_millis(200),
        stale_if_unreachable: Duration::from_millis(300),
        ..AppOptions::default()
    };
    let app = spawn_app_with(Backend::Sqlite, options).await;
    let path = "/api/analytics/kpis/?days=7";
    assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);
    app.state.users.db().pool.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.staff_get(path).await.status(), StatusCode::OK, "inside TTL + stand-in time");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.staff_get(path).await.status(), StatusCode::SERVICE_UNAVAILABLE, "past it");
}

backend_test! {
    async fn admin_runs_closer_than_the_minimum_interval_are_429_with_retry_after(backend: Backend) {
        let options = AppOptions { admin_min_interval: Duration::from_secs(60), ..AppOptions::default() };
        let app = spawn_app_with(backend, options).await;
        let first = app.staff_post("/api/analytics/admin/recompute/?wait=true").await;
        assert_eq!(first.status(), StatusCode::OK);
        let second = app.staff_post("/api/analytics/admin/recompute/").await;
        assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = second.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(detail(second).await.contains("ANALYTICS_ADMIN_MIN_INTERVAL"));
        // Scheduled and CLI runs are not throttled: only admin-triggered ones are.
        let ticket = app.state.materializer.request(RunTrigger::Schedule, None).await;
        assert!(ticket.finished.await.unwrap().succeeded());
        let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        let admin_runs = runs["runs"].as_array().unwrap().iter().filter(|r| r["trigger"] == "admin").count();
        assert_eq!(admin_runs, 1, "{backend:?}");
    }
}

async fn run_row(app: &App, id: i64) -> Value {
    app.staff_get(&format!("/api/analytics/admin/runs/{id}/")).await.json().await.unwrap()
}

async fn lease_rows(app: &App) -> i64 {
    use sqlx::Row;
    let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_lease")
        .fetch_one(&app.db.db.pool)
        .await
        .unwrap();
    row.get(0)
}

backend_test! {
    /// Stopping the server cancels a run in progress: recorded as failed with a `cancelled:`
    /// error, nothing stored, the lease released at once (not after its TTL).
    async fn stopping_cancels_a_run_records_it_and_releases_the_lease(backend: Backend) {
        let faults = Faults { stall: Some(Duration::from_secs(30)), ..Faults::default() };
        let app = spawn_app_with(backend, AppOptions { faults, ..AppOptions::default() }).await;
        let snapshots_before = app.state.snapshots.run_id();
        let ticket = app.state.materializer.request(RunTrigger::Admin, Some(1)).await;
        let run_id = ticket.started.await.unwrap().unwrap();
        assert_eq!(run_row(&app, run_id).await["status"], "running");
        assert_eq!(lease_rows(&app).await, 1);
        let stopping = Instant::now();
        app.state.materializer.stop().await;
        assert!(stopping.elapsed() < Duration::from_secs(10), "did not wait for the stalled run");
        let outcome = ticket.finished.await.unwrap();
        assert!(outcome.error.as_deref().unwrap().starts_with("cancelled:"), "{outcome:?}");
        let row = run_row(&app, run_id).await;
        assert_eq!(row["status"], "failed", "{backend:?}");
        assert!(row["error"].as_str().unwrap().starts_with("cancelled:"), "{row}");
        assert_eq!(lease_rows(&app).await, 0, "lease released");
        app.state.snapshots.refresh(&app.state.summary, &app.state.windows).await.unwrap();
        assert_eq!(app.state.snapshots.run_id(), snapshots_before, "nothing of the run was stored");
    }
}

/// A run that panics does not stop runs for good: the worker starts again, `admin/status/`,
/// `/readyz` and `/metrics` say it happened, and the next run succeeds.
#[tokio::test]
async fn a_panicking_run_worker_is_restarted_and_shows_in_status() {
    let faults = Faults::default();
    faults.panics.store(1, Ordering::SeqCst);
    let app = spawn_app_with(Backend::Sqlite, AppOptions { faults, ..AppOptions::default() }).await;
    let ticket = app.state.materializer.request(RunTrigger::Admin, Some(1)).await;
    assert!(ticket.finished.await.is_err(), "the panicking run reports no outcome");
    let res = app.staff_post("/api/analytics/admin/recompute/?wait=true").await;
    assert_eq!(res.status(), StatusCode::OK);
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
    assert_eq!(status["tasks"]["run_worker"]["restarts"], 1, "{status}");
    let message = status["tasks"]["run_worker"]["last_panic"]["message"].as_str().unwrap();
    assert!(message.contains("injected fault"), "{message}");
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["run_worker_restarts"], 1);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("analytics_task_restarts_total{task=\"run_worker\"} 1"), "{metrics}");
    // The panicked run's row was marked abandoned by the next run.
    let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
    let abandoned = &runs["runs"][1];
    assert_eq!(abandoned["status"], "failed");
    assert!(abandoned["error"].as_str().unwrap().starts_with("abandoned"), "{abandoned}");
}

#[tokio::test]
async fn a_window_taken_out_of_the_configuration_is_no_longer_served_from_its_snapshot() {
    let options = AppOptions { run_windows: vec![7, 30], windows: vec![7], ..AppOptions::default() };
    let app = spawn_app_with(Backend::Sqlite, options).await;
    let res = app.staff_get("/api/analytics/users/?days=7").await;
    assert_eq!(res.headers()["x-analytics-source"], "snapshot");
    let res = app.staff_get("/api/analytics/users/?days=30").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-analytics-source"], "computed");
    let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
    let windows: Vec<i64> =
        status["snapshots"].as_array().unwrap().iter().map(|s| s["window_days"].as_i64().unwrap()).collect();
    assert_eq!(windows, vec![7; 6]);
}

#[tokio::test]
async fn a_ten_year_daily_report_has_a_row_per_day() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.staff_get("/api/analytics/reports/export/?report_type=daily&days=3650&metrics=users").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let rows = body["rows"].as_array().unwrap();
    // today − 3650 .. today, both included.
    assert_eq!(rows.len(), 3651);
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Lagos).date_naive();
    assert_eq!(rows[3650]["period"], today.to_string());
    // The seeded 120 users all joined in the last 40 days, and each is counted once.
    let joined: i64 = rows.iter().map(|r| r["new_users"].as_i64().unwrap()).sum();
    assert_eq!(joined, 120);
}

#[tokio::test]
async fn the_on_demand_cache_stays_within_its_byte_bound() {
    let limits = Limits { max_bytes: 20_000, max_entries: 1000, ..AppOptions::default().limits };
    let app = spawn_app_with(Backend::Sqlite, AppOptions { limits, ..AppOptions::default() }).await;
    let mut served = 0;
    for days in 10..30 {
        let res = app.staff_get(&format!("/api/analytics/transactions/?days={days}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        served += res.bytes().await.unwrap().len();
    }
    assert!(served > 40_000, "the answers together exceed the bound ({served} bytes)");
    let held = app.state.ondemand.weighted_bytes().await;
    assert!(held > 0 && held <= 20_000, "{held}");
}

/// `token` signs with the algorithm the service verifies with: an RS256 deployment gets RS256
/// tokens from the private key, or a message naming the setting, never an HS256 token.
#[test]
fn token_mints_rs256_when_the_service_verifies_rs256() {
    let public = include_str!("fixtures/rs256_public.pem");
    let private = include_str!("fixtures/rs256_private_test_only.pem");
    let token = |private_key: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mafita-analytics"));
        cmd.args(["token", "--user-id", "7"])
            .env("ANALYTICS_JWT_ALGORITHM", "RS256")
            .env("ANALYTICS_JWT_PUBLIC_KEY", public)
            .env("ANALYTICS_JWT_SECRET", "an-hs256-key-that-must-not-be-used");
        if let Some(key) = private_key {
            cmd.env("ANALYTICS_JWT_PRIVATE_KEY", key);
        }
        cmd.output().unwrap()
    };
    let out = token(Some(private));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let minted = String::from_utf8(out.stdout).unwrap();
    let verifier = mafita_analytics::api::auth::TokenVerifier::rs256(public, "user_id").unwrap();
    assert_eq!(verifier.verify(minted.trim()).unwrap(), 7);
    let out = token(None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ANALYTICS_JWT_PRIVATE_KEY"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A query blocked past the statement timeout (another session holds a lock on the wallet
/// table) frees its slot with a 503 naming the setting; once the lock is gone the same window
/// is computed (the failure was not cached) and snapshots were served all along.
#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn on_demand_reads_past_the_statement_timeout_are_a_503_and_free_their_slot() {
    let options = AppOptions { statement_timeout: Duration::from_millis(300), ..AppOptions::default() };
    let app = spawn_app_with(Backend::Postgres, options).await;
    let mut locker = app.db.db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE wallet_wallettransaction IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    // More blocked requests than slots (2): each frees its slot, so none waits for the queue.
    for days in [11, 12, 13] {
        let res = app.staff_get(&format!("/api/analytics/kpis/?days={days}")).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "days={days}");
        assert_eq!(res.headers()["retry-after"], "30");
        assert!(detail(res).await.contains("ANALYTICS_STATEMENT_TIMEOUT"));
    }
    let res = app.staff_get("/api/analytics/reports/export/?type=transactions&days=11").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.staff_get("/api/analytics/kpis/?days=7").await.status(), StatusCode::OK);
    locker.rollback().await.unwrap();
    let res = app.staff_get("/api/analytics/kpis/?days=11").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-analytics-source"], "computed");
}

/// Operator routes read the summary database: when it is gone they say so, naming it (not the
/// platform), and the snapshots in memory keep being served.
#[tokio::test]
async fn a_summary_database_that_is_gone_is_named_in_the_503() {
    let app = spawn_app(Backend::Sqlite).await;
    app.state.summary.pool.close().await;
    let res = app.staff_get("/api/analytics/admin/runs/").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        detail(res).await,
        "Analytics are temporarily unavailable: the summary database cannot be reached."
    );
    assert_eq!(app.staff_get("/api/analytics/kpis/?days=7").await.status(), StatusCode::OK);
}

/// The platform really goes away under the token checks (a proxy in front of it stops: open
/// connections close, new ones are refused): the known user's flags stand in past their TTL, a
/// user never seen gets a 503; once it is back, the flags are read again within the retry
/// interval, so a demotion made meanwhile takes effect.
#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn token_checks_ride_out_a_platform_that_goes_away_and_comes_back() {
    let server = common::pg_admin_url();
    let proxy = common::proxy::Proxy::start(common::proxy::server_of(&server)).await;
    let options = AppOptions {
        auth_ttl: Duration::from_millis(300),
        auth_via: Some(proxy.addr),
        ..AppOptions::default()
    };
    let app = spawn_app_with(Backend::Postgres, options).await;
    let path = "/api/analytics/kpis/?days=7";
    assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);

    proxy.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.staff_get(path).await.status(), StatusCode::OK, "the last flags stand in");
    let res = app.get(path, Some(&app.token(3))).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "no flags to stand in");
    assert!(detail(res).await.contains("platform database cannot be reached"));

    proxy.resume().await;
    sql(&app, "UPDATE accounts_user SET is_staff = FALSE WHERE id = 1").await;
    // Checks go back to the database at the latest one retry interval (3 s) after the last
    // failed connection.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(app.staff_get(path).await.status(), StatusCode::FORBIDDEN, "demotion seen once it is back");
}

backend_test! {
    /// A token-check pool that is only busy (its one connection held elsewhere) is not a
    /// database that is gone: past the TTL the request waits for the pool, then gets a 503, and
    /// the old flags never stand in; once the connection is free, checks read again.
    async fn a_busy_token_pool_is_a_503_never_a_stand_in(backend: Backend) {
        let options = AppOptions {
            auth_ttl: Duration::from_millis(200),
            auth_pool_size: 1,
            ..AppOptions::default()
        };
        let app = spawn_app_with(backend, options).await;
        let path = "/api/analytics/kpis/?days=7";
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);
        let held = app.state.users.db().pool.acquire().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.staff_get(path).await.status(), StatusCode::SERVICE_UNAVAILABLE, "{backend:?}");
        drop(held);
        assert_eq!(app.staff_get(path).await.status(), StatusCode::OK);
    }
}

backend_test! {
    /// A run whose platform database cannot be reached is recorded failed, and its error says
    /// so first instead of only "pool closed" or "pool timed out".
    async fn a_run_without_its_platform_database_says_it_cannot_be_reached(backend: Backend) {
        let db = common::seeded(backend, 30, 3).await;
        let mut ctx = common::run_context(&db, &[7]);
        ctx.platform = db.db.sibling(2, Duration::from_millis(500));
        ctx.platform.pool.close().await;
        let outcome = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
        let error = outcome.error.expect("the run failed");
        assert!(error.starts_with("platform read failed: the platform database cannot be reached: "), "{error}");
        let recorded = list_runs(&db.db, RunFilter::Newest(1)).await.unwrap().pop().unwrap();
        assert_eq!(recorded.status, RunStatus::Failed);
        assert_eq!(recorded.error.as_deref(), Some(error.as_str()));
    }
}
