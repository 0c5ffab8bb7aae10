//! The materializer on SQLite and PostgreSQL: what a run stores, atomicity under failure,
//! single-run coordination, lease takeover, coalescing, the schedule, and `verify`.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{fresh, Backend, TestDb};
use mafita_analytics::db::parse_db_timestamp;
use mafita_analytics::materializer::flatten::scalars;
use mafita_analytics::materializer::indexes::{create_indexes, INDEXES};
use mafita_analytics::materializer::schedule::{refresh_if_stale, schedule_period, start_scheduler};
use mafita_analytics::materializer::store::{insert_run, load_snapshots, migrate};
use mafita_analytics::materializer::verify::verify;
use mafita_analytics::materializer::{run_once, Faults, Materializer, RunContext, RunTrigger};
use mafita_analytics::metrics::{compute, Endpoint, Source, TxFilter, Window};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::Row;

const WINDOWS: [i64; 3] = [1, 7, 30];

async fn platform(backend: Backend) -> TestDb {
    common::seeded(backend, 150, 3).await
}

fn context(t: &TestDb) -> RunContext {
    common::run_context(t, &WINDOWS)
}

async fn runs(t: &TestDb) -> Vec<(i64, String, String, Option<String>)> {
    sqlx::query("SELECT id, trigger, status, error FROM analytics_run ORDER BY id")
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

backend_test! {
    async fn a_run_stores_every_payload_metric_and_daily_series(backend: Backend) {
        let t = platform(backend).await;
        let ctx = context(&t);
        let outcome = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
        assert!(outcome.succeeded(), "{outcome:?}");
        let run_id = outcome.run_id.unwrap();

        let mut conn = t.db.pool.acquire().await.unwrap();
        let stored = load_snapshots(&mut conn, t.db.dialect).await.unwrap();
        assert_eq!(stored.len(), 6 * WINDOWS.len());
        let mut expected_metrics = 0;
        for snap in &stored {
            assert_eq!(snap.run_id, run_id);
            let endpoint = Endpoint::parse(&snap.endpoint).unwrap();
            let window = Window::rolling(snap.computed_at, ctx.settings.tz, snap.window_days).unwrap();
            let mut src = Source::new(&mut conn, t.db.dialect, &ctx.settings);
            let direct = compute(&mut src, endpoint, &window, &TxFilter::default()).await.unwrap().into_value();
            assert_eq!(snap.body, direct.to_string(), "{} {}", snap.endpoint, snap.window_days);
            assert_eq!(snap.etag.len(), 34);
            expected_metrics += scalars(endpoint, &direct).len();
        }
        let metrics: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_metric")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(metrics as usize, expected_metrics);

        // A BI tool's plain SQL sees the numbers the payloads carry.
        let overview: Value = serde_json::from_str(
            &stored.iter().find(|s| s.endpoint == "dashboard/overview/" && s.window_days == 30).unwrap().body,
        )
        .unwrap();
        let row = sqlx::query(
            "SELECT CAST(value AS TEXT) FROM analytics_metric WHERE window_days = 30 AND metric = 'overview.total_transactions'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        assert_eq!(
            row.get::<String, _>(0).parse::<f64>().unwrap(),
            overview["total_transactions"].as_f64().unwrap()
        );
        let revenue: Value = serde_json::from_str(
            &stored.iter().find(|s| s.endpoint == "revenue/" && s.window_days == 30).unwrap().body,
        )
        .unwrap();
        let daily: Vec<(String, f64)> = sqlx::query(
            "SELECT CAST(day AS TEXT), CAST(value AS TEXT) FROM analytics_daily_metric \
             WHERE metric = 'revenue.revenue_trend.revenue' ORDER BY day",
        )
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1).parse().unwrap()))
        .collect();
        let series: Vec<(String, f64)> = revenue["revenue_trend"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["date"].as_str().unwrap().to_string(), r["revenue"].as_f64().unwrap()))
            .collect();
        assert_eq!(daily, series);
        assert_eq!(runs(&t).await, vec![(run_id, "cli".into(), "succeeded".into(), None)]);
    }
}

backend_test! {
    async fn a_run_failing_midway_leaves_the_previous_run_in_place(backend: Backend) {
        let t = platform(backend).await;
        let ctx = context(&t);
        let first = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
        assert!(first.succeeded());
        let mut conn = t.db.pool.acquire().await.unwrap();
        let before = load_snapshots(&mut conn, t.db.dialect).await.unwrap();
        drop(conn);

        let failing = RunContext {
            faults: Faults { fail_after_snapshots: Some(4), ..Faults::default() },
            ..ctx.clone()
        };
        let second = run_once(&failing, RunTrigger::Admin, Some(1), None).await.unwrap();
        assert!(!second.succeeded());
        assert!(second.error.as_deref().unwrap().contains("injected failure after 4"));

        let mut conn = t.db.pool.acquire().await.unwrap();
        let after = load_snapshots(&mut conn, t.db.dialect).await.unwrap();
        assert_eq!(before, after, "snapshots must be the first run's, untouched");
        let metric_runs: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT run_id FROM analytics_metric")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(metric_runs, vec![first.run_id.unwrap()]);
        let recorded = runs(&t).await;
        assert_eq!(recorded[1].1, "admin");
        assert_eq!(recorded[1].2, "failed");
        assert!(recorded[1].3.as_deref().unwrap().contains("injected"));
        let by: Option<i64> = sqlx::query_scalar("SELECT requested_by FROM analytics_run WHERE id = $1")
            .bind(second.run_id.unwrap())
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(by, Some(1));
        // The next run succeeds again.
        assert!(run_once(&ctx, RunTrigger::Schedule, None, None).await.unwrap().succeeded());
    }
}

#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn a_statement_timeout_fails_the_run_and_is_recorded() {
    let t = platform(Backend::Postgres).await;
    let ctx = RunContext { statement_timeout: Duration::from_millis(200), ..context(&t) };
    // Make the wallet query slow (a view that sleeps two seconds) so the timeout certainly fires.
    sqlx::raw_sql(
        "ALTER TABLE wallet_wallet RENAME TO wallet_wallet_real; \
         CREATE VIEW wallet_wallet AS SELECT w.* FROM wallet_wallet_real w, (SELECT pg_sleep(2)) s",
    )
    .execute(&t.db.pool)
    .await
    .unwrap();
    let outcome = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
    assert!(!outcome.succeeded());
    assert!(outcome.error.as_deref().unwrap().contains("statement timeout"), "{outcome:?}");
    assert!(load_snapshots(&mut t.db.pool.acquire().await.unwrap(), t.db.dialect).await.unwrap().is_empty());
    assert_eq!(runs(&t).await[0].2, "failed");
}

backend_test! {
    async fn an_expired_lease_of_a_crashed_instance_is_taken_over(backend: Backend) {
        let t = platform(backend).await;
        let ctx = context(&t);
        let expires = Utc::now() + chrono::Duration::seconds(2);
        let at = match backend {
            Backend::Sqlite => expires.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            Backend::Postgres => expires.to_rfc3339(),
        };
        let insert = match backend {
            Backend::Sqlite => "INSERT INTO analytics_lease (name, holder, expires_at) VALUES ('materializer', 'crashed', $1)",
            Backend::Postgres => {
                "INSERT INTO analytics_lease (name, holder, expires_at) VALUES ('materializer', 'crashed', CAST($1 AS timestamptz))"
            }
        };
        sqlx::query(insert).bind(at).execute(&t.db.pool).await.unwrap();
        // The crashed instance's run row was left `running`.
        let mut conn = t.db.pool.acquire().await.unwrap();
        let crashed_run =
            insert_run(&mut conn, t.db.dialect, RunTrigger::Schedule, None, &[1], "crashed", Utc::now())
                .await
                .unwrap();
        drop(conn);
        // Within half a second the lease is still the crashed holder's.
        assert!(run_once(&ctx, RunTrigger::Cli, None, Some(Duration::from_millis(500))).await.is_none());
        let started = Instant::now();
        let outcome = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
        assert!(outcome.succeeded());
        assert!(started.elapsed() >= Duration::from_millis(900), "took over before expiry");
        let left: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_lease")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(left, 0, "the lease is released after the run");
        let recorded = runs(&t).await;
        let abandoned = recorded.iter().find(|r| r.0 == crashed_run).unwrap();
        assert_eq!(abandoned.2, "failed");
        assert!(abandoned.3.as_deref().unwrap().starts_with("abandoned"), "{abandoned:?}");
    }
}

fn interval(row: &sqlx::any::AnyRow) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        parse_db_timestamp(&row.get::<String, _>(0)).unwrap(),
        parse_db_timestamp(&row.get::<String, _>(1)).unwrap(),
    )
}

backend_test! {
    async fn two_recompute_processes_never_overlap_and_both_succeed(backend: Backend) {
        let t = platform(backend).await;
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
                .args(["recompute", "--database-url", &t.url, "--windows", "1,7"])
                .env_remove("ANALYTICS_DATABASE_URL")
                .env("RUST_LOG", "warn")
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (spawn(), spawn());
        assert!(a.wait().unwrap().success());
        assert!(b.wait().unwrap().success());
        let sql = format!(
            "SELECT {}, {} FROM analytics_run WHERE status = 'succeeded' ORDER BY started_at",
            t.db.dialect.ts_text("started_at"),
            t.db.dialect.ts_text("finished_at")
        );
        let rows = sqlx::query(&sql).fetch_all(&t.db.pool).await.unwrap();
        assert_eq!(rows.len(), 2);
        let (first, second) = (interval(&rows[0]), interval(&rows[1]));
        assert!(first.1 <= second.0, "runs overlap: {first:?} and {second:?}");
    }
}

#[tokio::test]
async fn triggers_during_a_run_coalesce_into_one_follow_up() {
    let t = platform(Backend::Sqlite).await;
    let materializer = Materializer::start(context(&t));
    let tickets = [
        materializer.request(RunTrigger::Admin, Some(1)).await,
        materializer.request(RunTrigger::Admin, Some(1)).await,
        materializer.request(RunTrigger::Schedule, None).await,
    ];
    assert!(tickets[2].coalesced);
    let mut outcomes = Vec::new();
    for ticket in tickets {
        let run_id = ticket.started.await.unwrap();
        let outcome = ticket.finished.await.unwrap();
        assert_eq!(run_id, outcome.run_id);
        assert!(outcome.succeeded());
        outcomes.push(outcome.run_id.unwrap());
    }
    let recorded = runs(&t).await;
    assert!(recorded.len() <= 2, "three requests made at most one follow-up run: {recorded:?}");
    assert_eq!(outcomes[1], outcomes[2], "the later requests share one run");
}

#[tokio::test]
async fn the_schedule_keeps_ticking_after_a_failed_run() {
    let t = platform(Backend::Sqlite).await;
    assert_eq!(schedule_period("0 */5 * * * *").unwrap(), Some(Duration::from_secs(300)));
    assert_eq!(schedule_period("").unwrap(), None);
    assert!(schedule_period("every minute").unwrap_err().contains("ANALYTICS_SCHEDULE"));
    // Break the platform: every run fails until the table is back.
    sqlx::query("ALTER TABLE rewards_bonus RENAME TO rewards_bonus_away").execute(&t.db.pool).await.unwrap();
    let materializer = Materializer::start(context(&t));
    let mut scheduler = start_scheduler(materializer, "*/1 * * * * *", "").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !runs(&t).await.iter().any(|r| r.2 == "failed") {
        assert!(Instant::now() < deadline, "no scheduled run failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query("ALTER TABLE rewards_bonus_away RENAME TO rewards_bonus").execute(&t.db.pool).await.unwrap();
    while !runs(&t).await.iter().any(|r| r.2 == "succeeded") {
        assert!(Instant::now() < deadline, "the schedule stopped after a failure");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scheduler.shutdown().await.unwrap();
    let recorded = runs(&t).await;
    assert!(recorded.iter().all(|r| r.1 == "schedule"));
    let failed = recorded.iter().find(|r| r.2 == "failed").unwrap();
    assert!(failed.3.as_deref().unwrap().contains("rewards_bonus"), "{failed:?}");
}

backend_test! {
    async fn verify_agrees_after_a_run_and_lists_fields_changed_in_place(backend: Backend) {
        let t = platform(backend).await;
        let ctx = context(&t);
        assert!(matches!(
            verify(&ctx).await,
            Err(mafita_analytics::materializer::verify::VerifyError::Empty)
        ));
        run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap();
        let (checked, mismatches) = verify(&ctx).await.unwrap();
        assert_eq!((checked, mismatches.len()), (18, 0), "{mismatches:?}");
        // A transaction inside every window turns from failed to success after the run.
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM wallet_wallettransaction WHERE status = 'failed' ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE wallet_wallettransaction SET status = 'success' WHERE id = $1")
            .bind(id)
            .execute(&t.db.pool)
            .await
            .unwrap();
        let (_, mismatches) = verify(&ctx).await.unwrap();
        assert!(
            mismatches
                .iter()
                .any(|m| m.endpoint == "dashboard/overview/" && m.field == "successful_transactions"),
            "{mismatches:?}"
        );
        let verify_cli = || {
            let out = Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
                .args(["verify", "--database-url", &t.url, "--windows", "1,7,30"])
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
        };
        // A move since the run (the row lies in today or the settle window, which the next run
        // reads again): listed, and verify still agrees.
        let (ok, listed) = verify_cli();
        assert!(ok, "{listed}");
        assert!(listed.lines().any(|l| l.contains(" successful_transactions: ") && l.contains("(moved: ")), "{listed}");
        // A transaction of 20 days ago deleted: outside the settle window the incremental runs
        // cannot see it without change capture, so verify disagrees.
        let old = chrono::Utc::now() - chrono::Duration::days(20);
        let sql = format!(
            "DELETE FROM wallet_wallettransaction WHERE id = (SELECT id FROM wallet_wallettransaction WHERE created_at < {} \
             ORDER BY created_at DESC LIMIT 1)",
            match backend {
                Backend::Sqlite => format!("'{}'", mafita_analytics::time::django_sqlite_text(old)),
                Backend::Postgres => format!("'{}+00'", mafita_analytics::time::django_sqlite_text(old)),
            }
        );
        sqlx::raw_sql(&sql).execute(&t.db.pool).await.unwrap();
        let (ok, listed) = verify_cli();
        assert!(!ok, "{listed}");
        assert!(listed.contains("(DIFFERS: older than the settle window"), "{listed}");
    }
}

backend_test! {
    async fn create_indexes_is_idempotent_and_migrate_touches_only_summary_tables(backend: Backend) {
        let t = fresh(backend, "").await;
        mafita_analytics::db::create_platform_tables(&t.db).await.unwrap();
        let tables = |t: &TestDb| {
            let sql = match backend {
                Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                Backend::Postgres => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            };
            let pool = t.db.pool.clone();
            async move { sqlx::query_scalar::<_, String>(sql).fetch_all(&pool).await.unwrap() }
        };
        let platform_tables = tables(&t).await;
        migrate(&t.db).await.unwrap();
        migrate(&t.db).await.unwrap();
        let after: Vec<String> =
            tables(&t).await.into_iter().filter(|n| !platform_tables.contains(n)).collect();
        assert!(after.iter().all(|n| n.starts_with("analytics_") || n == "_sqlx_migrations"), "{after:?}");
        let first = create_indexes(&t.db).await.unwrap();
        assert_eq!(first.len(), INDEXES.len());
        assert!(first.iter().all(|r| r.created));
        let second = create_indexes(&t.db).await.unwrap();
        assert!(second.iter().all(|r| !r.created));
    }
}

#[tokio::test]
async fn start_up_runs_only_when_snapshots_are_missing_or_stale() {
    let t = platform(Backend::Sqlite).await;
    let materializer = Materializer::start(context(&t));
    let period = Some(Duration::from_secs(300));
    assert!(refresh_if_stale(&materializer, period).await, "no snapshots: a start-up run is due");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !runs(&t).await.iter().any(|r| r.1 == "startup" && r.2 == "succeeded") {
        assert!(Instant::now() < deadline, "the start-up run did not happen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!refresh_if_stale(&materializer, period).await, "fresh snapshots: nothing to do");
    // Older than one period: due again.
    assert!(refresh_if_stale(&materializer, Some(Duration::from_millis(1))).await);
}

/// Every `analytics_daily_metric` row, `(day, metric, dimension)` to `(value, run_id)`.
async fn daily(t: &TestDb) -> BTreeMap<(String, String, String), (Decimal, i64)> {
    sqlx::query(
        "SELECT CAST(day AS TEXT), metric, dimension, CAST(value AS TEXT), run_id FROM analytics_daily_metric",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let key = (r.get::<String, _>(0), r.get::<String, _>(1), r.get::<String, _>(2));
        (key, (r.get::<String, _>(3).parse::<Decimal>().unwrap(), r.get::<i64, _>(4)))
    })
    .collect()
}

backend_test! {
    /// The daily series are brought up to date, not rewritten: after a deposit lands on one day,
    /// the next run changes that day's rows (revenue up by exactly its amount) and leaves every
    /// other row as the first run wrote it.
    async fn a_run_rewrites_only_the_daily_rows_that_changed(backend: Backend) {
        let t = platform(backend).await;
        let ctx = context(&t);
        let first = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap().run_id.unwrap();
        let before = daily(&t).await;
        // Two days ago at noon, Lagos time (UTC+1): inside the settle window.
        let day = (Utc::now() - chrono::Duration::days(2)).date_naive();
        let at = format!("{day} 11:00:00");
        let script = common::fixture::Fixture::default()
            .tx(9_000_001, 1, "deposit", "credit", "12.50", "success", &at, None)
            .rows_script(backend);
        sqlx::raw_sql(&script).execute(&t.db.pool).await.unwrap();
        let second = run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap().run_id.unwrap();
        let after = daily(&t).await;
        assert_eq!(after.len(), before.len(), "{backend:?}");
        let revenue = (day.to_string(), "revenue.revenue_trend.revenue".to_string(), String::new());
        assert_eq!(
            after[&revenue].0,
            before[&revenue].0 + Decimal::new(1250, 2),
            "{backend:?}"
        );
        for (key, (value, run)) in &after {
            if key.0 == day.to_string() && *value != before[key].0 {
                assert_eq!(*run, second, "{backend:?} {key:?}");
            } else {
                assert_eq!((*value, *run), (before[key].0, first), "{backend:?} {key:?} changed");
            }
        }
    }
}

backend_test! {
    async fn a_recompute_from_cron_rebuilds_when_the_rebuild_schedule_ticked_since_the_last_rebuild(
        backend: Backend,
    ) {
        let t = platform(backend).await;
        let recompute = |rebuild: &str| {
            let out = Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
                .args(["recompute", "--database-url", &t.url, "--windows", "1,7"])
                .env_remove("ANALYTICS_DATABASE_URL")
                .env("ANALYTICS_REBUILD_SCHEDULE", rebuild)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stderr).to_string()
        };
        let kinds = || async {
            let rows = sqlx::query("SELECT kind FROM analytics_run ORDER BY id").fetch_all(&t.db.pool).await.unwrap();
            rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>()
        };
        // The first run rebuilds (nothing stored); with rebuilds disabled the next is incremental.
        recompute("");
        recompute("");
        assert_eq!(kinds().await, ["full", "incremental"]);
        // A schedule that ticks every second has ticked since that rebuild: the run rebuilds.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let said = recompute("* * * * * *");
        assert!(said.contains("a full rebuild is due by ANALYTICS_REBUILD_SCHEDULE"), "{said}");
        // One at 03:30 on 1 January has not ticked since (unless this runs across that minute).
        recompute("0 30 3 1 1 *");
        assert_eq!(kinds().await, ["full", "incremental", "full", "incremental"]);
        // A bad expression is refused before anything runs, naming the variable.
        let out = Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
            .args(["recompute", "--database-url", &t.url])
            .env("ANALYTICS_REBUILD_SCHEDULE", "every night")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("ANALYTICS_REBUILD_SCHEDULE"));
    }
}

backend_test! {
    /// A binary newer than the summary tables refuses to run and names the migrations it lacks,
    /// rather than failing every run on a missing table; `migrate` then lets it run.
    async fn recompute_refuses_summary_tables_behind_its_migrations(backend: Backend) {
        let t = platform(backend).await;
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 20261206000001")
            .execute(&t.db.pool)
            .await
            .unwrap();
        let command = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
                .args(args)
                .args(["--database-url", &t.url])
                .env_remove("ANALYTICS_DATABASE_URL")
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        };
        let out = command(&["recompute"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{backend:?}");
        assert!(
            stderr.contains("not applied: 20261206000001 bi relations") && stderr.contains("run `mafita-analytics migrate`"),
            "{backend:?}: {stderr}"
        );
        assert!(runs(&t).await.is_empty(), "{backend:?}: no run was recorded");
        assert!(command(&["migrate"]).status.success(), "{backend:?}");
        let out = command(&["recompute"]);
        assert!(out.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
