//! The HTTP API through a real server on a random port, over SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::app::{spawn_app, spawn_app_with, App, AppOptions};
use common::Backend;
use mafita_analytics::api::spawn_reloader;
use mafita_analytics::metrics::{compute, Endpoint, Source, TxFilter, Window};
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_TYPE, ETAG,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn direct(app: &App, endpoint: Endpoint, window: &Window) -> Value {
    let mut conn = app.db.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, app.db.db.dialect, &app.state.settings);
    compute(&mut src, endpoint, window, &TxFilter::default()).await.unwrap().into_value()
}

fn without_generated_at(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

backend_test! {
    async fn every_endpoint_serves_the_metric_payload_from_snapshot_and_on_demand(backend: Backend) {
        let app = spawn_app(backend).await;
        for endpoint in Endpoint::ALL {
            // A common window: the stored snapshot, byte for byte.
            let res = app.staff_get(&format!("/api/analytics/{}?days=7", endpoint.path())).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["x-analytics-source"], "snapshot");
            assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
            let body: Value = res.json().await.unwrap();
            let computed_at: chrono::DateTime<Utc> = body["generated_at"].as_str().unwrap().parse().unwrap();
            let window = Window::rolling(computed_at, app.state.settings.tz, 7).unwrap();
            assert_eq!(body, direct(&app, endpoint, &window).await, "{endpoint:?}");

            // An uncommon window, without the trailing slash: computed on demand.
            let path = endpoint.path().trim_end_matches('/');
            let res = app.staff_get(&format!("/api/analytics/{path}?days=45")).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["x-analytics-source"], "computed");
            let body: Value = res.json().await.unwrap();
            let now: chrono::DateTime<Utc> = body["generated_at"].as_str().unwrap().parse().unwrap();
            let window = Window::rolling(now, app.state.settings.tz, 45).unwrap();
            assert_eq!(
                without_generated_at(body),
                without_generated_at(direct(&app, endpoint, &window).await)
            );
        }
        // The dashboard's "last 30 days" buttons hit the snapshot.
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Lagos).date_naive();
        let from = today - chrono::Duration::days(30);
        let res = app.staff_get(&format!("/api/analytics/revenue/?date_from={from}&date_to={today}")).await;
        assert_eq!(res.headers()["x-analytics-source"], "snapshot");
    }
}

/// The answers' shapes (the forged-token matrix and users' flags are in tests/tokens.rs).
#[tokio::test]
async fn authentication_follows_simplejwt_and_drf() {
    let app = spawn_app(Backend::Sqlite).await;
    let path = "/api/analytics/kpis/?days=7";
    let res = app.get(path, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "detail": "Authentication credentials were not provided." })
    );
    let res = app.get(path, Some("garbage")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_not_valid");
    let res = app.get(path, Some(&app.token(2))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "detail": "You do not have permission to perform this action." })
    );
}

#[tokio::test]
async fn invalid_parameters_are_400_naming_the_parameter() {
    let app = spawn_app(Backend::Sqlite).await;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Lagos).date_naive();
    let cases = [
        ("/api/analytics/dashboard/overview/?days=0", "days"),
        ("/api/analytics/dashboard/overview/?days=3651", "days"),
        ("/api/analytics/dashboard/overview/?days=week", "days"),
        ("/api/analytics/revenue/?days=7&date_from=2026-01-01", "not both"),
        ("/api/analytics/revenue/?date_from=2026-02-30", "date_from"),
        ("/api/analytics/revenue/?date_to=01/02/2026", "date_to"),
        (&format!("/api/analytics/users/?date_to={}", today + chrono::Duration::days(2)), "date_to"),
        ("/api/analytics/users/?date_from=2026-03-10&date_to=2026-03-01", "date_from"),
        ("/api/analytics/users/?date_from=2010-01-01&date_to=2021-01-01", "3650"),
        ("/api/analytics/transactions/?status=bogus", "status"),
        ("/api/analytics/transactions/?type=lottery", "type"),
        ("/api/analytics/reports/export/?type=users&report_type=daily", "report_type"),
        ("/api/analytics/reports/export/?type=wallets", "type"),
        ("/api/analytics/reports/export/?format=xlsx", "format"),
        ("/api/analytics/reports/export/?report_type=hourly", "report_type"),
        ("/api/analytics/reports/export/?report_type=daily&metrics=revenue,profit", "profit"),
        ("/api/analytics/reports/export/?report_type=daily&metrics=", "metrics"),
        ("/api/analytics/reports/export/?limit=0", "limit"),
        ("/api/analytics/reports/export/?limit=1001", "limit"),
        // A parameter of the other kind of export is not used, but a bad value is refused.
        ("/api/analytics/reports/export/?type=users&metrics=", "metrics"),
        ("/api/analytics/reports/export/?metrics=revenue,profit", "metrics"),
        ("/api/analytics/reports/export/?report_type=weekly&limit=all", "limit"),
        ("/api/analytics/admin/recompute/?wait=maybe", "wait"),
    ];
    for (path, needle) in cases {
        let res = if path.contains("recompute") {
            app.client
                .post(format!("{}{path}", app.base))
                .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
                .send()
                .await
                .unwrap()
        } else {
            app.staff_get(path).await
        };
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains(needle), "{path}: {body}");
    }
}

#[tokio::test]
async fn etags_give_304_and_encodings_are_negotiated() {
    let app = spawn_app(Backend::Sqlite).await;
    for path in ["/api/analytics/users/?days=30", "/api/analytics/users/?days=12"] {
        let res = app.staff_get(path).await;
        let etag = res.headers()[ETAG].to_str().unwrap().to_string();
        assert_eq!(res.headers()["cache-control"], "private, no-cache");
        let again = app
            .client
            .get(format!("{}{path}", app.base))
            .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
    }
    // Every encoding decodes to the identity bytes, for a snapshot, an on-demand answer and a
    // CSV export (a client that decodes, as browsers do).
    let decoding =
        |gzip: bool, brotli: bool| reqwest::Client::builder().gzip(gzip).brotli(brotli).build().unwrap();
    for path in [
        "/api/analytics/kpis/?days=7",
        "/api/analytics/services/?days=12",
        "/api/analytics/reports/export/?report_type=daily&days=60&format=csv",
    ] {
        let mut identity = Vec::new();
        for (accept, encoding) in [("identity", None), ("br, gzip", Some("br")), ("gzip", Some("gzip"))] {
            let res = app
                .client
                .get(format!("{}{path}", app.base))
                .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
                .header(ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap()), encoding, "{path}");
            let raw = res.bytes().await.unwrap();
            let Some(encoding) = encoding else {
                identity = raw.to_vec();
                assert!(identity.len() > 200, "{path}");
                continue;
            };
            assert_ne!(raw.to_vec(), identity, "{path} {encoding}: the body is compressed");
            let client = decoding(encoding == "gzip", encoding == "br");
            let res = client
                .get(format!("{}{path}", app.base))
                .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
                .send()
                .await
                .unwrap();
            assert_eq!(res.bytes().await.unwrap().to_vec(), identity, "{path} decoded from {encoding}");
        }
    }
    let head = app
        .client
        .head(format!("{}/api/analytics/kpis/?days=7", app.base))
        .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn routes_methods_and_probes() {
    let app = spawn_app(Backend::Sqlite).await;
    let res = app.get("/api/analytics/nothing-here/", Some(&app.token(1))).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "detail": "Not found." }));
    let res = app.client.delete(format!("{}/api/analytics/kpis/", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "detail": "Method \"DELETE\" not allowed." }));
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    app.staff_get("/api/analytics/kpis/?days=7").await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("analytics_http_requests_total{route=\"/api/analytics/kpis/\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("analytics_answers_total{source=\"snapshot\"} 1"));
    // Runs are counted by the worker that ran them: the set-up run was not this server's.
    assert!(!metrics.contains("analytics_runs_total{"), "{metrics}");
    let res = app
        .client
        .post(format!("{}/api/analytics/admin/recompute/?wait=true", app.base))
        .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("analytics_runs_total{status=\"succeeded\"} 1"), "{metrics}");
    assert!(!metrics.contains("analytics_runs_total{status=\"failed\"}"), "{metrics}");
    assert!(metrics.contains("analytics_snapshot_age_seconds{endpoint=\"kpis\",window_days=\"7\"}"));
    // The run left its day store to this process.
    assert!(metrics.contains("\nanalytics_day_store_bytes "), "{metrics}");
    // CORS for the dashboard's origin.
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("origin", "https://admin.mafitapay.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "https://admin.mafitapay.test");
}

#[tokio::test]
async fn csv_export_parses_back_and_escapes_formulas() {
    let app = spawn_app(Backend::Sqlite).await;
    sqlx::query("UPDATE accounts_user SET email = '=cmd()@evil.test' WHERE id = (SELECT user_id FROM wallet_wallettransaction ORDER BY created_at DESC LIMIT 1)")
        .execute(&app.db.db.pool)
        .await
        .unwrap();
    let res =
        app.staff_get("/api/analytics/reports/export/?type=transactions&format=csv&days=30&limit=5").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Lagos).format("%Y%m%d");
    assert_eq!(
        res.headers()[CONTENT_DISPOSITION].to_str().unwrap(),
        format!("attachment; filename=\"transactions_{today}.csv\"")
    );
    let text = res.text().await.unwrap();
    assert!(!text.starts_with('\u{feff}'));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["ID", "User Email", "Type", "Category", "Amount", "Status", "Created At"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[0][1], "'=cmd()@evil.test");
    let json_res = app.staff_get("/api/analytics/reports/export/?type=users&days=30").await;
    let body: Value = json_res.json().await.unwrap();
    assert_eq!(body["count"].as_u64().unwrap() as usize, body["users"].as_array().unwrap().len());
}

#[tokio::test]
async fn a_daily_report_over_seven_calendar_days_has_seven_rows() {
    let app = spawn_app(Backend::Sqlite).await;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Lagos).date_naive();
    let (from, to) = (today - chrono::Duration::days(9), today - chrono::Duration::days(3));
    let res = app.staff_get(&format!("/api/analytics/reports/export/?report_type=daily&metrics=transactions,revenue&date_from={from}&date_to={to}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["rows"].as_array().unwrap().len(), 7);
    assert_eq!(body["rows"][0]["period"], json!(from.to_string()));
    let csv = app
        .staff_get(&format!(
            "/api/analytics/reports/export/?report_type=weekly&format=csv&date_from={from}&date_to={to}"
        ))
        .await;
    assert_eq!(
        csv.headers()[CONTENT_DISPOSITION].to_str().unwrap(),
        format!("attachment; filename=\"analytics_report_{from}_to_{to}.csv\"")
    );
}

backend_test! {
    async fn admin_recompute_serves_new_rows_and_runs_are_listed(backend: Backend) {
        let app = spawn_app(backend).await;
        let before: Value =
            app.staff_get("/api/analytics/dashboard/overview/?days=7").await.json().await.unwrap();
        // A new success deposit by user 1 just now.
        let at = match backend {
            Backend::Sqlite => Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            Backend::Postgres => Utc::now().to_rfc3339(),
        };
        let cast = if backend == Backend::Postgres { "CAST($1 AS timestamptz)" } else { "$1" };
        sqlx::query(&format!(
            "INSERT INTO wallet_wallettransaction (id, tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at, user_id, wallet_id) \
             VALUES (99999999, 'credit', 'deposit', 1234.56, 0, 0, NULL, NULL, 'success', NULL, {cast}, 1, 1)"
        ))
        .bind(at)
        .execute(&app.db.db.pool)
        .await
        .unwrap();
        // Non-staff may not trigger runs.
        let res = app
            .client
            .post(format!("{}/api/analytics/admin/recompute/", app.base))
            .header(AUTHORIZATION, format!("Bearer {}", app.token(2)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = app
            .client
            .post(format!("{}/api/analytics/admin/recompute/?wait=true", app.base))
            .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let run: Value = res.json().await.unwrap();
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["trigger"], "admin");
        assert_eq!(run["requested_by"], 1);
        let after: Value =
            app.staff_get("/api/analytics/dashboard/overview/?days=7").await.json().await.unwrap();
        assert_eq!(
            after["total_transactions"].as_i64().unwrap(),
            before["total_transactions"].as_i64().unwrap() + 1
        );
        let list: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        assert_eq!(list["count"], 2);
        assert_eq!(list["runs"][0]["id"], run["id"]);
        let one = app.staff_get(&format!("/api/analytics/admin/runs/{}/", run["id"])).await;
        assert_eq!(one.json::<Value>().await.unwrap()["windows"], json!([7, 30]));
        assert_eq!(app.staff_get("/api/analytics/admin/runs/424242/").await.status(), StatusCode::NOT_FOUND);
        let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        assert_eq!(status["snapshots"].as_array().unwrap().len(), 12);
        assert_eq!(status["databases"]["platform"]["reachable"], true);
        // Without waiting: 202 with the run's id.
        let res = app
            .client
            .post(format!("{}/api/analytics/admin/recompute", app.base))
            .header(AUTHORIZATION, format!("Bearer {}", app.token(1)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["coalesced"], false);
        assert!(body["run_id"].is_i64() || body["status"] == "queued", "{body}");
    }
}

backend_test! {
    /// An instance that did not run the latest run reads its own day store in the background (the
    /// reloader's job), shows it in `admin/status`, and folds on-demand windows from it.
    async fn an_instance_without_the_run_reads_its_own_day_store(backend: Backend) {
        let app = spawn_app_with(backend, AppOptions { shared_days: false, ..AppOptions::default() }).await;
        let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        assert_eq!(status["day_store"], Value::Null);
        let run_id = app.state.snapshots.run_id();
        spawn_reloader(app.state.clone(), Duration::from_millis(50), Default::default());
        let mut store = Value::Null;
        for _ in 0..200 {
            let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
            store = status["day_store"].clone();
            if !store.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(store["run_id"], json!(run_id), "{store}");
        // At least two years of whole days, ending with yesterday or today.
        assert!(store["days"].as_i64().unwrap() >= 730, "{store}");
        assert!(store["approx_bytes"].as_i64().unwrap() > 0);
        let res = app.staff_get("/api/analytics/users/?days=45").await;
        assert_eq!(res.headers()["x-analytics-source"], "computed");
        let body: Value = res.json().await.unwrap();
        let computed_at: chrono::DateTime<Utc> = body["generated_at"].as_str().unwrap().parse().unwrap();
        let window = Window::rolling(computed_at, app.state.settings.tz, 45).unwrap();
        assert_eq!(body, direct(&app, Endpoint::Users, &window).await);
    }
}

#[tokio::test]
async fn snapshots_keep_being_served_when_the_platform_database_goes_away() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.staff_get("/api/analytics/revenue/?days=30").await.status(), StatusCode::OK);
    app.state.platform.pool.close().await;
    let res = app.staff_get("/api/analytics/revenue/?days=30").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-analytics-source"], "snapshot");
    let res = app.staff_get("/api/analytics/revenue/?days=11").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("temporarily unavailable"), "{body}");
    assert!(!body.to_string().contains("sqlite"), "no internals in responses: {body}");
    // Bad parameters are still a 400, not a 503.
    assert_eq!(
        app.staff_get("/api/analytics/reports/export/?type=wallets").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.staff_get("/api/analytics/revenue/?days=0").await.status(), StatusCode::BAD_REQUEST);
}
