//! Property tests of every query parameter: whatever a client sends — random text, numbers past
//! any bound, dates at the ends of the calendar, broken percent-encoding — the answer is a 200
//! or a 400 whose message names a parameter that was sent, never a 500, never a panic and
//! never a dropped connection.

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::app::{spawn_app_with, AppOptions};
use common::Backend;
use mafita_analytics::metrics::report::ReportRequest;
use mafita_analytics::metrics::window::MAX_DAYS;
use mafita_analytics::metrics::{Endpoint, Window};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::Value;

/// Every parameter name any route reads, and a few it does not.
const NAMES: &[&str] = &[
    "days",
    "date_from",
    "date_to",
    "status",
    "type",
    "format",
    "report_type",
    "metrics",
    "limit",
    "wait",
    "full",
    "_",
    "page",
];

/// Values a parameter may take: valid ones, near misses, and noise.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        prop::sample::select(vec![
            "7",
            "30",
            "365",
            "3650",
            "3651",
            "0",
            "-1",
            "all",
            "csv",
            "json",
            "daily",
            "weekly",
            "monthly",
            "custom",
            "success",
            "pending",
            "deposit",
            "bills",
            "crypto",
            "p2p",
            "users",
            "transactions",
            "revenue,kpis",
            "true",
            "false",
            "1",
            "2026-12-01",
            "1970-01-01",
            "1969-12-31",
            "9999-12-31",
            "+262143-01-01",
            "-262143-01-01",
            "2026-02-30",
        ])
        .prop_map(str::to_string),
        "[+-]?[0-9]{1,25}(\\.[0-9]{0,4})?",
        "[+-]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}(T[0-9:]{0,8})?",
        "\\PC{0,40}",
        "[%&=+;#?]{1,6}[0-9A-Fa-f]{0,3}",
    ]
}

/// A query string of up to five pairs, mostly known names, percent-encoded as a browser would.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ];
    prop::collection::vec((name, value()), 0..5)
}

/// A query string of raw, unencoded printable text (`%zz`, lone `%`, `=` without a name …).
fn raw_query() -> impl Strategy<Value = String> {
    "[ -~]{0,60}"
}

/// The routes that read query parameters, as (method, path).
fn routes() -> Vec<(reqwest::Method, String)> {
    let mut routes: Vec<_> = Endpoint::ALL
        .iter()
        .map(|e| (reqwest::Method::GET, format!("/api/analytics/{}", e.path())))
        .collect();
    routes.push((reqwest::Method::GET, "/api/analytics/reports/export/".into()));
    routes.push((reqwest::Method::POST, "/api/analytics/admin/recompute/".into()));
    routes
}

/// Checks one answer: 200/202 (a run started), 429 (admin throttle) or a JSON 400 naming a
/// parameter that was sent.
async fn check(res: Result<reqwest::Response, reqwest::Error>, sent: &[String]) -> Result<(), TestCaseError> {
    let res = res.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| TestCaseError::fail(format!("body cut short: {e}")))?;
    let ok = [StatusCode::OK, StatusCode::ACCEPTED, StatusCode::TOO_MANY_REQUESTS];
    if ok.contains(&status) {
        return Ok(());
    }
    prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    let json: Value = serde_json::from_slice(&body)
        .map_err(|e| TestCaseError::fail(format!("400 body is not JSON ({e}): {body:?}")))?;
    let detail = json["detail"].as_str().unwrap_or_default();
    prop_assert!(
        sent.iter().any(|name| !name.is_empty() && detail.contains(name.as_str())),
        "the 400 names none of the parameters sent {:?}: {}",
        sent,
        detail
    );
    Ok(())
}

#[test]
fn random_query_strings_on_every_route_give_200_or_a_400_naming_a_parameter() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // One admin run at most: later recomputes meet the throttle (after their parameters pass).
    let options = AppOptions { admin_min_interval: Duration::from_secs(3600), ..AppOptions::default() };
    let app = rt.block_on(spawn_app_with(Backend::Sqlite, options));
    let token = app.token(1);
    let routes = routes();
    let config = Config { cases: 400, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config.clone());
    let strategy = (0..routes.len(), query());
    runner
        .run(&strategy, |(route, pairs)| {
            let (method, path) = &routes[route];
            let url = reqwest::Url::parse_with_params(&format!("{}{path}", app.base), &pairs).unwrap();
            let sent: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
            rt.block_on(async {
                let res = app.client.request(method.clone(), url).bearer_auth(&token).send().await;
                check(res, &sent).await
            })
        })
        .unwrap();

    let mut runner = TestRunner::new(config);
    runner
        .run(&(0..routes.len(), raw_query()), |(route, raw)| {
            let (method, path) = &routes[route];
            let url = format!("{}{path}?{raw}", app.base);
            // Any name may appear in raw text; a 400 must name one of the known ones it holds.
            let sent: Vec<String> =
                NAMES.iter().filter(|n| raw.contains(**n)).map(|n| n.to_string()).collect();
            rt.block_on(async {
                let res = app.client.request(method.clone(), url).bearer_auth(&token).send().await;
                check(res, &sent).await
            })
        })
        .unwrap();
}

/// Instants from 1971 to 2100: a clock anywhere a deployment may run.
fn now() -> impl Strategy<Value = DateTime<Utc>> {
    (31_536_000i64..4_102_444_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
}

fn zone() -> impl Strategy<Value = chrono_tz::Tz> {
    prop::sample::select(vec![
        chrono_tz::Africa::Lagos,
        chrono_tz::UTC,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Pacific::Pago_Pago,
        chrono_tz::America::Sao_Paulo,
    ])
}

fn optional(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    prop::option::of(s)
}

proptest! {
    #![proptest_config(Config { cases: 3000, failure_persistence: None, ..Config::default() })]

    /// A window from any parameters at any clock in any zone is an error or a window of 1 to
    /// `MAX_DAYS` + 1 local dates (N × 24 h touch N + 1 dates; one more where the zone skipped a
    /// calendar day, as Kiritimati did on 1994-12-31) whose ranges are ordered and end no later
    /// than the clock.
    /// (Parse errors are checked for naming their parameter over HTTP, above.)
    #[test]
    fn windows_from_any_parameters_are_bounded_or_refused(
        now in now(),
        tz in zone(),
        days in optional(value()),
        from in optional(value()),
        to in optional(value()),
    ) {
        if let Ok(w) = Window::from_params(now, tz, days.as_deref(), from.as_deref(), to.as_deref()) {
            let n = w.dates().len() as i64;
            // Empty only for a range starting today at the stroke of local midnight.
            let empty = w.current.start == w.current.end;
            prop_assert!((1..=MAX_DAYS + 2).contains(&n) || empty, "{} dates", n);
            prop_assert!(w.current.start <= w.current.end && w.current.end <= now);
            prop_assert!(w.previous.end <= w.current.start && w.previous.start < w.previous.end);
        }
    }

    /// A report request from any parameters is an error or a range of at most `MAX_DAYS` + 1
    /// dates, in order, with at least one metric group.
    #[test]
    fn report_requests_from_any_parameters_are_bounded_or_refused(
        now in now(),
        tz in zone(),
        kind in value(),
        metrics in optional(value()),
        days in optional(value()),
        from in optional(value()),
        to in optional(value()),
    ) {
        let parsed = ReportRequest::parse(
            now, tz, &kind, metrics.as_deref(), days.as_deref(), from.as_deref(), to.as_deref(),
        );
        if let Ok(r) = parsed {
            prop_assert!(r.date_from <= r.date_to);
            prop_assert!((r.date_to - r.date_from).num_days() <= MAX_DAYS);
            prop_assert!(!r.metrics.is_empty());
        }
    }
}
