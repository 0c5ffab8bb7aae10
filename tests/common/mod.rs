//! Test helpers: fresh platform databases on SQLite (a temporary file) and PostgreSQL (a
//! randomly named database on `ANALYTICS_TEST_PG_URL`), loaded from a SQL script, and
//! [`backend_test!`] to run a test on each backend.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

pub mod app;
pub mod assert_json;
pub mod chain;
pub mod fixture;
pub mod proxy;

use mafita_analytics::db::{ConnectSpec, Db};

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("ANALYTICS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that lives as long as the test needs it.
pub struct TestDb {
    /// The pool.
    pub db: Db,
    /// Its URL, for code under test that connects by itself.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl Drop for TestDb {
    /// Drops a PostgreSQL test database so repeated runs do not pile them up.
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        let admin_url = pg_admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let spec = ConnectSpec {
                    url: &admin_url,
                    setting: "test",
                    max_connections: 1,
                    create_sqlite: false,
                };
                if let Ok(admin) = Db::connect(spec).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin.pool)
                        .await;
                    admin.pool.close().await;
                }
            });
        })
        .join();
    }
}

impl TestDb {
    /// Another pool on a database some other `TestDb` owns (it drops nothing itself).
    pub fn alias(db: Db, url: String) -> TestDb {
        TestDb { db, url, _dir: None, pg_name: None }
    }
}

/// Which backends a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test per backend from one async body:
///
/// ```text
/// backend_test! {
///     /// What the test shows.
///     async fn name(backend: Backend) { ... }
/// }
/// ```
///
/// becomes a module `name` holding `async fn on(backend: Backend)` and the tests `name::sqlite`
/// and `name::postgres`. The PostgreSQL one is `#[ignore]`d when `build.rs` found PostgreSQL
/// unreachable (`cfg(pg_unreachable)`, never under `CI`), so a skip shows as "ignored" in
/// cargo's summary instead of passing. The body sees the test file's items (`use super::*`);
/// `return` leaves it early. rustfmt does not format inside the braces: keep the usual layout
/// by hand. Tests that need PostgreSQL alone carry the same attribute as `name::postgres`.
#[macro_export]
macro_rules! backend_test {
    ($(#[$attr:meta])* async fn $name:ident($backend:ident: Backend $(,)?) $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn on($backend: $crate::common::Backend) $body

            #[::tokio::test]
            async fn sqlite() {
                on($crate::common::Backend::Sqlite).await
            }

            #[::tokio::test]
            #[cfg_attr(
                pg_unreachable,
                ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
            )]
            async fn postgres() {
                on($crate::common::Backend::Postgres).await
            }
        }
    };
}

/// A fresh database of `backend` with `script` executed in it.
pub async fn fresh(backend: Backend, script: &str) -> TestDb {
    match backend {
        Backend::Sqlite => sqlite(script).await,
        Backend::Postgres => postgres(script).await,
    }
}

/// A fresh SQLite file with `script` executed in it.
pub async fn sqlite(script: &str) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("platform.sqlite3").display());
    let db = Db::connect(ConnectSpec { url: &url, setting: "test", max_connections: 4, create_sqlite: true })
        .await
        .expect("sqlite opens");
    if !script.is_empty() {
        sqlx::raw_sql(script).execute(&db.pool).await.expect("script loads into sqlite");
    }
    TestDb { db, url, _dir: Some(dir), pg_name: None }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, randomly named PostgreSQL database with `script` executed in it. Panics when
/// PostgreSQL is unreachable: a test that needs it fails rather than passing untried (tests are
/// marked ignored at build time instead, by `build.rs`, when it was unreachable then).
pub async fn postgres(script: &str) -> TestDb {
    let admin_url = pg_admin_url();
    let admin = match Db::connect(ConnectSpec {
        url: &admin_url,
        setting: "ANALYTICS_TEST_PG_URL",
        max_connections: 1,
        create_sqlite: false,
    })
    .await
    {
        Ok(db) => db,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL is required under CI: {e}")
        }
        Err(e) if cfg!(pg_unreachable) => panic!(
            "PostgreSQL was unreachable when these tests were built and still is ({e}): start it and \
             `touch build.rs`, or set ANALYTICS_TEST_PG_URL"
        ),
        Err(e) => panic!(
            "PostgreSQL was reachable when these tests were built but is not now ({e}): start it, or \
             `touch build.rs` so its tests are ignored"
        ),
    };
    let name = format!(
        "mafita_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros() % 1_000_000
    );
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&admin.pool)
        .await
        .expect("create test database");
    admin.pool.close().await;
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_string();
    let url = format!("{base}/{name}");
    let db =
        Db::connect(ConnectSpec { url: &url, setting: "test", max_connections: 4, create_sqlite: false })
            .await
            .expect("test database opens");
    if !script.is_empty() {
        sqlx::raw_sql(script).execute(&db.pool).await.expect("script loads into postgres");
    }
    TestDb { db, url, _dir: None, pg_name: Some(name) }
}

/// A platform filled by `seed` (history ending a minute ago) with the summary tables migrated.
pub async fn seeded(backend: Backend, users: u32, seed_value: u64) -> TestDb {
    let t = fresh(backend, "").await;
    let options = mafita_analytics::seed::SeedOptions {
        users,
        days: 40,
        seed: seed_value,
        tx_per_user: 8,
        until: chrono::Utc::now() - chrono::Duration::minutes(1),
        progress: false,
    };
    mafita_analytics::seed::seed(&t.db, &t.url, &options).await.unwrap();
    mafita_analytics::materializer::store::migrate(&t.db).await.unwrap();
    t
}

/// A run context over one database for both roles, computing `windows`.
pub fn run_context(t: &TestDb, windows: &[i64]) -> mafita_analytics::materializer::RunContext {
    mafita_analytics::materializer::RunContext {
        platform: t.db.clone(),
        summary: t.db.clone(),
        settings: mafita_analytics::metrics::MetricSettings::default(),
        windows: windows.to_vec(),
        daily_window: windows.iter().copied().max().unwrap_or(30),
        lease_ttl: std::time::Duration::from_secs(60),
        statement_timeout: std::time::Duration::from_secs(60),
        instance: mafita_analytics::materializer::instance_name(),
        faults: mafita_analytics::materializer::Faults::default(),
        days: Default::default(),
        settle_days: 3,
        prune_log: true,
        history_days: 400,
        clock: Default::default(),
    }
}
