//! The BI relations on SQLite and PostgreSQL: `analytics_daily` (typed rows per local day,
//! today included and marked incomplete), `analytics_period_users` (exact distinct users per
//! ISO week and month) and `analytics_metric_history` (every run's scalars, thinned to a run a
//! day after a week, pruned after the retention). Expected values are worked out by hand from
//! the fixture below.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::fixture::{Fixture, UserFlags};
use common::{fresh, Backend, TestDb};
use mafita_analytics::materializer::{run_once, RunContext, RunTrigger};
use mafita_analytics::time::Clock;
use sqlx::Row;

/// Wednesday 2026-11-04 10:00 UTC: 11:00 in Lagos (UTC+1).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 4, 10, 0, 0).unwrap()
}

/// Users 1 (joined 2026-10-01), 2 (Monday 11-02) and 3 (11-03 23:30 UTC: Wednesday 00:30 in
/// Lagos). Monday 11-02: user 1's ₦1,000.00 deposit, user 2's P2P credit of ₦500.00 and failed
/// ₦100.00 airtime, a completed ₦500.00 P2P order, a completed ₦250.50 crypto purchase, bonuses
/// of ₦20.00 (unlocked) and ₦5.00 (reversed). Saturday 10-31: user 3's ₦300.00 withdrawal.
/// Today so far: user 3's ₦50.25 airtime (at 00:30 local) and user 1's pending ₦200.00 deposit.
fn platform() -> Fixture {
    Fixture::default()
        .user(1, "2026-10-01 09:00:00", UserFlags::default())
        .user(2, "2026-11-02 08:00:00", UserFlags::default())
        .user(3, "2026-11-03 23:30:00", UserFlags::default())
        .wallet(1, 1, "0", "0")
        .wallet(2, 2, "0", "0")
        .wallet(3, 3, "0", "0")
        .deposit_offer(1, 1, false)
        .tx(1, 1, "deposit", "credit", "1000.00", "success", "2026-11-02 09:00:00", None)
        .tx(2, 2, "deposit", "credit", "500.00", "success", "2026-11-02 09:30:00", Some("p2p-deposit-1"))
        .tx(3, 2, "airtime", "debit", "100.00", "failed", "2026-11-02 10:00:00", None)
        .tx(4, 3, "withdrawal", "debit", "300.00", "success", "2026-10-31 12:00:00", None)
        .tx(5, 3, "airtime", "debit", "50.25", "success", "2026-11-03 23:30:00", None)
        .tx(6, 1, "deposit", "credit", "200.00", "pending", "2026-11-04 08:00:00", None)
        .deposit_order(1, 2, "500.00", "completed", "2026-11-02 09:30:00")
        .crypto(1, "BNB", "BNB")
        .purchase(1, 1, 1, "250.50", "completed", "2026-11-02 10:00:00")
        .bonus(1, 1, "20.00", "unlocked", "2026-11-02 11:00:00")
        .bonus(2, 1, "5.00", "reversed", "2026-11-02 11:00:00")
}

async fn setup(backend: Backend) -> (TestDb, RunContext) {
    let t = fresh(backend, &platform().script(backend)).await;
    mafita_analytics::materializer::store::migrate(&t.db).await.unwrap();
    let ctx = RunContext { clock: Clock::fixed(now()), ..common::run_context(&t, &[1, 7, 30]) };
    (t, ctx)
}

async fn run(ctx: &RunContext) -> i64 {
    let outcome = run_once(ctx, RunTrigger::Cli, None, None).await.unwrap();
    assert!(outcome.succeeded(), "{outcome:?}");
    outcome.run_id.unwrap()
}

/// `columns` of the rows of `table` matching `filter`, as text, keyed by the first column.
async fn rows(t: &TestDb, table: &str, columns: &[&str], filter: &str) -> BTreeMap<String, Vec<String>> {
    let select: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    let sql = format!("SELECT {} FROM {table} WHERE {filter}", select.join(", "));
    sqlx::query(&sql)
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let values: Vec<String> = (0..columns.len()).map(|i| r.get::<String, _>(i)).collect();
            (values[0].clone(), values[1..].to_vec())
        })
        .collect()
}

/// A stored number or flag as one spelling on both databases (`12.50`/`12.5`, `true`/`1`).
fn norm(text: &str) -> String {
    match text {
        "true" => "1".into(),
        "false" => "0".into(),
        _ => text.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or(text.into()),
    }
}

fn normed(values: &[String]) -> Vec<String> {
    values.iter().map(|v| norm(v)).collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| norm(v)).collect()
}

backend_test! {
    /// Each local day's row holds that day's facts with the endpoints' definitions: revenue by
    /// source (the P2P credit is deposit volume, not revenue), statuses, categories, users; the
    /// stored days are complete and today, read up to the run's `now`, is not.
    async fn daily_rows_hold_each_local_days_facts_and_today_is_incomplete(backend: Backend) {
        let (t, ctx) = setup(backend).await;
        let run_id = run(&ctx).await;
        let columns = [
            "day", "complete", "revenue", "revenue_deposits", "revenue_deposits_count", "revenue_p2p",
            "revenue_crypto", "tx_count", "tx_success", "tx_pending", "tx_failed", "tx_success_volume",
            "tx_pending_volume", "tx_failed_volume", "volume_deposit", "volume_airtime", "volume_withdrawal",
            "volume_bills", "volume_other", "p2p_orders", "crypto_purchases", "rewards_distributed", "bonuses",
            "active_users", "success_users", "signups", "run_id",
        ];
        let days = rows(&t, "analytics_daily", &columns, "day >= '2026-10-31'").await;
        let run = run_id.to_string();
        let expected: BTreeMap<String, Vec<String>> = [
            ("2026-10-31", vec!["1", "0", "0", "0", "0", "0", "1", "1", "0", "0", "300", "0", "0", "0", "0", "300",
                "0", "0", "0", "0", "0", "0", "1", "1", "0", &run]),
            ("2026-11-01", vec!["1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                "0", "0", "0", "0", "0", "0", "0", "0", "0", &run]),
            ("2026-11-02", vec!["1", "1750.50", "1000", "1", "500", "250.50", "3", "2", "0", "1", "1500", "0",
                "100", "1500", "0", "0", "0", "0", "1", "1", "20", "2", "2", "2", "1", &run]),
            ("2026-11-03", vec!["1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                "0", "0", "0", "0", "0", "0", "0", "0", "0", &run]),
            ("2026-11-04", vec!["0", "0", "0", "0", "0", "0", "2", "1", "1", "0", "50.25", "200", "0", "0", "50.25",
                "0", "50.25", "0", "0", "0", "0", "0", "2", "1", "1", &run]),
        ]
        .into_iter()
        .map(|(day, values)| (day.to_string(), strings(&values)))
        .collect();
        let actual: BTreeMap<String, Vec<String>> = days.iter().map(|(d, v)| (d.clone(), normed(v))).collect();
        assert_eq!(actual, expected, "{backend:?}");
        // Every stored day has a row (730 back) and nothing lies after today.
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_daily").fetch_one(&t.db.pool).await.unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_day_users").fetch_one(&t.db.pool).await.unwrap();
        assert_eq!(count, stored + 1, "{backend:?}");
        let incomplete = rows(&t, "analytics_daily", &["day"], "NOT complete").await;
        assert_eq!(incomplete.keys().collect::<Vec<_>>(), ["2026-11-04"], "{backend:?}");
    }
}

backend_test! {
    /// Weeks (from Monday) and months count each user once however many days they were active,
    /// and only a period held whole that ended before today is complete.
    async fn period_users_are_exact_unions_and_complete_only_when_ended(backend: Backend) {
        let (t, ctx) = setup(backend).await;
        run(&ctx).await;
        let columns = ["period_start", "complete", "active_users", "success_users", "signups"];
        let weeks = rows(&t, "analytics_period_users", &columns, "period = 'week' AND period_start >= '2026-10-19'").await;
        let months = rows(&t, "analytics_period_users", &columns, "period = 'month' AND period_start >= '2026-09-01'").await;
        let by_start = |m: BTreeMap<String, Vec<String>>| -> Vec<(String, Vec<String>)> {
            m.into_iter().map(|(k, v)| (k, normed(&v))).collect()
        };
        // Week of 10-26: user 3's withdrawal (user 3 joined later: no sign-up that week).
        // Week of 11-02 (today's): users 1, 2, 3, all with a success; users 2 and 3 joined.
        assert_eq!(
            by_start(weeks),
            vec![
                ("2026-10-19".to_string(), strings(&["1", "0", "0", "0"])),
                ("2026-10-26".to_string(), strings(&["1", "1", "1", "0"])),
                ("2026-11-02".to_string(), strings(&["0", "3", "3", "2"])),
            ],
            "{backend:?}"
        );
        assert_eq!(
            by_start(months),
            vec![
                ("2026-09-01".to_string(), strings(&["1", "0", "0", "0"])),
                ("2026-10-01".to_string(), strings(&["1", "1", "1", "1"])),
                ("2026-11-01".to_string(), strings(&["0", "3", "3", "2"])),
            ],
            "{backend:?}"
        );
        // The first stored day is not a Monday or a first of the month every time: its periods
        // are incomplete, and every period before today's is otherwise complete.
        let first: String = sqlx::query_scalar("SELECT CAST(MIN(day) AS TEXT) FROM analytics_day_users")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        let incomplete = sqlx::query(
            "SELECT period, CAST(period_start AS TEXT) FROM analytics_period_users WHERE NOT complete ORDER BY 1, 2",
        )
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect::<Vec<_>>();
        let first = chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").unwrap();
        let mut expected = Vec::new();
        use chrono::Datelike;
        if first.day() != 1 {
            expected.push(("month".to_string(), first.with_day(1).unwrap().to_string()));
        }
        expected.push(("month".to_string(), "2026-11-01".to_string()));
        if first.weekday() != chrono::Weekday::Mon {
            let monday = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
            expected.push(("week".to_string(), monday.to_string()));
        }
        expected.push(("week".to_string(), "2026-11-02".to_string()));
        assert_eq!(incomplete, expected, "{backend:?}");
    }
}

backend_test! {
    /// A run rewrites only the daily and period rows whose values changed: a deposit landing on
    /// Monday changes Monday's row, its week and its month, stamped with the new run; the other
    /// rows keep the first run's id.
    async fn later_runs_rewrite_only_the_rows_that_changed(backend: Backend) {
        let (t, ctx) = setup(backend).await;
        let first = run(&ctx).await;
        let script = Fixture::default()
            .tx(7, 2, "deposit", "credit", "0.75", "success", "2026-11-02 12:00:00", None)
            .rows_script(backend);
        sqlx::raw_sql(&script).execute(&t.db.pool).await.unwrap();
        let ctx = RunContext { clock: Clock::fixed(now() + Duration::minutes(5)), ..ctx };
        let second = run(&ctx).await;
        let changed = rows(&t, "analytics_daily", &["day", "revenue", "run_id"], &format!("run_id = {second}")).await;
        assert_eq!(
            changed.into_iter().map(|(d, v)| (d, normed(&v))).collect::<Vec<_>>(),
            vec![("2026-11-02".to_string(), strings(&["1751.25", &second.to_string()]))],
            "{backend:?}"
        );
        let kept: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM analytics_daily WHERE run_id = {first}"))
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_daily").fetch_one(&t.db.pool).await.unwrap();
        assert_eq!(kept, all - 1, "{backend:?}");
        // User 2 was already active that week and month: the period rows did not change.
        let periods: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM analytics_period_users WHERE run_id = {second}"))
                .fetch_one(&t.db.pool)
                .await
                .unwrap();
        assert_eq!(periods, 0, "{backend:?}");
    }
}

backend_test! {
    /// Every run's scalars go into the history; after a week only each local day's last run
    /// stays (marked `day`), and rows older than the retention are deleted.
    async fn the_history_keeps_every_run_for_a_week_then_a_run_a_day_until_the_retention(backend: Backend) {
        let (t, ctx) = setup(backend).await;
        let at = |minutes: i64| RunContext { clock: Clock::fixed(now() + Duration::minutes(minutes)), ..ctx.clone() };
        let a = run(&at(0)).await;
        let b = run(&at(5)).await;
        let per_run: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM analytics_metric WHERE run_id = {b}"))
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert!(per_run > 100, "{backend:?}: {per_run} scalars");
        let history = || async {
            sqlx::query(
                "SELECT run_id, CAST(day AS TEXT), resolution, COUNT(*) FROM analytics_metric_history \
                 GROUP BY run_id, day, resolution ORDER BY run_id",
            )
            .fetch_all(&t.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1), r.get::<String, _>(2), r.get::<i64, _>(3)))
            .collect::<Vec<_>>()
        };
        let day = "2026-11-04".to_string();
        assert_eq!(
            history().await,
            vec![(a, day.clone(), "run".into(), per_run), (b, day.clone(), "run".into(), per_run)],
            "{backend:?}"
        );
        // The history's values are the run's `analytics_metric` values.
        let revenue = |run: i64| {
            let t = &t;
            async move {
                let sql = format!(
                    "SELECT CAST(value AS TEXT) FROM analytics_metric_history WHERE run_id = {run} \
                     AND window_days = 30 AND metric = 'overview.total_revenue'"
                );
                norm(&sqlx::query_scalar::<_, String>(&sql).fetch_one(&t.db.pool).await.unwrap())
            }
        };
        assert_eq!(revenue(b).await, "1750.5", "{backend:?}");
        // Eight days later (Thursday 11-12): 11-04 is past the week, so only its last run (b)
        // stays, as that day's value.
        let c = run(&at(8 * 24 * 60)).await;
        assert_eq!(
            history().await,
            vec![(b, day.clone(), "day".into(), per_run), (c, "2026-11-12".into(), "run".into(), per_run)],
            "{backend:?}"
        );
        // A retention of 5 days keeps 11-08 .. 11-12: 11-04 goes.
        let d = run(&RunContext { history_days: 5, ..at(8 * 24 * 60 + 5) }).await;
        let kept: Vec<i64> = history().await.into_iter().map(|h| h.0).collect();
        assert_eq!(kept, vec![c, d], "{backend:?}");
        // 0 keeps none.
        run(&RunContext { history_days: 0, ..at(8 * 24 * 60 + 10) }).await;
        assert_eq!(history().await, vec![], "{backend:?}");
    }
}
