//! The operator console (`/api/analytics/admin/`): its page and assets over HTTP, the status
//! fields it reads, and an operator's session in a real headless Chromium: a refused token, a
//! user who is not staff, signing in, runs, snapshots, health and charts, a recompute followed
//! to its end, a second trigger refused with 429, signing out, and no console errors anywhere.

mod browser;
mod common;

use std::time::Duration;

use browser::{Chromium, Problem};
use chrono::{DateTime, Timelike, Utc};
use common::app::{spawn_app, spawn_app_with, App, AppOptions};
use common::Backend;
use mafita_analytics::materializer::schedule::Cadence;
use mafita_analytics::materializer::Faults;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use serde_json::Value;

const CONSOLE: &str = "/api/analytics/admin/";

/// The cadence of an instance scheduling every five minutes and rebuilding at 03:30 UTC, whose
/// snapshots are stale after `stale_after`.
fn cadence(stale_after: Duration) -> Cadence {
    Cadence {
        schedule: Some("0 */5 * * * *".into()),
        rebuild_schedule: Some("0 30 3 * * *".into()),
        stale_after: Some(stale_after),
    }
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

backend_test! {
    /// The page and its assets need no token, carry their validators and a policy that keeps
    /// scripts, styles and calls on this origin, and the bare path serves the same page.
    async fn the_console_page_and_its_assets_are_served_from_the_binary(backend: Backend) {
        let app = spawn_app(backend).await;
        let page = app.get(CONSOLE, None).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
        let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
        for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{directive} missing from {policy}");
        }
        let etag = page.headers()[ETAG].to_str().unwrap().to_string();
        let html = page.text().await.unwrap();
        assert!(html.contains("<title>mafita-analytics · operator console</title>"));
        assert!(html.contains("mafita-analytics token --email"), "the page says how to mint a token");
        // Nothing is loaded from elsewhere.
        assert!(!html.contains("http://") && !html.contains("https://"), "the page names another origin");

        assert_eq!(app.get("/api/analytics/admin", None).await.text().await.unwrap(), html);
        let again = app.client.get(format!("{}{CONSOLE}", app.base)).header(IF_NONE_MATCH, &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

        for (file, kind) in [
            ("console.js", "text/javascript; charset=utf-8"),
            ("api.js", "text/javascript; charset=utf-8"),
            ("charts.js", "text/javascript; charset=utf-8"),
            ("dom.js", "text/javascript; charset=utf-8"),
            ("format.js", "text/javascript; charset=utf-8"),
            ("console.css", "text/css; charset=utf-8"),
            ("uPlot.iife.min.js", "text/javascript; charset=utf-8"),
            ("uPlot.min.css", "text/css; charset=utf-8"),
            ("uPlot.LICENSE", "text/plain; charset=utf-8"),
        ] {
            let res = app.get(&format!("{CONSOLE}assets/{file}"), None).await;
            assert_eq!(res.status(), StatusCode::OK, "{file}");
            assert_eq!(res.headers()[CONTENT_TYPE], kind, "{file}");
            assert!(!res.bytes().await.unwrap().is_empty(), "{file}");
        }
        // The page is served at its own path only, not among the assets.
        assert_eq!(app.get(&format!("{CONSOLE}assets/index.html"), None).await.status(), StatusCode::NOT_FOUND);
        let missing = app.get(&format!("{CONSOLE}assets/secrets.env"), None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.json::<Value>().await.unwrap()["detail"], "Not found.");
        let escape = app.get(&format!("{CONSOLE}assets/..%2FCargo.toml"), None).await;
        assert_eq!(escape.status(), StatusCode::NOT_FOUND);
    }
}

backend_test! {
    /// What the console shows about schedules and freshness comes from the status route: the
    /// next ticks of both cron expressions, the last full rebuild, the day store's age, and a
    /// stale flag per snapshot against three schedule periods.
    async fn the_status_names_the_next_runs_and_marks_stale_snapshots(backend: Backend) {
        // Every snapshot is older than zero seconds: all stale.
        let app = spawn_app_with(backend, AppOptions { cadence: cadence(Duration::ZERO), ..AppOptions::default() }).await;
        let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        let now = parse_time(&status["generated_at"]);
        assert_eq!(status["schedule"], "0 */5 * * * *");
        assert_eq!(status["rebuild_schedule"], "0 30 3 * * *");
        assert_eq!(status["stale_after_seconds"], 0);
        let next = parse_time(&status["next_scheduled_run"]);
        assert!(next > now && next - now <= chrono::Duration::minutes(5), "{next} after {now}");
        assert_eq!((next.minute() % 5, next.second(), next.nanosecond()), (0, 0, 0));
        let rebuild = parse_time(&status["next_full_rebuild"]);
        assert!(rebuild > now && rebuild - now <= chrono::Duration::hours(24), "{rebuild} after {now}");
        assert_eq!((rebuild.hour(), rebuild.minute(), rebuild.second()), (3, 30, 0));
        // The set-up run was the first: a full rebuild, finished before the server started.
        let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        assert_eq!(runs["runs"][0]["kind"], "full");
        assert_eq!(status["last_full_rebuild_at"], runs["runs"][0]["finished_at"]);
        let store = &status["day_store"];
        assert!(store["age_seconds"].as_i64().unwrap() >= 0);
        assert!(parse_time(&store["read_at"]) + chrono::Duration::seconds(store["age_seconds"].as_i64().unwrap()) <= now);
        let snapshots = status["snapshots"].as_array().unwrap();
        assert_eq!(snapshots.len(), 12, "six endpoints × windows 7 and 30");
        assert!(snapshots.iter().all(|s| s["stale"] == true));

        // A day's grace: none stale. No schedule anywhere: none stale, and no threshold.
        for (cadence, threshold) in [(cadence(Duration::from_secs(86_400)), Value::from(86_400)), (Cadence::default(), Value::Null)] {
            let app = spawn_app_with(backend, AppOptions { cadence, ..AppOptions::default() }).await;
            let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
            assert_eq!(status["stale_after_seconds"], threshold);
            assert!(status["snapshots"].as_array().unwrap().iter().all(|s| s["stale"] == false));
        }
        let quiet: Value = spawn_app(backend).await.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        assert_eq!((&quiet["schedule"], &quiet["next_scheduled_run"]), (&Value::Null, &Value::Null));
        assert_eq!((&quiet["rebuild_schedule"], &quiet["next_full_rebuild"]), (&Value::Null, &Value::Null));
    }
}

/// A browser test on both backends, reported as ignored where no Chromium was found when the
/// tests were built (never under CI: `build.rs`), like the PostgreSQL tests where PostgreSQL is
/// unreachable.
macro_rules! browser_test {
    ($(#[$attr:meta])* async fn $name:ident($backend:ident: Backend $(,)?) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn on($backend: Backend) $body

            #[tokio::test(flavor = "multi_thread")]
            #[cfg_attr(chromium_missing, ignore = "Chromium was not found when the tests were built (build.rs)")]
            async fn sqlite() {
                on(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread")]
            #[cfg_attr(any(chromium_missing, pg_unreachable), ignore = "Chromium or PostgreSQL was unavailable when the tests were built (build.rs)")]
            async fn postgres() {
                on(Backend::Postgres).await
            }
        }
    };
}

/// Fails unless every problem the page reported is one of `expected`: a failed request (the
/// browser logs every non-2xx answer) with that status to a URL ending with that path.
fn only_refusals(problems: Vec<Problem>, expected: &[(u16, &str)]) {
    for p in &problems {
        let allowed = p.kind == "network"
            && expected.iter().any(|(status, path)| {
                p.text.contains(&format!("status of {status}"))
                    && p.url.as_deref().is_some_and(|u| u.ends_with(path))
            });
        assert!(allowed, "the page reported {p:?}; all: {problems:#?}");
    }
}

/// Signs in with `token` from the sign-in form.
async fn sign_in(browser: &Chromium, token: &str) {
    browser.until("!document.getElementById('signin').hidden", "the sign-in form shows").await;
    browser.type_into("#token", token).await;
    browser.click("#signin-button").await;
}

browser_test! {
    /// An operator's session from the sign-in form to a recompute, with a bad token, a user who is
    /// not staff and a throttled trigger on the way; the page never logs an error of its own.
    async fn an_operator_signs_in_watches_a_recompute_finish_and_is_told_about_429(backend: Backend) {
        let options = AppOptions {
            cadence: cadence(Duration::from_secs(86_400)),
            // A second admin-triggered run within ten minutes is refused.
            admin_min_interval: Duration::from_secs(600),
            // Each run the server starts holds 1.5 s, long enough to watch it run.
            faults: Faults { stall: Some(Duration::from_millis(1500)), ..Faults::default() },
            ..AppOptions::default()
        };
        let app = spawn_app_with(backend, options).await;
        let browser = Chromium::open(&format!("{}{CONSOLE}", app.base)).await;

        // A token that is not one: the form stays, with the server's reason.
        sign_in(&browser, "not.a.token").await;
        browser.until("!document.getElementById('signin-error').hidden", "the refusal shows").await;
        let refusal = browser.text("#signin-error").await;
        assert!(refusal.starts_with("The token was refused: Given token not valid"), "{refusal}");
        assert!(!browser.visible("#console").await);
        assert_eq!(browser.eval::<Option<String>>("sessionStorage.getItem('mafita-analytics.console.token')").await, None);
        // A valid token of a user who is not staff.
        sign_in(&browser, &app.token(2)).await;
        browser.until("document.getElementById('signin-error').innerText.includes('may not use the console')", "the 403 shows").await;
        only_refusals(browser.take_problems(), &[(401, "/admin/status/"), (403, "/admin/status/")]);

        // The staff user: the runs table lists the set-up run.
        sign_in(&browser, &app.token(1)).await;
        browser.until("document.querySelector('#runs tr[data-status=succeeded]')", "the finished run is listed").await;
        assert!(browser.visible("#console").await && !browser.visible("#signin").await);
        let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        let first = runs["runs"][0]["id"].as_i64().unwrap();
        assert_eq!(browser.count("#runs tbody tr").await, 1);
        let row = browser.text(&format!("#runs tr[data-run='{first}']")).await;
        assert!(row.contains("succeeded") && row.contains("full rebuild") && row.contains("cli"), "{row}");

        // Health: both databases, the next run and rebuild, the day store.
        assert_eq!(browser.text("#db-platform .card-value").await, "reachable");
        assert_eq!(browser.text("#db-summary .card-value").await, "reachable");
        assert!(browser.text("#next-run").await.contains("cron 0 */5 * * * *"));
        assert!(browser.text("#next-rebuild").await.contains("03:30:00 UTC · cron 0 30 3 * * *"));
        assert!(browser.text("#last-rebuild .card-value").await.ends_with("ago"));
        assert_eq!(browser.text("#platform-lag .card-value").await, "current", "a primary is never behind");
        assert_eq!(browser.text("#capture .card-value").await, "not installed");
        assert_eq!(browser.text("#drift .card-value").await, "rebuilt", "the set-up run rebuilt every day");
        let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        let days = status["day_store"]["days"].as_u64().unwrap();
        assert_eq!(browser.text("#day-store .card-value").await, format!("{days} days"));
        // Snapshots: six endpoints × two windows, all fresh.
        assert_eq!(browser.count("#snapshots td.fresh").await, 12);
        assert_eq!(browser.count("#snapshots td.stale").await, 0);
        assert_eq!(browser.count("#snapshots thead th").await, 3, "endpoint, 7 d, 30 d");
        // Four charts over the largest window (30 days), each a drawn canvas.
        browser.until("document.querySelectorAll('#charts canvas').length === 4", "the charts are drawn").await;
        assert!(browser.text("#charts-window").await.contains("last 30 days"));
        for caption in ["Revenue total ₦", "Active users ", "Transactions total ", "Sign-ups total "] {
            assert!(browser.text("#charts").await.contains(caption), "{caption}");
        }

        // The token survives a reload of the tab.
        browser.reload().await;
        browser.until("document.querySelector('#runs tr[data-status=succeeded]')", "the console is back after a reload").await;

        // Recompute: the progress shows while the run holds, then the run is listed as finished.
        browser.click("#recompute").await;
        browser.until("document.getElementById('progress-label').innerText.includes('running for')", "the progress shows").await;
        assert!(browser.eval::<bool>("document.getElementById('recompute').disabled").await, "no second trigger while one runs");
        browser.until("document.getElementById('action-message').innerText.includes('succeeded')", "the run finishes").await;
        assert!(!browser.visible("#progress").await);
        let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        let run = &runs["runs"][0];
        assert_eq!((run["trigger"].as_str(), run["requested_by"].as_i64(), run["status"].as_str()), (Some("admin"), Some(1), Some("succeeded")));
        let id = run["id"].as_i64().unwrap();
        assert!(id > first);
        assert!(browser.text("#action-message").await.starts_with(&format!("Run #{id} (incremental) succeeded in")));
        browser.until(&format!("document.querySelector(\"#runs tr[data-run='{id}'][data-status=succeeded]\")"), "the new run is listed").await;
        assert!(browser.text(&format!("#runs tr[data-run='{id}']")).await.contains("admin · user 1"));

        // A full rebuild right after: refused with the server's explanation, buttons held.
        browser.click("#full-rebuild").await;
        browser.until("document.getElementById('action-message').innerText.startsWith('Not now')", "the 429 is explained").await;
        let message = browser.text("#action-message").await;
        assert!(message.contains("ANALYTICS_ADMIN_MIN_INTERVAL") && message.contains("Retry in"), "{message}");
        assert!(browser.eval::<bool>("document.getElementById('full-rebuild').disabled").await);
        let listed: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        assert_eq!(listed["runs"][0]["id"].as_i64(), Some(id), "the refused trigger started nothing");
        only_refusals(browser.take_problems(), &[(429, "/admin/recompute/?full=true")]);
        if let Some(path) = std::env::var_os("ANALYTICS_CONSOLE_SCREENSHOT") {
            browser.screenshot(std::path::Path::new(&path)).await;
        }

        // Signing out forgets the token.
        browser.click("#sign-out").await;
        browser.until("!document.getElementById('signin').hidden", "the sign-in form is back").await;
        assert_eq!(browser.eval::<Option<String>>("sessionStorage.getItem('mafita-analytics.console.token')").await, None);
        assert_eq!(browser.take_problems(), Vec::<Problem>::new());
    }
}

browser_test! {
    /// Snapshots past the threshold are marked stale in the grid, each cell saying so in words.
    async fn stale_snapshots_are_marked_in_the_grid(backend: Backend) {
        let app: App = spawn_app_with(backend, AppOptions { cadence: cadence(Duration::ZERO), ..AppOptions::default() }).await;
        let browser = Chromium::open(&format!("{}{CONSOLE}", app.base)).await;
        sign_in(&browser, &app.token(1)).await;
        browser.until("document.querySelectorAll('#snapshots td').length === 12", "the grid is drawn").await;
        assert_eq!(browser.count("#snapshots td.stale").await, 12);
        assert_eq!(browser.count("#snapshots td.stale .tag").await, 12);
        assert!(browser.text("#stale-rule").await.contains("stale past 0s"));
        browser.until("document.querySelectorAll('#charts canvas').length === 4", "the charts are drawn").await;
        assert_eq!(browser.take_problems(), Vec::<Problem>::new());
    }
}

browser_test! {
    /// The API's documentation page, linked from the console's footer, renders every operation
    /// from the bundled Swagger UI without an error.
    async fn the_docs_page_lists_every_operation_without_errors(backend: Backend) {
        let app = spawn_app(backend).await;
        let browser = Chromium::open(&format!("{}/api/analytics/docs/", app.base)).await;
        browser.until("document.querySelectorAll('.opblock').length === 18", "every operation is listed").await;
        assert!(browser.text(".swagger-ui").await.contains("/api/analytics/admin/recompute/"));
        assert_eq!(browser.take_problems(), Vec::<Problem>::new());
    }
}
