//! `seed`: realistic, deterministic data on both backends, and refusals that change nothing.

mod common;

use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use common::{fresh, Backend, TestDb};
use mafita_analytics::db::{ConnectSpec, Db};
use mafita_analytics::metrics::{compute, Endpoint, MetricSettings, Source, TxFilter, Window};
use mafita_analytics::seed::{seed, SeedError, SeedOptions};

fn until() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap()
}

fn options(users: u32, seed_value: u64) -> SeedOptions {
    SeedOptions { users, days: 60, seed: seed_value, tx_per_user: 10, until: until(), progress: false }
}

async fn scalar(t: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&t.db.pool).await.unwrap()
}

async fn overview(t: &TestDb) -> String {
    let settings = MetricSettings::default();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, &settings);
    let w = Window::rolling(until(), settings.tz, 30).unwrap();
    let mut out = String::new();
    for endpoint in Endpoint::ALL {
        out.push_str(
            &compute(&mut src, endpoint, &w, &TxFilter::default()).await.unwrap().into_value().to_string(),
        );
    }
    out
}

backend_test! {
    async fn seed_fills_every_table_with_realistic_shares(backend: Backend) {
        let t = fresh(backend, "").await;
        let report = seed(&t.db, &t.url, &options(2000, 7)).await.unwrap();
        for (table, rows) in &report.rows {
            assert!(*rows > 0, "{backend:?}: {table} is empty");
            let count = scalar(&t, &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}")).await;
            assert_eq!(count as u64, *rows, "{table}");
        }
        let users = scalar(&t, "SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user").await;
        assert_eq!(users, 2000);
        let share = |n: i64| n as f64 / users as f64;
        let merchants =
            scalar(&t, "SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE is_merchant").await;
        let verified =
            scalar(&t, "SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE is_email_verified").await;
        let referred =
            scalar(&t, "SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE referred_by_id IS NOT NULL")
                .await;
        assert!((0.03..0.07).contains(&share(merchants)), "merchants {merchants}");
        assert!((0.55..0.65).contains(&share(verified)), "verified {verified}");
        assert!((0.25..0.35).contains(&share(referred)), "referred {referred}");
        let tx = scalar(&t, "SELECT CAST(COUNT(*) AS BIGINT) FROM wallet_wallettransaction").await as f64;
        let success = scalar(
            &t,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM wallet_wallettransaction WHERE status = 'success'",
        )
        .await;
        assert!((0.87..0.93).contains(&(success as f64 / tx)), "success share {success}/{tx}");
        let cable = scalar(
            &t,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM wallet_wallettransaction WHERE category = 'cable_tv'",
        )
        .await;
        assert!(cable > 0);
        // Every completed P2P deposit order credited its buyer with a referenced deposit.
        let unmatched = scalar(
            &t,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM p2p_depositorder o WHERE o.status = 'completed' AND NOT EXISTS \
             (SELECT 1 FROM wallet_wallettransaction t WHERE t.reference = 'p2p-deposit-' || CAST(o.id AS TEXT) \
              AND t.user_id = o.buyer_id AND t.category = 'deposit')",
        )
        .await;
        assert_eq!(unmatched, 0);
        let networks = scalar(&t, "SELECT CAST(COUNT(DISTINCT c.network) AS BIGINT) FROM gasfee_cryptopurchase p JOIN gasfee_crypto c ON c.id = p.crypto_id").await;
        assert!(networks >= 4, "networks {networks}");
        let statuses = scalar(&t, "SELECT CAST(COUNT(DISTINCT status) AS BIGINT) FROM rewards_bonus").await;
        assert_eq!(statuses, 5);
        let latest: String = sqlx::query_scalar(&format!(
            "SELECT {} FROM wallet_wallettransaction ORDER BY created_at DESC LIMIT 1",
            t.db.dialect.ts_text("created_at")
        ))
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        assert!(latest.as_str() < "2026-06-15 10:00:00", "rows stop before --until: {latest}");
    }
}

#[tokio::test]
async fn same_seed_gives_the_same_platform_and_another_seed_does_not() {
    let a = fresh(Backend::Sqlite, "").await;
    let b = fresh(Backend::Sqlite, "").await;
    let c = fresh(Backend::Sqlite, "").await;
    seed(&a.db, &a.url, &options(300, 11)).await.unwrap();
    seed(&b.db, &b.url, &options(300, 11)).await.unwrap();
    seed(&c.db, &c.url, &options(300, 12)).await.unwrap();
    assert_eq!(overview(&a).await, overview(&b).await);
    assert_ne!(overview(&a).await, overview(&c).await);
}

/// The same seed on PostgreSQL yields the same numbers as on SQLite.
#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn the_same_seed_gives_the_same_numbers_on_postgres_as_on_sqlite() {
    let lite = fresh(Backend::Sqlite, "").await;
    let pg = fresh(Backend::Postgres, "").await;
    seed(&lite.db, &lite.url, &options(300, 11)).await.unwrap();
    seed(&pg.db, &pg.url, &options(300, 11)).await.unwrap();
    assert_eq!(overview(&lite).await, overview(&pg).await);
}

#[tokio::test]
async fn zero_users_is_refused_before_anything_is_created() {
    let t = fresh(Backend::Sqlite, "").await;
    let err = seed(&t.db, &t.url, &options(0, 1)).await.unwrap_err();
    assert!(matches!(err, SeedError::Invalid(_)));
    assert!(err.to_string().contains("--users"), "{err}");
    let tables = scalar(&t, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").await;
    assert_eq!(tables, 0);
}

backend_test! {
    async fn tables_of_another_shape_are_refused_and_left_alone(backend: Backend) {
        let t = fresh(backend, "CREATE TABLE accounts_user (id INTEGER PRIMARY KEY, name TEXT)").await;
        let err = seed(&t.db, &t.url, &options(10, 1)).await.unwrap_err();
        assert!(err.to_string().contains("accounts_user"), "{err}");
        // Nothing else was created and the odd table is untouched.
        sqlx::query("SELECT id, name FROM accounts_user").execute(&t.db.pool).await.unwrap();
        let created = sqlx::query("SELECT 1 FROM wallet_wallet").execute(&t.db.pool).await;
        assert!(created.is_err(), "wallet_wallet must not exist");
    }
}

#[tokio::test]
async fn a_database_with_platform_rows_is_refused() {
    let t = fresh(Backend::Sqlite, "").await;
    seed(&t.db, &t.url, &options(20, 1)).await.unwrap();
    let before = scalar(&t, "SELECT COUNT(*) FROM wallet_wallettransaction").await;
    let err = seed(&t.db, &t.url, &options(20, 2)).await.unwrap_err();
    assert!(matches!(err, SeedError::NotEmpty { table: "accounts_user", rows: 20 }), "{err}");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM wallet_wallettransaction").await, before);
}

#[tokio::test]
async fn unreachable_database_url_names_the_setting() {
    let err = Db::connect(ConnectSpec {
        url: "postgres://nobody:secret@127.0.0.1:1/none",
        setting: "--database-url",
        max_connections: 1,
        create_sqlite: false,
    })
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("--database-url") && text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("secret"), "the password must not be printed: {text}");
}

#[test]
fn seed_command_exits_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.sqlite3").display());
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_mafita-analytics")).args(args).output().unwrap();
    let out = run(&["seed", "--database-url", &url, "--users", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--users must be at least 1"));
    let out = run(&["seed", "--database-url", "mysql://localhost/x", "--users", "5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("postgres:// or sqlite:"));
    let out = run(&[
        "seed",
        "--database-url",
        &url,
        "--users",
        "25",
        "--days",
        "10",
        "--until",
        "2026-06-15T10:00:00Z",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accounts_user"));
}
