//! Every field of every endpoint for a small hand-built platform, computed by hand below and
//! checked on SQLite and PostgreSQL; the two backends must produce byte-identical JSON.
//!
//! Clock: now = 2026-06-15 10:00:00 UTC (11:00 in Lagos). Window days=7:
//! [06-08 10:00Z, 06-15 10:00Z), local dates 06-08 … 06-15 (8 rows). Previous window:
//! [06-01 10:00Z, 06-08 10:00Z).

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::assert_json::assert_payload;
use common::fixture::{Fixture, UserFlags};
use common::{fresh, Backend};
use mafita_analytics::metrics::{
    compute, Endpoint, MetricSettings, Source, TxFilter, TxKind, TxStatus, Window,
};
use serde_json::{json, Value};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap()
}

/// Users: 1 staff (verified), 2 merchant (verified, referred by 1), 3 (unverified, referred by
/// 1, joined in window), 4 (inactive, verified, referred by 2, joined 06-14 23:30Z = 06-15
/// local), 5 joins exactly at now (not a user yet).
fn platform() -> Fixture {
    let f = UserFlags::default();
    Fixture::default()
        .user(1, "2026-01-01 00:00:00", UserFlags { staff: true, verified: true, ..f })
        .user(
            2,
            "2026-06-01 09:00:00",
            UserFlags { merchant: true, verified: true, referred_by: Some(1), ..f },
        )
        .user(3, "2026-06-10 12:00:00", UserFlags { referred_by: Some(1), ..f })
        .user(
            4,
            "2026-06-14 23:30:00",
            UserFlags { inactive: true, verified: true, referred_by: Some(2), ..f },
        )
        .user(5, "2026-06-15 10:00:00", UserFlags { verified: true, ..f })
        .wallet(1, 1, "1000", "0")
        .wallet(2, 2, "2500.5", "500.25")
        .wallet(3, 3, "0.1", "0")
        // In window: exactly on the start boundary, stored as an integer.
        .tx(1, 2, "deposit", "credit", "1000", "success", "2026-06-08 10:00:00", Some("dep-1"))
        // One second before the window: previous window.
        .tx(2, 2, "deposit", "credit", "500.00", "success", "2026-06-08 09:59:59", Some("dep-2"))
        .tx(3, 3, "airtime", "debit", "0.1", "success", "2026-06-10 12:00:00", None)
        .tx(4, 3, "data", "debit", "0.2", "success", "2026-06-11 08:00:00", None)
        .tx(5, 3, "cable_tv", "debit", "150", "failed", "2026-06-12 10:00:00", None)
        .tx(6, 2, "cable", "debit", "200", "success", "2026-06-13 10:00:00", None)
        // A P2P credit: not deposit revenue.
        .tx(7, 3, "deposit", "credit", "300", "success", "2026-06-13 11:00:00", Some("p2p-deposit-1"))
        // 23:30 UTC belongs to the next local day in Lagos.
        .tx(8, 2, "electricity", "debit", "99.99", "pending", "2026-06-14 23:30:00", None)
        // The last microsecond of the window.
        .tx(9, 1, "withdrawal", "debit", "50", "success", "2026-06-15 09:59:59.999999", None)
        // Exactly at now: outside the window.
        .tx(10, 3, "refund", "credit", "10", "success", "2026-06-15 10:00:00", None)
        // Upper-case reference: a deposit, not a P2P credit (LIKE would say otherwise on SQLite).
        .tx(11, 3, "deposit", "credit", "20", "success", "2026-06-14 12:00:00", Some("P2P-x"))
        .tx(12, 2, "airtime", "debit", "40", "failed", "2026-06-05 10:00:00", None)
        .deposit_offer(1, 2, true)
        .deposit_offer(2, 2, false)
        .deposit_order(1, 3, "300", "completed", "2026-06-13 10:55:00")
        .deposit_order(2, 2, "700", "pending", "2026-06-14 10:00:00")
        .deposit_order(3, 2, "100", "completed", "2026-06-03 10:00:00")
        .deposit_order(4, 3, "50", "paid", "2026-06-12 10:00:00")
        .deposit_order(5, 3, "25", "cancelled", "2026-06-12 11:00:00")
        .withdraw_order(1, 2, "80", "completed", "2026-06-12 10:00:00")
        .crypto(1, "BTC", "BTC")
        .crypto(2, "USDT", "TRON")
        .purchase(1, 2, 2, "250", "completed", "2026-06-09 10:00:00")
        .purchase(2, 3, 1, "1000", "failed", "2026-06-10 10:00:00")
        .purchase(3, 3, 1, "120", "completed", "2026-06-14 12:00:00")
        .bonus(1, 2, "100", "used", "2026-06-09 10:00:00")
        .bonus(2, 3, "50", "reversed", "2026-06-10 10:00:00")
        .bonus(3, 3, "25", "unlocked", "2026-06-11 10:00:00")
        .bonus(4, 1, "10", "locked", "2026-06-02 10:00:00")
}

const GENERATED_AT: &str = "2026-06-15T10:00:00.000000Z";

fn days(dates: &[&str], row: impl Fn(&str) -> Value) -> Value {
    Value::Array(dates.iter().map(|d| row(d)).collect())
}

const DATES: [&str; 8] = [
    "2026-06-08",
    "2026-06-09",
    "2026-06-10",
    "2026-06-11",
    "2026-06-12",
    "2026-06-13",
    "2026-06-14",
    "2026-06-15",
];

fn expected_overview() -> Value {
    json!({
        "total_transactions": 9,
        "successful_transactions": 7,
        // deposits 1000 + 20, P2P 300, crypto 250 + 120
        "total_revenue": 1690.00,
        "active_users": 3,
        "p2p_volume": 300.00,
        "transactions_trend": 600.00,   // (7 - 1) / 1
        "revenue_trend": 181.67,        // (1690 - 600) / 600
        "users_trend": 200.00,          // (3 - 1) / 1
        "p2p_trend": 200.00,            // (300 - 100) / 100
        "success_rate": 77.78,          // 7 / 9
        "bill_payments_volume": 200.30, // 0.10 + 0.20 + 200
        "crypto_volume": 370.00,
        "rewards_distributed": 125.00,  // 100 used + 25 unlocked; 50 reversed left out
        "users": { "total": 4, "new": 2, "growth_rate": 100.00 },
        "wallet": { "total_balance": 3500.60, "total_locked": 500.25, "available_balance": 3000.35 },
        "transactions": { "total_volume": 1570.30, "total_count": 7, "average_transaction": 224.33 },
        "revenue": { "total": 1690.00, "daily_average": 241.43 },
        "p2p": { "orders": 1, "volume": 300.00 },
        "crypto": { "purchases": 2, "volume": 370.00 },
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

fn expected_transactions() -> Value {
    let per_day = |d: &str| {
        let (count, volume) = match d {
            "2026-06-08" => (1, 1000.00),
            "2026-06-10" => (1, 0.10),
            "2026-06-11" => (1, 0.20),
            "2026-06-13" => (2, 500.00),
            "2026-06-14" => (1, 20.00),
            "2026-06-15" => (1, 50.00),
            _ => (0, 0.0),
        };
        json!({ "date": d, "count": count, "volume": volume })
    };
    json!({
        "total_volume": 1570.30,
        "total_count": 7,
        "average_transaction": 224.33,
        "summary": { "total_transactions": 9, "successful": 7, "failed": 1, "success_rate": 77.78 },
        "by_category": [
            { "category": "deposit", "count": 3, "total_amount": 1320.00 },
            { "category": "cable", "count": 1, "total_amount": 200.00 },
            { "category": "withdrawal", "count": 1, "total_amount": 50.00 },
            { "category": "data", "count": 1, "total_amount": 0.20 },
            { "category": "airtime", "count": 1, "total_amount": 0.10 },
        ],
        "type_breakdown": [ { "type": "debit", "count": 4 }, { "type": "credit", "count": 3 } ],
        "by_type": [
            { "type": "credit", "count": 3, "total_amount": 1320.00 },
            { "type": "debit", "count": 4, "total_amount": 250.30 },
        ],
        "status_breakdown": [
            { "status": "success", "count": 7 },
            { "status": "failed", "count": 1 },
            { "status": "pending", "count": 1 },
        ],
        "volume_over_time": days(&DATES, per_day),
        "daily_trend": days(&DATES, per_day),
        "transactions": [
            { "id": 9, "created_at": "2026-06-15T09:59:59.999999Z", "transaction_type": "withdrawal", "amount": 50.00, "status": "success", "username": "user1@example.ng", "reference": null },
            { "id": 8, "created_at": "2026-06-14T23:30:00.000000Z", "transaction_type": "electricity", "amount": 99.99, "status": "pending", "username": "user2@example.ng", "reference": null },
            { "id": 11, "created_at": "2026-06-14T12:00:00.000000Z", "transaction_type": "deposit", "amount": 20.00, "status": "success", "username": "user3@example.ng", "reference": "P2P-x" },
            { "id": 7, "created_at": "2026-06-13T11:00:00.000000Z", "transaction_type": "deposit", "amount": 300.00, "status": "success", "username": "user3@example.ng", "reference": "p2p-deposit-1" },
            { "id": 6, "created_at": "2026-06-13T10:00:00.000000Z", "transaction_type": "cable", "amount": 200.00, "status": "success", "username": "user2@example.ng", "reference": null },
            { "id": 5, "created_at": "2026-06-12T10:00:00.000000Z", "transaction_type": "cable_tv", "amount": 150.00, "status": "failed", "username": "user3@example.ng", "reference": null },
            { "id": 4, "created_at": "2026-06-11T08:00:00.000000Z", "transaction_type": "data", "amount": 0.20, "status": "success", "username": "user3@example.ng", "reference": null },
            { "id": 3, "created_at": "2026-06-10T12:00:00.000000Z", "transaction_type": "airtime", "amount": 0.10, "status": "success", "username": "user3@example.ng", "reference": null },
            { "id": 1, "created_at": "2026-06-08T10:00:00.000000Z", "transaction_type": "deposit", "amount": 1000.00, "status": "success", "username": "user2@example.ng", "reference": "dep-1" },
        ],
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

fn expected_revenue() -> Value {
    json!({
        "total_revenue": 1690.00,
        "net_profit": 1352.00,
        "total_expenses": 338.00,
        "revenue_trend": days(&DATES, |d| {
            let r = match d { "2026-06-08" => 1000.0, "2026-06-09" => 250.0, "2026-06-13" => 300.0, "2026-06-14" => 140.0, _ => 0.0 };
            json!({ "date": d, "revenue": r, "profit": r * 0.8 })
        }),
        "payment_method_breakdown": [
            { "method": "Deposits", "revenue": 1020.00 },
            { "method": "P2P", "revenue": 300.00 },
            { "method": "Crypto", "revenue": 370.00 },
        ],
        "service_breakdown": [
            { "service": "Deposits", "revenue": 1020.00 },
            { "service": "P2P Trading", "revenue": 300.00 },
            { "service": "Crypto Purchase", "revenue": 370.00 },
        ],
        "top_payment_methods": [
            { "method": "Deposits", "revenue": 1020.00, "count": 2, "average": 510.00 },
            { "method": "P2P", "revenue": 300.00, "count": 1, "average": 300.00 },
            { "method": "Crypto", "revenue": 370.00, "count": 2, "average": 185.00 },
        ],
        "by_source": {
            "deposits": { "revenue": 1020.00, "count": 2, "percentage": 60.36 },
            "p2p": { "revenue": 300.00, "count": 1, "percentage": 17.75 },
            "crypto": { "revenue": 370.00, "count": 2, "percentage": 21.89 },
        },
        "monthly_trend": [ { "month": "2026-06-01T00:00:00+01:00", "revenue": 1690.00, "count": 5 } ],
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

fn expected_users() -> Value {
    let growth = |d: &str| {
        let (total, new, active) = match d {
            "2026-06-08" => (2, 0, 1),
            "2026-06-09" => (2, 0, 0),
            "2026-06-10" => (3, 1, 1),
            "2026-06-11" => (3, 0, 1),
            "2026-06-12" => (3, 0, 1),
            "2026-06-13" => (3, 0, 2),
            "2026-06-14" => (3, 0, 1),
            _ => (4, 1, 2),
        };
        json!({ "date": d, "total_users": total, "new_users": new, "active_users": active })
    };
    json!({
        "total_users": 4,
        "new_users": 2,
        "active_users": 3,
        "verified_users": 3,
        "merchant_count": 1,
        "regular_user_count": 3,
        "retention_rate": 75.00,
        "avg_daily_users": 0.43,
        "user_growth": days(&DATES, growth),
        "user_segmentation": [
            { "segment": "Merchants", "count": 1 },
            { "segment": "Regular Users", "count": 3 },
            { "segment": "Verified", "count": 3 },
            { "segment": "Unverified", "count": 1 },
        ],
        "top_referrers": [
            // user 3: deposit 20 (the P2P credit is not revenue) + order 300 + purchase 120
            { "username": "user1@example.ng", "referral_count": 1, "active_referrals": 1, "total_revenue": 440.00 },
            { "username": "user2@example.ng", "referral_count": 1, "active_referrals": 0, "total_revenue": 0.00 },
        ],
        "summary": {
            "total_users": 4, "new_users": 2, "verified_users": 3, "merchants": 1, "active_users": 3,
            "users_with_wallets": 3, "verification_rate": 75.00, "activation_rate": 75.00,
        },
        "engagement": { "avg_transactions_per_user": 2.33 },
        "daily_registrations": days(&DATES, |d| json!({ "date": d, "count": if d == "2026-06-10" || d == "2026-06-15" { 1 } else { 0 } })),
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

fn expected_services() -> Value {
    json!({
        "p2p_volume": 300.00,
        "bill_payment_volume": 200.30,
        "crypto_volume": 370.00,
        "total_service_transactions": 10, // 4 deposit orders + 3 success bills + 3 purchases
        "airtime_volume": 0.10,
        "data_volume": 0.20,
        "cable_volume": 200.00,
        "electricity_volume": 0.00,
        "education_volume": 0.00,
        "p2p_data": days(&DATES, |d| json!({
            "date": d,
            "deposits": if d == "2026-06-13" { 300.00 } else { 0.0 },
            "withdrawals": if d == "2026-06-12" { 80.00 } else { 0.0 },
        })),
        "bill_payment_breakdown": [
            { "category": "Airtime", "volume": 0.10 },
            { "category": "Data", "volume": 0.20 },
            { "category": "Cable TV", "volume": 200.00 },
            { "category": "Electricity", "volume": 0.00 },
            { "category": "Education", "volume": 0.00 },
        ],
        "service_usage": [
            { "service": "P2P Trading", "count": 4 },
            { "service": "Crypto Purchase", "count": 3 },
            { "service": "Bill Payments", "count": 3 },
        ],
        "top_services": [
            { "service_name": "P2P Trading", "usage_count": 4, "revenue": 300.00, "success_rate": 25.00 },
            { "service_name": "Crypto Purchase", "usage_count": 3, "revenue": 370.00, "success_rate": 66.67 },
            { "service_name": "Airtime", "usage_count": 1, "revenue": 0.10, "success_rate": 100.00 },
            { "service_name": "Data", "usage_count": 1, "revenue": 0.20, "success_rate": 100.00 },
        ],
        "p2p": {
            "total_orders": 4, "completed": 1, "pending": 1, "cancelled": 1, "total_volume": 300.00,
            "active_offers": 1, "completion_rate": 25.00,
        },
        "crypto": {
            "total_purchases": 3, "completed": 2, "pending": 0, "failed": 1, "total_volume": 370.00,
            "success_rate": 66.67,
            "by_network": [
                { "network": "TRON", "count": 1, "volume": 250.00 },
                { "network": "BTC", "count": 1, "volume": 120.00 },
            ],
        },
        "bills": { "total_transactions": 3, "total_volume": 200.30, "airtime_count": 1, "data_count": 1 },
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

fn expected_kpis() -> Value {
    json!({
        "dau": 2,               // today (local 06-15 from 06-14 23:00Z): users 2 and 1
        "mau": 3,
        "dau_trend": 100.00,    // yesterday: user 3 only
        "mau_trend": 0.00,      // nobody in the 30 days before: zero denominator
        "ltv": 572.50,          // lifetime revenue 2290 / 4 users
        "cac": 229.00,          // 2290 × 0.20 / 2 new users
        "ltv_cac_ratio": 2.50,
        "arpu": 563.33,         // 1690 / 3
        "ltv_trend": 90.83,     // prev: 600 / 2 users = 300
        "cac_trend": 0.00,      // prev window had no sign-ups: prev CAC is 0
        "ltv_cac_ratio_trend": 0.00,
        "arpu_trend": -6.11,    // prev: 600 / 1
        "retention_trend": 50.00, // 75% vs 1/2
        "transaction_success_rate": 77.78,
        "success_rate_trend": 27.78, // 77.78 - 50.00
        "churn_rate": 0.00,     // users 1 and 2 joined before and both transacted
        "churn_rate_trend": -50.00, // prev: of users 1, 2 only 2 transacted
        "retention_rate": 75.00,
        "user_growth_rate": 100.00,
        "revenue_growth_rate": 181.67,
        "transaction_growth_rate": 600.00,
        "user_growth_trend": 100.00,
        "revenue_growth_trend": 181.67,
        "transaction_growth_trend": 600.00,
        "stickiness": 66.67,
        "stickiness_trend": 66.67,
        "dau_target": 1,
        "mau_target": 2,
        "kpis": {
            "total_platform_value": 3500.60, "transaction_success_rate": 77.78,
            "average_transaction_value": 224.33, "customer_lifetime_value": 572.50,
            "user_retention_rate": 75.00, "total_users": 4, "active_users": 3,
        },
        "bonuses": { "total_distributed": 125.00, "total_count": 3, "unlocked": 1, "used": 1, "utilization_rate": 33.33 },
        "period_days": 7,
        "generated_at": GENERATED_AT,
    })
}

async fn payloads(backend: Backend, filter: &TxFilter) -> Vec<(Endpoint, Value)> {
    let t = fresh(backend, &platform().script(backend)).await;
    let settings = MetricSettings::default();
    let window = Window::rolling(now(), settings.tz, 7).unwrap();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut out = Vec::new();
    for endpoint in Endpoint::ALL {
        let mut src = Source::new(&mut conn, t.db.dialect, &settings);
        let body = compute(&mut src, endpoint, &window, filter).await.unwrap().into_value();
        assert!(src.query_count() <= 11, "{endpoint:?} ran {} queries", src.query_count());
        out.push((endpoint, body));
    }
    out
}

fn expected(endpoint: Endpoint) -> Value {
    match endpoint {
        Endpoint::Overview => expected_overview(),
        Endpoint::Transactions => expected_transactions(),
        Endpoint::Revenue => expected_revenue(),
        Endpoint::Users => expected_users(),
        Endpoint::Services => expected_services(),
        Endpoint::Kpis => expected_kpis(),
    }
}

backend_test! {
    async fn every_field_of_every_endpoint_matches_hand_computed_values(backend: Backend) {
        for (endpoint, body) in &payloads(backend, &TxFilter::default()).await {
            assert_payload(body, &expected(*endpoint));
        }
    }
}

#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn every_endpoint_gives_the_same_json_on_sqlite_and_postgres() {
    let lite = payloads(Backend::Sqlite, &TxFilter::default()).await;
    let pg = payloads(Backend::Postgres, &TxFilter::default()).await;
    for ((endpoint, a), (_, b)) in lite.iter().zip(&pg) {
        assert_eq!(a.to_string(), b.to_string(), "{endpoint:?}: SQLite and PostgreSQL JSON differ");
    }
}

async fn transactions_with(backend: Backend, filter: TxFilter) -> Value {
    let t = fresh(backend, &platform().script(backend)).await;
    let settings = MetricSettings::default();
    let window = Window::rolling(now(), settings.tz, 7).unwrap();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, &settings);
    compute(&mut src, Endpoint::Transactions, &window, &filter).await.unwrap().into_value()
}

backend_test! {
    async fn status_filter_replaces_the_success_selection(backend: Backend) {
        let filter = TxFilter { status: Some(TxStatus::Failed), kind: None };
        let body = transactions_with(backend, filter).await;
        assert_eq!(body["total_count"], json!(1));
        assert_eq!(body["total_volume"].to_string(), "150.00");
        assert_payload(
            &body["summary"],
            &json!({ "total_transactions": 1, "successful": 0, "failed": 1, "success_rate": 0.00 }),
        );
        assert_eq!(body["by_category"][0]["category"], "cable_tv");
        let ids: Vec<i64> =
            body["transactions"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![5]);
    }
}

backend_test! {
    async fn type_filters_select_groups_and_p2p_by_case_sensitive_reference(backend: Backend) {
        let bills = TxFilter { status: None, kind: Some(TxKind::Bills) };
        let body = transactions_with(backend, bills).await;
        // Bills in window: t3, t4, t5 (failed), t6, t8 (pending); success: t3, t4, t6.
        assert_eq!(body["total_count"], json!(3));
        assert_eq!(body["total_volume"].to_string(), "200.30");
        assert_eq!(body["summary"]["total_transactions"], json!(5));
        assert_eq!(body["summary"]["success_rate"].to_string(), "60.00");

        let p2p = TxFilter { status: None, kind: Some(TxKind::P2p) };
        let body = transactions_with(backend, p2p).await;
        // Only "p2p-deposit-1"; "P2P-x" is not a P2P credit.
        assert_eq!(body["total_count"], json!(1));
        assert_eq!(body["total_volume"].to_string(), "300.00");

        let cable = TxFilter { status: Some(TxStatus::Success), kind: TxKind::parse("cable") };
        let body = transactions_with(backend, cable).await;
        assert_eq!(body["total_count"], json!(1));
        assert_payload(&body["by_type"], &json!([{ "type": "debit", "count": 1, "total_amount": 200.00 }]));
    }
}
