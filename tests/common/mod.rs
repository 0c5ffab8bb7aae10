//! Test helpers: fresh platform databases on SQLite (a temporary file) and PostgreSQL (a
//! randomly named database on `ANALYTICS_TEST_PG_URL`), loaded from a SQL script.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

pub mod app;
pub mod assert_json;
pub mod fixture;

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

/// Which backends a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend` with `script` executed in it; `None` only when PostgreSQL is
/// unreachable outside CI (the test then reports that it was skipped, loudly).
pub async fn fresh(backend: Backend, script: &str) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => Some(sqlite(script).await),
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

/// A fresh, randomly named PostgreSQL database with `script` executed in it.
pub async fn postgres(script: &str) -> Option<TestDb> {
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
        Err(e) if std::env::var("CI").is_err() => {
            eprintln!("\n!!! SKIPPED: PostgreSQL unreachable ({e}); set ANALYTICS_TEST_PG_URL or start it. CI=true makes this a failure.\n");
            return None;
        }
        Err(e) => panic!("PostgreSQL required under CI=true: {e}"),
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
    Some(TestDb { db, url, _dir: None, pg_name: Some(name) })
}

/// A platform filled by `seed` (history ending a minute ago) with the summary tables migrated.
pub async fn seeded(backend: Backend, users: u32, seed_value: u64) -> Option<TestDb> {
    let t = fresh(backend, "").await?;
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
    Some(t)
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
        clock: Default::default(),
    }
}
