//! Edge cases of windows, time zones, decimals and rows changing in place, on both backends.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::assert_json::assert_payload;
use common::fixture::{Fixture, UserFlags};
use common::{fresh, Backend, TestDb};
use mafita_analytics::metrics::{compute, Endpoint, MetricSettings, Source, TxFilter, Window};
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

async fn body(t: &TestDb, settings: &MetricSettings, endpoint: Endpoint, window: &Window) -> Value {
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, settings);
    compute(&mut src, endpoint, window, &TxFilter::default()).await.unwrap().into_value()
}

fn dates(body: &Value, field: &str) -> Vec<String> {
    body[field].as_array().unwrap().iter().map(|r| r["date"].as_str().unwrap().to_string()).collect()
}

backend_test! {
    async fn empty_database_gives_zeros_and_full_series_for_one_and_3650_days(backend: Backend) {
        let t = fresh(backend, &Fixture::default().script(backend)).await;
        let settings = MetricSettings::default();
        let now = at(2026, 6, 15, 10, 0);
        for days in [1, 3650] {
            let w = Window::rolling(now, settings.tz, days).unwrap();
            for endpoint in Endpoint::ALL {
                let b = body(&t, &settings, endpoint, &w).await;
                let text = b.to_string();
                assert!(!text.contains("null") || endpoint == Endpoint::Transactions, "{endpoint:?}: {text}");
                assert!(!text.contains("NaN") && !text.contains("inf"), "{endpoint:?}: {text}");
                assert_eq!(b["period_days"], json!(days));
            }
            let tx = body(&t, &settings, Endpoint::Transactions, &w).await;
            // N + 1 local dates for a rolling window that does not start at midnight.
            assert_eq!(dates(&tx, "daily_trend").len() as i64, days + 1);
            assert_payload(
                &tx["summary"],
                &json!({ "total_transactions": 0, "successful": 0, "failed": 0, "success_rate": 0.00 }),
            );
            let overview = body(&t, &settings, Endpoint::Overview, &w).await;
            assert_payload(
                &overview["transactions"],
                &json!({ "total_volume": 0.00, "total_count": 0, "average_transaction": 0.00 }),
            );
            assert_payload(&overview["users"], &json!({ "total": 0, "new": 0, "growth_rate": 0.00 }));
            let kpis = body(&t, &settings, Endpoint::Kpis, &w).await;
            assert_payload(
                &kpis["bonuses"],
                &json!({ "total_distributed": 0.00, "total_count": 0, "unlocked": 0, "used": 0, "utilization_rate": 0.00 }),
            );
            assert_eq!(kpis["ltv_cac_ratio"].to_string(), "0.00");
        }
    }
}

backend_test! {
    /// New York: 2026-03-08 has 23 hours (clocks jump 02:00 → 03:00 EST→EDT).
    async fn daylight_saving_days_bucket_by_local_date(backend: Backend) {
        let f = UserFlags::default();
        let fixture = Fixture::default()
            .user(1, "2026-01-01 00:00:00", f)
            .wallet(1, 1, "0", "0")
            // 2026-03-07 23:30 EST (UTC−5)
            .tx(1, 1, "airtime", "debit", "1", "success", "2026-03-08 04:30:00", None)
            // 2026-03-08 00:30 EST: first hour of the short day
            .tx(2, 1, "airtime", "debit", "2", "success", "2026-03-08 05:30:00", None)
            // 2026-03-08 23:30 EDT (UTC−4): last hour of the short day
            .tx(3, 1, "airtime", "debit", "4", "success", "2026-03-09 03:30:00", None)
            // 2026-03-09 00:30 EDT
            .tx(4, 1, "airtime", "debit", "8", "success", "2026-03-09 04:30:00", None);
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings { tz: chrono_tz::America::New_York, ..MetricSettings::default() };
        let now = at(2026, 3, 10, 12, 0);
        let w = Window::from_params(now, settings.tz, None, Some("2026-03-07"), Some("2026-03-09")).unwrap();
        let tx = body(&t, &settings, Endpoint::Transactions, &w).await;
        assert_payload(
            &tx["daily_trend"],
            &json!([
                { "date": "2026-03-07", "count": 1, "volume": 1.00 },
                { "date": "2026-03-08", "count": 2, "volume": 6.00 },
                { "date": "2026-03-09", "count": 1, "volume": 8.00 },
            ]),
        );
        // The short day alone is [05:00Z, 04:00Z next day): 23 hours, two transactions.
        let day =
            Window::from_params(now, settings.tz, None, Some("2026-03-08"), Some("2026-03-08")).unwrap();
        assert_eq!((day.current.end - day.current.start).num_hours(), 23);
        let tx = body(&t, &settings, Endpoint::Transactions, &day).await;
        assert_eq!(tx["total_count"], json!(2));
        assert_eq!(tx["total_volume"].to_string(), "6.00");
        // Its previous window is the one whole local day before: 03-07, holding transaction 1.
        let overview = body(&t, &settings, Endpoint::Overview, &day).await;
        assert_eq!(overview["transactions_trend"].to_string(), "100.00");
    }
}

backend_test! {
    async fn lagos_late_evening_utc_is_next_local_day_and_month(backend: Backend) {
        let f = UserFlags::default();
        let fixture = Fixture::default()
            .user(1, "2026-01-01 00:00:00", f)
            .wallet(1, 1, "0", "0")
            .tx(1, 1, "deposit", "credit", "10", "success", "2026-05-31 23:30:00", None)
            .tx(2, 1, "deposit", "credit", "5", "success", "2026-05-31 22:59:59", None);
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings::default();
        let w = Window::rolling(at(2026, 6, 2, 12, 0), settings.tz, 7).unwrap();
        let rev = body(&t, &settings, Endpoint::Revenue, &w).await;
        let trend = rev["revenue_trend"].as_array().unwrap();
        let day = |d: &str| trend.iter().find(|r| r["date"] == d).unwrap()["revenue"].to_string();
        assert_eq!(day("2026-05-31"), "5.00");
        assert_eq!(day("2026-06-01"), "10.00");
        assert_payload(
            &rev["monthly_trend"],
            &json!([
                { "month": "2026-05-01T00:00:00+01:00", "revenue": 5.00, "count": 1 },
                { "month": "2026-06-01T00:00:00+01:00", "revenue": 10.00, "count": 1 },
            ]),
        );
    }
}

backend_test! {
    async fn pending_rows_that_later_succeed_are_counted_on_the_next_computation(backend: Backend) {
        let f = UserFlags::default();
        let fixture = Fixture::default().user(1, "2026-01-01 00:00:00", f).wallet(1, 1, "0", "0").tx(
            1,
            1,
            "electricity",
            "debit",
            "120.50",
            "pending",
            "2026-06-15 09:00:00",
            None,
        );
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings::default();
        let w = Window::rolling(at(2026, 6, 15, 10, 0), settings.tz, 1).unwrap();
        let before = body(&t, &settings, Endpoint::Overview, &w).await;
        assert_eq!(before["successful_transactions"], json!(0));
        assert_eq!(before["bill_payments_volume"].to_string(), "0.00");
        sqlx::query("UPDATE wallet_wallettransaction SET status = 'success' WHERE id = 1")
            .execute(&t.db.pool)
            .await
            .unwrap();
        let after = body(&t, &settings, Endpoint::Overview, &w).await;
        assert_eq!(after["total_transactions"], json!(1));
        assert_eq!(after["successful_transactions"], json!(1));
        assert_eq!(after["bill_payments_volume"].to_string(), "120.50");
    }
}

backend_test! {
    /// Averages are taken from exact sums: (1.00 + 1.01) / 2 = 1.005 rounds to 1.01, where binary
    /// floating point (1.00499999…) would round to 1.00.
    async fn average_of_exact_sums_is_not_off_by_a_kobo(backend: Backend) {
        let f = UserFlags::default();
        let fixture = Fixture::default()
            .user(1, "2026-01-01 00:00:00", f)
            .wallet(1, 1, "0", "0")
            .tx(1, 1, "airtime", "debit", "1.00", "success", "2026-06-15 08:00:00", None)
            .tx(2, 1, "airtime", "debit", "1.01", "success", "2026-06-15 09:00:00", None);
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings::default();
        let w = Window::rolling(at(2026, 6, 15, 10, 0), settings.tz, 1).unwrap();
        let tx = body(&t, &settings, Endpoint::Transactions, &w).await;
        assert_eq!(tx["total_volume"].to_string(), "2.01");
        assert_eq!(tx["average_transaction"].to_string(), "1.01");
    }
}

/// SQLite may hand back a decimal as an integer, a real or text; all three sum exactly.
/// (A column without a declared type keeps each value's storage class, as legacy or
/// hand-migrated databases do.)
#[tokio::test]
async fn sqlite_decimals_stored_as_integer_real_and_text_sum_exactly() {
    let script = Fixture::default()
        .user(1, "2026-01-01 00:00:00", UserFlags::default())
        .wallet(1, 1, "0", "0")
        .tx(1, 1, "deposit", "credit", "1000", "success", "2026-06-15 07:00:00", None)
        .tx(2, 1, "deposit", "credit", "0.1", "success", "2026-06-15 08:00:00", None)
        .tx(3, 1, "deposit", "credit", "'0.20'", "success", "2026-06-15 09:00:00", None)
        .script(Backend::Sqlite)
        .replace("amount decimal NOT NULL, balance_before", "amount NOT NULL, balance_before");
    let t = fresh(Backend::Sqlite, &script).await;
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT typeof(amount) FROM wallet_wallettransaction ORDER BY id")
            .fetch_all(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["integer", "real", "text"]);
    let settings = MetricSettings::default();
    let w = Window::rolling(at(2026, 6, 15, 10, 0), settings.tz, 1).unwrap();
    let overview = body(&t, &settings, Endpoint::Overview, &w).await;
    assert_eq!(overview["total_revenue"].to_string(), "1000.30");
    assert_eq!(overview["transactions"]["average_transaction"].to_string(), "333.43");
}

backend_test! {
    /// Payloads folded from a shared read (what a run does) equal payloads computed from scratch,
    /// also across a daylight-saving change, for windows of 1 to 20 days.
    async fn folding_windows_from_a_shared_read_matches_computing_each_alone(backend: Backend) {
        let mut fixture =
            Fixture::default().user(1, "2026-01-01 00:00:00", UserFlags::default()).wallet(1, 1, "0", "0");
        let stamps = [
            "2026-03-01 04:59:59",
            "2026-03-03 12:00:00",
            "2026-03-07 23:30:00",
            "2026-03-08 04:30:00",
            "2026-03-08 06:59:59",
            "2026-03-08 07:00:00",
            "2026-03-09 03:59:59",
            "2026-03-09 04:00:00",
            "2026-03-12 15:00:00",
            "2026-03-15 03:59:59",
            "2026-03-19 11:59:59",
            "2026-03-20 11:00:00",
        ];
        for (i, at) in stamps.iter().enumerate() {
            let status = if i % 3 == 0 { "failed" } else { "success" };
            fixture = fixture.tx(i as i64 + 1, 1, "deposit", "credit", "10.05", status, at, None);
        }
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings { tz: chrono_tz::America::New_York, ..MetricSettings::default() };
        let now = at(2026, 3, 20, 12, 0);
        let windows: Vec<Window> = [1, 2, 3, 6, 7, 8, 12, 13, 20]
            .iter()
            .map(|d| Window::rolling(now, settings.tz, *d).unwrap())
            .collect();
        let mut conn = t.db.pool.acquire().await.unwrap();
        let mut shared = Source::new(&mut conn, t.db.dialect, &settings);
        mafita_analytics::metrics::prefetch(&mut shared, &windows).await.unwrap();
        let mut folded = Vec::new();
        for w in &windows {
            for endpoint in Endpoint::ALL {
                folded.push(compute(&mut shared, endpoint, w, &TxFilter::default()).await.unwrap().into_value());
            }
        }
        drop(shared);
        let mut i = 0;
        for w in &windows {
            for endpoint in Endpoint::ALL {
                let alone = body(&t, &settings, endpoint, w).await;
                assert_eq!(folded[i], alone, "{endpoint:?} days={}", w.period_days);
                i += 1;
            }
        }
    }
}

backend_test! {
    /// A row in the last millisecond of a local day belongs to that day on both backends (SQLite's
    /// `date()` would round `23:59:59.9997` up into the next day).
    async fn a_row_in_the_last_instant_of_a_day_is_counted_on_that_day(backend: Backend) {
        // Lagos (UTC+1): 2026-06-13 22:59:59.9997 UTC is 23:59:59.9997 local on 06-13.
        let f = UserFlags::default();
        let fixture = Fixture::default()
            .user(1, "2026-01-01 00:00:00", f)
            .wallet(1, 1, "0", "0")
            .tx(1, 1, "deposit", "credit", "250.00", "success", "2026-06-13 22:59:59.9997", None);
        let t = fresh(backend, &fixture.script(backend)).await;
        let settings = MetricSettings::default();
        let now = at(2026, 6, 15, 10, 0);
        for days in [3, 7] {
            let w = Window::rolling(now, settings.tz, days).unwrap();
            let tx = body(&t, &settings, Endpoint::Transactions, &w).await;
            assert_eq!(tx["total_count"], json!(1), "days={days}");
            let on_13th: Vec<&Value> =
                tx["daily_trend"].as_array().unwrap().iter().filter(|r| r["date"] == "2026-06-13").collect();
            assert_eq!(on_13th.len(), 1, "days={days}");
            assert_payload(on_13th[0], &json!({ "date": "2026-06-13", "count": 1, "volume": 250.00 }));
        }
    }
}
