//! The day store: windows folded from stored days plus live reads equal windows computed from
//! scratch, distinct users stay exact across stored and live days, and what a stored day does
//! not see (a row changed in place after the read) is seen after the next read. On SQLite and
//! PostgreSQL.

mod common;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::assert_json::assert_payload;
use common::fixture::{Fixture, UserFlags};
use common::{fresh, Backend, TestDb};
use mafita_analytics::metrics::{
    compute, live, DayStore, Endpoint, MetricSettings, Source, TxFilter, Window,
};
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Lagos (UTC+1). The store is read at 2026-06-15 06:00 UTC, so its last whole day is 06-14.
fn platform() -> Fixture {
    let f = UserFlags::default();
    Fixture::default()
        .user(1, "2026-01-01 00:00:00", f)
        .user(2, "2026-06-01 10:00:00", f)
        .user(3, "2026-06-12 10:00:00", f)
        .wallet(1, 1, "0", "0")
        .wallet(2, 2, "0", "0")
        .wallet(3, 3, "0", "0")
        // Before the store's first day: only in the lifetime revenue it carries.
        .tx(1, 1, "deposit", "credit", "30.00", "success", "2026-05-20 12:00:00", None)
        .tx(2, 1, "deposit", "credit", "100.00", "success", "2026-06-05 12:00:00", None)
        .tx(3, 2, "airtime", "debit", "5.00", "failed", "2026-06-10 09:00:00", None)
        .tx(4, 2, "deposit", "credit", "20.00", "success", "2026-06-13 08:00:00", None)
        // 06-14 23:30 local: the last stored day.
        .tx(5, 1, "airtime", "debit", "3.50", "success", "2026-06-14 22:30:00", None)
        // 06-15 00:30 local: a day not over when the store was read, so read live.
        .tx(6, 3, "data", "debit", "7.25", "pending", "2026-06-14 23:30:00", None)
}

/// Written by the platform after the store was read.
fn later_rows() -> Fixture {
    Fixture::default().tx(7, 3, "deposit", "credit", "50.00", "success", "2026-06-15 10:00:00", None).tx(
        8,
        1,
        "airtime",
        "debit",
        "1.00",
        "failed",
        "2026-06-16 09:00:00",
        None,
    )
}

const READ_AT: (i32, u32, u32, u32, u32) = (2026, 6, 15, 6, 0);
const NOW: (i32, u32, u32, u32, u32) = (2026, 6, 16, 12, 0);

async fn read_store(t: &TestDb, settings: &MetricSettings) -> Arc<DayStore> {
    let (y, m, d, h, min) = READ_AT;
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, settings);
    Arc::new(DayStore::build(&mut src, at(2026, 6, 1, 0, 0), at(y, m, d, h, min), 0, None).await.unwrap())
}

async fn payload(
    t: &TestDb,
    settings: &MetricSettings,
    store: Option<Arc<DayStore>>,
    endpoint: Endpoint,
    w: &Window,
) -> Value {
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, settings).with_days(store);
    compute(&mut src, endpoint, w, &TxFilter::default()).await.unwrap().into_value()
}

async fn platform_with_store(backend: Backend) -> (TestDb, MetricSettings, Arc<DayStore>) {
    let t = fresh(backend, &platform().script(backend)).await;
    let settings = MetricSettings::default();
    let store = read_store(&t, &settings).await;
    sqlx::raw_sql(&later_rows().rows_script(backend)).execute(&t.db.pool).await.unwrap();
    (t, settings, store)
}

/// Every endpoint over `w` folded from `store` equals the same window computed from scratch.
async fn assert_folded_equals_scratch(
    t: &TestDb,
    settings: &MetricSettings,
    store: &Arc<DayStore>,
    w: &Window,
    label: &str,
) {
    for endpoint in Endpoint::ALL {
        let folded = payload(t, settings, Some(store.clone()), endpoint, w).await;
        let scratch = payload(t, settings, None, endpoint, w).await;
        assert_eq!(folded, scratch, "{label} {endpoint:?} {:?}", w.kind);
    }
}

fn now() -> DateTime<Utc> {
    let (y, m, d, h, min) = NOW;
    at(y, m, d, h, min)
}

backend_test! {
    async fn a_store_holds_the_whole_days_up_to_its_read(backend: Backend) {
        let t = fresh(backend, &platform().script(backend)).await;
        let settings = MetricSettings::default();
        let store = read_store(&t, &settings).await;
        // 06-01 ..= 06-14: 06-15 had not ended at 07:00 local.
        assert_eq!(store.len(), 14);
        assert_eq!(store.start(), at(2026, 5, 31, 23, 0));
        // The 30.00 deposit of 05-20, in kobo.
        assert_eq!(store.revenue_before_start(), 3_000);
    }
}

backend_test! {
    /// Every endpoint over rolling and calendar windows, folded from a store read a day earlier
    /// (with rows written since), equals the same window computed from scratch.
    async fn windows_folded_from_the_store_equal_windows_computed_from_scratch(backend: Backend) {
        let (t, settings, store) = platform_with_store(backend).await;
        let mut windows: Vec<Window> = [1, 2, 3, 6, 11, 16, 45, 400]
            .iter()
            .map(|d| Window::rolling(now(), settings.tz, *d).unwrap())
            .collect();
        for (from, to) in [
            (date(2026, 6, 10), date(2026, 6, 14)),
            (date(2026, 6, 1), date(2026, 6, 16)),
            (date(2026, 5, 1), date(2026, 6, 12)),
        ] {
            windows.push(Window::calendar(now(), settings.tz, from, to).unwrap());
        }
        for w in &windows {
            assert_folded_equals_scratch(&t, &settings, &store, w, &format!("{backend:?}")).await;
        }
    }
}

backend_test! {
    /// Hand-computed: the last 3 days at 06-16 13:00 local are [06-13 13:00, 06-16 13:00) local:
    /// rows 5 (user 1, stored day), 6 and 7 (user 3, live), 8 (user 1, live).
    async fn distinct_users_across_stored_and_live_days_are_counted_once(backend: Backend) {
        let (t, settings, store) = platform_with_store(backend).await;
        let w = Window::rolling(now(), settings.tz, 3).unwrap();
        let users = payload(&t, &settings, Some(store.clone()), Endpoint::Users, &w).await;
        // Users 1 and 3, each on a stored and a live day or two live days: 2, not 4.
        assert_eq!(users["active_users"], json!(2));
        // Success transactions (rows 5 and 7) by the users with one (1 and 3).
        assert_payload(&users["engagement"], &json!({ "avg_transactions_per_user": 1.00 }));
        let tx = payload(&t, &settings, Some(store.clone()), Endpoint::Transactions, &w).await;
        assert_payload(
            &tx["summary"],
            &json!({ "total_transactions": 4, "successful": 2, "failed": 1, "success_rate": 50.00 }),
        );
        let kpis = payload(&t, &settings, Some(store), Endpoint::Kpis, &w).await;
        // Joined before the window: users 1, 2, 3; active among them: 1 and 3.
        assert_eq!(kpis["churn_rate"].to_string(), "33.33");
        // Today (06-16 local) only row 8; the last 30 days all three users.
        assert_eq!(kpis["dau"], json!(1));
        assert_eq!(kpis["mau"], json!(3));
        // Lifetime revenue: 30.00 before the store + 100.00 + 20.00 stored + 50.00 live = 200.00
        // over 3 users.
        assert_eq!(kpis["ltv"].to_string(), "66.67");
    }
}

backend_test! {
    /// A stored day keeps what it read: a status changed in place afterwards shows in windows
    /// folded from the next store (each run reads a new one), not from the old one.
    async fn a_row_changed_in_place_after_the_read_shows_from_the_next_store(backend: Backend) {
        let (t, settings, old) = platform_with_store(backend).await;
        sqlx::query("UPDATE wallet_wallettransaction SET status = 'success' WHERE id = 3")
            .execute(&t.db.pool)
            .await
            .unwrap();
        let day = Window::calendar(now(), settings.tz, date(2026, 6, 10), date(2026, 6, 10)).unwrap();
        let before = payload(&t, &settings, Some(old), Endpoint::Transactions, &day).await;
        assert_payload(
            &before["summary"],
            &json!({ "total_transactions": 1, "successful": 0, "failed": 1, "success_rate": 0.00 }),
        );
        let new = read_store(&t, &settings).await;
        let after = payload(&t, &settings, Some(new), Endpoint::Transactions, &day).await;
        assert_payload(
            &after["summary"],
            &json!({ "total_transactions": 1, "successful": 1, "failed": 0, "success_rate": 100.00 }),
        );
    }
}

backend_test! {
    /// A store cut in another time zone is not used: its days are not this source's days.
    async fn a_store_of_another_time_zone_is_ignored(backend: Backend) {
        let (t, _, lagos) = platform_with_store(backend).await;
        let settings = MetricSettings { tz: chrono_tz::America::New_York, ..MetricSettings::default() };
        let w = Window::rolling(now(), settings.tz, 6).unwrap();
        for endpoint in Endpoint::ALL {
            let with = payload(&t, &settings, Some(lagos.clone()), endpoint, &w).await;
            assert_eq!(with, payload(&t, &settings, None, endpoint, &w).await, "{endpoint:?}");
        }
    }
}

/// Rows every day of 2026-03-02 ..= 03-12 around 14:35 UTC (New York moves to daylight time on
/// 03-08): before and after the cut inside its hour, and in the hours either side.
fn rows_around_the_cut() -> Fixture {
    let mut f = Fixture::default()
        .user(1, "2026-01-01 00:00:00", UserFlags::default())
        .wallet(1, 1, "0", "0")
        .crypto(1, "USDT", "TRC20")
        .deposit_offer(1, 1, true);
    for user in [2, 3, 4] {
        f = f.user(user, "2026-02-01 00:00:00", UserFlags::default()).wallet(user, user, "0", "0");
    }
    let mut id = 0;
    for day in 2..=12 {
        for (user, time, status) in [
            (2, "13:20", "success"),
            (3, "14:10", "pending"),
            (2, "14:50", "success"),
            (4, "15:20", "failed"),
        ] {
            id += 1;
            let at = format!("2026-03-{day:02} {time}:00");
            if id <= 4 {
                let flags = UserFlags { referred_by: Some(1), ..UserFlags::default() };
                f = f.user(user + id * 10, &at, flags).wallet(user + id * 10, user + id * 10, "0", "0");
            }
            f = f
                .tx(id, user, "airtime", "debit", format!("{id}.25"), status, &at, None)
                .tx(1000 + id, user, "deposit", "credit", "10.00", status, &at, None)
                .deposit_order(id, user, "5.50", if status == "success" { "completed" } else { status }, &at)
                .purchase(id, user, 1, "2.10", "completed", &at)
                .bonus(id, user, "1.00", "locked", &at);
        }
    }
    f
}

backend_test! {
    /// A run keeps hour slots for the days its windows cut partway; windows folded from them (the
    /// slots inside the window, plus the part of an hour on each side read live) equal windows
    /// computed from scratch, in Lagos and in New York across a daylight saving change.
    async fn windows_folded_from_hour_slots_equal_windows_computed_from_scratch(backend: Backend) {
        use mafita_analytics::metrics::live::{partial_dates, read_hours};
        for tz in [chrono_tz::Africa::Lagos, chrono_tz::America::New_York] {
            let script = rows_around_the_cut().script(backend);
            let t = fresh(backend, &script).await;
            let settings = MetricSettings { tz, ..MetricSettings::default() };
            let now = at(2026, 3, 13, 14, 35);
            let windows: Vec<Window> =
                [1, 2, 3, 4, 5, 6, 7, 9].iter().map(|d| Window::rolling(now, tz, *d).unwrap()).collect();
            let mut conn = t.db.pool.acquire().await.unwrap();
            let mut src = Source::new(&mut conn, t.db.dialect, &settings);
            let mut store = DayStore::build(&mut src, at(2026, 2, 20, 0, 0), now, 0, None).await.unwrap();
            let hourly = read_hours(&mut src, &partial_dates(tz, &windows)).await.unwrap();
            assert!(hourly.len() >= 8, "{tz}: the windows cut {} days", hourly.len());
            assert_eq!(
                store.attach_hours(hourly),
                Vec::<NaiveDate>::new(),
                "{tz}: a day read by the hour differs"
            );
            drop(src);
            drop(conn);
            let store = Arc::new(store);
            for w in &windows {
                let cover = store.cover(w.current).unwrap();
                assert!(!cover.slots.is_empty(), "{tz} {:?} folds no slot", w.kind);
                assert_folded_equals_scratch(&t, &settings, &store, w, &format!("{backend:?} {tz}")).await;
            }
        }
    }
}

backend_test! {
    /// A day changed in place outside the settle window is not half-updated by its hour slots:
    /// `attach_hours` names it and leaves it as stored, without slots.
    async fn hour_slots_are_not_attached_to_a_day_that_changed_since_it_was_stored(backend: Backend) {
        use mafita_analytics::metrics::live::read_hours;
        let script = rows_around_the_cut().script(backend);
        let t = fresh(backend, &script).await;
        let settings = MetricSettings::default();
        let now = at(2026, 3, 13, 14, 35);
        let mut conn = t.db.pool.acquire().await.unwrap();
        let mut src = Source::new(&mut conn, t.db.dialect, &settings);
        let mut store = DayStore::build(&mut src, at(2026, 2, 20, 0, 0), now, 0, None).await.unwrap();
        // Row 2 (03-02 14:10, pending) settles after the store was read.
        sqlx::query("UPDATE wallet_wallettransaction SET status = 'success' WHERE id = 2")
            .execute(&t.db.pool)
            .await
            .unwrap();
        let dates = [date(2026, 3, 2), date(2026, 3, 5)].into_iter().collect();
        let hourly = read_hours(&mut src, &dates).await.unwrap();
        assert_eq!(store.attach_hours(hourly), vec![date(2026, 3, 2)], "{backend:?}");
        let day = |d| store.days().iter().find(|day| day.date == d).unwrap().clone();
        assert!(day(date(2026, 3, 2)).hours.is_empty(), "{backend:?}");
        assert_eq!(day(date(2026, 3, 5)).hours.len(), 24, "{backend:?}");
        // The stored day still counts row 2 as pending: success airtime rows 1 and 3, not 2 too.
        let airtime_success: i64 = day(date(2026, 3, 2))
            .activity
            .tx
            .iter()
            .filter(|g| g.category == "airtime" && g.status == "success")
            .map(|g| g.count)
            .sum();
        assert_eq!(airtime_success, 2, "{backend:?}");
    }
}

backend_test! {
    /// An on-demand computation seeded with the wallet and user totals an earlier one read
    /// (`metrics::current`) still counts, exactly, the users who joined in between: three users
    /// at the first read, and a fourth (verified, a merchant) who joined before the second.
    async fn computations_seeded_with_earlier_totals_count_the_users_who_joined_since(backend: Backend) {
        let (t, settings, store) = platform_with_store(backend).await;
        let first = now();
        let mut conn = t.db.pool.acquire().await.unwrap();
        let w = Window::rolling(first, settings.tz, 45).unwrap();
        let mut src = Source::new(&mut conn, t.db.dialect, &settings).with_days(Some(store.clone()));
        let before = compute(&mut src, Endpoint::Users, &w, &TxFilter::default()).await.unwrap().into_value();
        let totals = src.current_read(first).expect("the users payload reads both totals");
        assert_eq!((totals.flags.total, totals.flags.verified, totals.flags.merchants), (3, 0, 0));
        assert_eq!(before["total_users"], json!(3));
        drop(src);
        let verified_merchant = UserFlags { verified: true, merchant: true, ..UserFlags::default() };
        let joined = Fixture::default().user(4, "2026-06-16 12:00:10", verified_merchant);
        sqlx::raw_sql(&joined.rows_script(backend)).execute(&t.db.pool).await.unwrap();

        let second = first + chrono::Duration::seconds(20);
        assert!(totals.usable_at(second));
        assert!(!totals.usable_at(first + chrono::Duration::seconds(31)), "reused for 30 s at most");
        let w = Window::rolling(second, settings.tz, 45).unwrap();
        let mut src = Source::new(&mut conn, t.db.dialect, &settings)
            .with_days(Some(store.clone()))
            .with_current(Some(totals));
        let seeded = compute(&mut src, Endpoint::Users, &w, &TxFilter::default()).await.unwrap().into_value();
        assert!(src.current_read(second).is_none(), "seeded totals are not read ones");
        drop(src);
        assert_eq!(seeded["total_users"], json!(4));
        assert_eq!(seeded["verified_users"], json!(1));
        assert_eq!(seeded["merchant_count"], json!(1));
        assert_eq!(seeded, payload(&t, &settings, Some(store), Endpoint::Users, &w).await);
    }
}

backend_test! {
    /// KPI and overview answers whose partial edge days are read on two connections at once (the on-demand
    /// path's `live::prefetch_shared`) equal the same windows computed from scratch on one.
    async fn answers_with_edges_read_on_two_connections_equal_answers_computed_from_scratch(backend: Backend) {
        let (t, settings, store) = platform_with_store(backend).await;
        let mut windows: Vec<Window> =
            [1, 2, 6, 16, 45].iter().map(|d| Window::rolling(now(), settings.tz, *d).unwrap()).collect();
        windows.push(Window::calendar(now(), settings.tz, date(2026, 6, 10), date(2026, 6, 14)).unwrap());
        let cases = [(Endpoint::Kpis, live::Reach::AllPayloads), (Endpoint::Overview, live::Reach::WindowAndPrevious)];
        let mut saved = 0;
        for (endpoint, reach) in cases {
            for w in &windows {
                let mut conn = t.db.pool.acquire().await.unwrap();
                let mut other = t.db.pool.acquire().await.unwrap();
                let mut src = Source::new(&mut conn, t.db.dialect, &settings).with_days(Some(store.clone()));
                let mut helper = Source::new(&mut other, t.db.dialect, &settings);
                live::prefetch_shared(&mut src, &mut helper, &[*w], reach).await.unwrap();
                let before = src.query_count();
                let shared = compute(&mut src, endpoint, w, &TxFilter::default()).await.unwrap().into_value();
                let after_prefetch = src.query_count() - before;
                drop(src);
                let scratch = payload(&t, &settings, None, endpoint, w).await;
                assert_eq!(shared, scratch, "{backend:?} {endpoint:?} {:?}", w.kind);
                // The prefetched parts are used: the answer alone reads them itself.
                let mut conn = t.db.pool.acquire().await.unwrap();
                let mut alone = Source::new(&mut conn, t.db.dialect, &settings).with_days(Some(store.clone()));
                compute(&mut alone, endpoint, w, &TxFilter::default()).await.unwrap();
                assert!(after_prefetch <= alone.query_count(), "{backend:?} {endpoint:?} {:?}", w.kind);
                saved += alone.query_count() - after_prefetch;
            }
        }
        assert!(saved > 0, "{backend:?}: the shared prefetch saved no query");
    }
}
