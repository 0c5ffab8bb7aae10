//! The metric report (daily / weekly / monthly / custom buckets) and the raw-row export,
//! with hand-computed values, on both backends.
//!
//! Clock: now = 2026-06-15 10:00 UTC (a Monday; 06-01 and 06-08 are Mondays too).

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::assert_json::assert_payload;
use common::fixture::{Fixture, UserFlags};
use common::{fresh, Backend, TestDb};
use mafita_analytics::metrics::export::{export_transactions, export_users, ExportRows};
use mafita_analytics::metrics::report::{report, ReportRequest};
use mafita_analytics::metrics::{MetricSettings, Source, Window};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap()
}

fn platform() -> Fixture {
    let f = UserFlags::default();
    Fixture::default()
        .user(1, "2026-01-01 00:00:00", UserFlags { verified: true, ..f })
        .user(2, "2026-06-04 10:00:00", UserFlags { merchant: true, ..f })
        .user(3, "2026-06-09 10:00:00", f)
        .wallet(1, 1, "0", "0")
        .wallet(2, 2, "0", "0")
        .wallet(3, 3, "0", "0")
        .tx(1, 1, "deposit", "credit", "100", "success", "2026-06-02 10:00:00", None)
        .tx(2, 1, "airtime", "debit", "10", "success", "2026-06-04 10:00:00", None)
        .tx(3, 2, "data", "debit", "20", "failed", "2026-06-05 10:00:00", None)
        .tx(4, 2, "deposit", "credit", "50", "success", "2026-06-09 10:00:00", None)
        // 23:30 local on 06-14: still inside a range ending 06-14.
        .tx(5, 3, "cable_tv", "debit", "30", "success", "2026-06-14 22:30:00", None)
        // 00:30 local on 06-15: outside it.
        .tx(6, 1, "deposit", "credit", "7", "success", "2026-06-14 23:30:00", None)
        .deposit_offer(1, 2, true)
        .deposit_order(1, 2, "40", "completed", "2026-06-10 10:00:00")
        .deposit_order(2, 2, "60", "pending", "2026-06-10 11:00:00")
        .crypto(1, "BTC", "BTC")
        .purchase(1, 3, 1, "25", "completed", "2026-06-12 10:00:00")
        .bonus(1, 2, "5", "used", "2026-06-05 10:00:00")
        .bonus(2, 3, "3", "reversed", "2026-06-12 10:00:00")
}

fn request(report_type: &str, metrics: Option<&str>, from: &str, to: &str) -> ReportRequest {
    ReportRequest::parse(now(), chrono_tz::Africa::Lagos, report_type, metrics, None, Some(from), Some(to))
        .unwrap()
}

async fn run(t: &TestDb, req: ReportRequest) -> Value {
    let settings = MetricSettings::default();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, &settings);
    let out = report(&mut src, now(), req).await.unwrap();
    assert!(src.query_count() <= 6, "report ran {} queries", src.query_count());
    out.to_json()
}

backend_test! {
    async fn weekly_report_buckets_by_monday_and_counts_only_dates_in_range(backend: Backend) {
        let t = fresh(backend, &platform().script(backend)).await;
        let body = run(&t, request("weekly", None, "2026-06-03", "2026-06-14")).await;
        assert_payload(
            &body,
            &json!({
                "report_type": "weekly",
                "date_from": "2026-06-03",
                "date_to": "2026-06-14",
                "metrics": ["transactions", "revenue", "users", "services", "kpis"],
                "rows": [
                    {
                        // 06-03..06-07 only: the 06-02 deposit is outside the range.
                        "period": "2026-06-01",
                        "transactions": 2, "successful_transactions": 1, "transaction_volume": 10.00, "success_rate": 50.00,
                        "revenue_total": 0.00, "revenue_deposits": 0.00, "revenue_p2p": 0.00, "revenue_crypto": 0.00,
                        "new_users": 1, "active_users": 2,
                        "bill_payment_volume": 10.00, "p2p_volume": 0.00, "crypto_volume": 0.00,
                        "arpu": 0.00, "rewards_distributed": 5.00,
                    },
                    {
                        "period": "2026-06-08",
                        "transactions": 2, "successful_transactions": 2, "transaction_volume": 80.00, "success_rate": 100.00,
                        "revenue_total": 115.00, "revenue_deposits": 50.00, "revenue_p2p": 40.00, "revenue_crypto": 25.00,
                        "new_users": 1, "active_users": 2,
                        "bill_payment_volume": 30.00, "p2p_volume": 40.00, "crypto_volume": 25.00,
                        "arpu": 57.50, "rewards_distributed": 0.00,
                    },
                ],
            }),
        );
    }
}

backend_test! {
    async fn daily_report_over_seven_calendar_days_has_seven_rows(backend: Backend) {
        let t = fresh(backend, &platform().script(backend)).await;
        let body = run(&t, request("daily", Some("transactions,users"), "2026-06-08", "2026-06-14")).await;
        let rows = body["rows"].as_array().unwrap();
        let periods: Vec<&str> = rows.iter().map(|r| r["period"].as_str().unwrap()).collect();
        assert_eq!(
            periods,
            [
                "2026-06-08",
                "2026-06-09",
                "2026-06-10",
                "2026-06-11",
                "2026-06-12",
                "2026-06-13",
                "2026-06-14"
            ]
        );
        assert_payload(
            &rows[1],
            &json!({ "period": "2026-06-09", "transactions": 1, "successful_transactions": 1, "transaction_volume": 50.00,
                     "success_rate": 100.00, "new_users": 1, "active_users": 1 }),
        );
        assert_payload(
            &rows[6],
            &json!({ "period": "2026-06-14", "transactions": 1, "successful_transactions": 1, "transaction_volume": 30.00,
                     "success_rate": 100.00, "new_users": 0, "active_users": 1 }),
        );
    }
}

backend_test! {
    async fn monthly_and_custom_reports(backend: Backend) {
        let t = fresh(backend, &platform().script(backend)).await;
        let monthly =
            run(&t, request("monthly", Some("revenue,transactions"), "2026-05-20", "2026-06-14")).await;
        assert_payload(
            &monthly["rows"],
            &json!([
                { "period": "2026-05-01", "transactions": 0, "successful_transactions": 0, "transaction_volume": 0.00, "success_rate": 0.00,
                  "revenue_total": 0.00, "revenue_deposits": 0.00, "revenue_p2p": 0.00, "revenue_crypto": 0.00 },
                { "period": "2026-06-01", "transactions": 5, "successful_transactions": 4, "transaction_volume": 190.00, "success_rate": 80.00,
                  "revenue_total": 215.00, "revenue_deposits": 150.00, "revenue_p2p": 40.00, "revenue_crypto": 25.00 },
            ]),
        );
        // Columns follow the spec's group order whatever order `metrics` lists them in.
        assert_eq!(monthly["metrics"], json!(["transactions", "revenue"]));
        let custom = run(&t, request("custom", Some("users"), "2026-06-03", "2026-06-14")).await;
        assert_payload(
            &custom["rows"],
            &json!([{ "period": "2026-06-03", "new_users": 2, "active_users": 3 }]),
        );
    }
}

#[tokio::test]
async fn report_csv_has_one_header_and_a_line_per_bucket() {
    let t = fresh(Backend::Sqlite, &platform().script(Backend::Sqlite)).await;
    let settings = MetricSettings::default();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, &settings);
    let req = request("weekly", Some("revenue"), "2026-06-03", "2026-06-14");
    assert_eq!(
        req.filename(mafita_analytics::metrics::payload::export::ExportFormat::Csv),
        "analytics_report_2026-06-03_to_2026-06-14.csv"
    );
    let csv = report(&mut src, now(), req).await.unwrap().to_csv().unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "period,revenue_total,revenue_deposits,revenue_p2p,revenue_crypto\n\
         2026-06-01,0.00,0.00,0.00,0.00\n\
         2026-06-08,115.00,50.00,40.00,25.00\n"
    );
}

#[test]
fn report_parameters_are_validated_with_the_parameter_named() {
    let tz = chrono_tz::Africa::Lagos;
    let err = |t: &str, m: Option<&str>, d: Option<&str>, f: Option<&str>| {
        ReportRequest::parse(now(), tz, t, m, d, f, None).unwrap_err().0
    };
    assert!(err("hourly", None, None, None).contains("report_type"));
    assert!(err("daily", Some(""), None, None).contains("metrics"));
    assert!(err("daily", Some("transactions,profit"), None, None).contains("\"profit\""));
    assert!(err("daily", None, Some("7"), Some("2026-06-01")).contains("not both"));
    assert!(err("daily", None, Some("0"), None).contains("days"));
    // days=N means the dates today − N .. today.
    let req = ReportRequest::parse(now(), tz, "daily", None, Some("7"), None, None).unwrap();
    assert_eq!(
        (req.date_from.to_string(), req.date_to.to_string()),
        ("2026-06-08".into(), "2026-06-15".into())
    );
    // The default is the last 30 days.
    let req = ReportRequest::parse(now(), tz, "daily", None, None, None, None).unwrap();
    assert_eq!(req.date_from.to_string(), "2026-05-16");
}

backend_test! {
    async fn export_lists_window_rows_newest_first_and_escapes_formulas(backend: Backend) {
        let t = fresh(backend, &platform().script(backend)).await;
        sqlx::query("UPDATE accounts_user SET email = '=cmd()@evil.example' WHERE id = 3")
            .execute(&t.db.pool)
            .await
            .unwrap();
        let settings = MetricSettings::default();
        let w = Window::rolling(now(), settings.tz, 7).unwrap();
        let mut conn = t.db.pool.acquire().await.unwrap();
        let mut src = Source::new(&mut conn, t.db.dialect, &settings);
        let txs = export_transactions(&mut src, &w, 1000).await.unwrap();
        let ids: Vec<i64> = txs.iter().map(|r| r.id).collect();
        assert_eq!(ids, [6, 5, 4]);
        assert_payload(
            &txs.to_json()["transactions"][1],
            &json!({ "id": 5, "user_email": "=cmd()@evil.example", "type": "debit", "category": "cable_tv",
                     "amount": 30.00, "status": "success", "created_at": "2026-06-14T22:30:00.000000Z" }),
        );
        assert_eq!(txs.to_json()["count"], json!(3));
        let csv = String::from_utf8(txs.to_csv().unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            vec!["ID", "User Email", "Type", "Category", "Amount", "Status", "Created At"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[1][1], "'=cmd()@evil.example");
        assert_eq!(&rows[1][4], "30.00");
        let limited = export_transactions(&mut src, &w, 2).await.unwrap();
        assert_eq!(limited.len(), 2);

        let users = export_users(&mut src, &w, 1000).await.unwrap();
        assert_payload(
            &users.to_json(),
            &json!({ "users": [{ "id": 3, "email": "=cmd()@evil.example", "is_merchant": false,
                                 "is_email_verified": false, "date_joined": "2026-06-09T10:00:00.000000Z" }],
                     "count": 1 }),
        );
        let csv = String::from_utf8(users.to_csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "ID,Email,Is Merchant,Email Verified,Date Joined\n3,'=cmd()@evil.example,false,false,2026-06-09T10:00:00.000000Z\n"
        );
    }
}
