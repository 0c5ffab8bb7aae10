//! Database access shared by every layer: one connection type for PostgreSQL and SQLite.
//!
//! We go through `sqlx::Any` so each query is written once. `Any` only carries plain types
//! (integers, text, booleans), which is exactly what the metric queries need: money is summed
//! as integer kobo in SQL and instants are read back as text (see [`Dialect::ts_text`]).
//! Where the two databases genuinely differ, [`Dialect`] renders the difference.

mod dialect;
mod schema;
mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use dialect::{Bucket, BucketKey, Dialect};
pub use schema::{create_platform_tables, platform_ddl, PlatformSchemaError};
pub use sql::{parse_db_timestamp, Arg, Cast, Sql};

/// Errors opening a database, phrased for the operator who configured the URL.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names neither `postgres://` nor `sqlite:`.
    #[error("{setting} must start with postgres:// or sqlite: (got a URL with scheme {scheme:?})")]
    UnsupportedScheme {
        /// Which setting held the URL, so the message names it.
        setting: &'static str,
        /// The scheme we saw (never the whole URL: it may hold a password).
        scheme: String,
    },
    /// The server refused, the file is missing, the credentials are wrong, …
    #[error("cannot connect to {setting} ({target})")]
    Unreachable {
        /// Which setting held the URL.
        setting: &'static str,
        /// Host/port or file path, without credentials.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

/// A connection pool plus the dialect of the database behind it.
#[derive(Clone, Debug)]
pub struct Db {
    /// The pool; every query goes through `sqlx::Any`.
    pub pool: AnyPool,
    /// Which SQL flavour the pool speaks.
    pub dialect: Dialect,
}

/// How to open a pool: which setting named it (for messages) and how patient to be.
#[derive(Clone, Copy, Debug)]
pub struct ConnectSpec<'a> {
    /// The URL, `postgres://…` or `sqlite:…`.
    pub url: &'a str,
    /// The environment variable or flag the URL came from.
    pub setting: &'static str,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Whether a missing SQLite file may be created (seed and demo do; serve does not).
    pub create_sqlite: bool,
}

impl Db {
    /// Opens a pool and checks the database answers, so a wrong URL fails at start-up.
    pub async fn connect(spec: ConnectSpec<'_>) -> Result<Db, ConnectError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(spec.url).ok_or_else(|| ConnectError::UnsupportedScheme {
            setting: spec.setting,
            scheme: spec.url.split(':').next().unwrap_or_default().to_string(),
        })?;
        let target = redact_url(spec.url);
        let unreachable =
            |source| ConnectError::Unreachable { setting: spec.setting, target: target.clone(), source };
        let url = match dialect {
            Dialect::Sqlite if spec.create_sqlite => with_sqlite_mode(spec.url, "rwc"),
            _ => spec.url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(unreachable)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(5));
        let pool = pool_options(dialect, spec.max_connections, ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Db { pool, dialect })
    }
}

/// How long a query waits for a pooled connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool settings shared by every pool: size, patience, and the session settings each new
/// connection gets.
fn pool_options(dialect: Dialect, max_connections: u32, acquire_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        // SQLite serialises writers anyway; a handful of readers is plenty for on-demand
        // windows. PostgreSQL gets a few more so the API never queues behind a run.
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if dialect == Dialect::Postgres {
                    // Daily groupings of a year of transactions need more than the 4 MB
                    // default to aggregate in memory instead of sorting on disk.
                    sqlx::query("SET work_mem = '64MB'").execute(&mut *conn).await?;
                    // Grouping keys computed from expressions defeat the planner's group
                    // estimates, so it sorts millions of rows to aggregate a few thousand
                    // groups; hashing is several times faster. These sessions only run
                    // aggregates and indexed top-N reads, where sorting is never the better plan.
                    sqlx::query("SET enable_sort = off").execute(&mut *conn).await?;
                    // sqlx prepares every statement; after five executions PostgreSQL may
                    // switch to a generic plan that ignores the window's bounds and picks
                    // nested loops over a year of rows (100 s instead of 0.3 s for the
                    // referred-revenue read on a long-lived API connection). Planning per
                    // execution costs well under a millisecond.
                    sqlx::query("SET plan_cache_mode = force_custom_plan").execute(&mut *conn).await?;
                    // The planner cannot estimate rows between bound instants, guesses a third
                    // of a table, and JIT-compiles the query: 50–500 ms spent compiling reads
                    // of a few thousand rows (the partial days every run and on-demand answer
                    // reads). These queries are short; JIT never pays for itself here.
                    sqlx::query("SET jit = off").execute(&mut *conn).await?;
                }
                if dialect == Dialect::Sqlite {
                    // Wait for Django's writers instead of failing with SQLITE_BUSY.
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    // sqlx turns foreign-key enforcement on; the service never writes platform
                    // tables, and Django's own dumps load children before parents.
                    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
}

/// How a read transaction sees the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadScope {
    /// Every statement sees one snapshot (`REPEATABLE READ`): a run's payloads agree.
    Snapshot,
    /// Each statement sees the latest committed rows: one on-demand answer.
    Latest,
}

/// Makes the transaction just begun on `conn` read-only, on PostgreSQL with `scope`'s isolation
/// and, when given, `statement_timeout` (the server stops any statement that runs past it).
/// SQLite has no such settings (a SQLite read transaction is one snapshot already): callers
/// bound their reads with a timer.
pub async fn limit_read(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    scope: ReadScope,
    statement_timeout: Option<Duration>,
) -> Result<(), sqlx::Error> {
    if dialect != Dialect::Postgres {
        return Ok(());
    }
    let isolation = match scope {
        ReadScope::Snapshot => "ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        ReadScope::Latest => "READ ONLY",
    };
    sqlx::query(&format!("SET TRANSACTION {isolation}")).execute(&mut *conn).await?;
    if let Some(timeout) = statement_timeout {
        let ms = timeout.as_millis().max(1);
        sqlx::query(&format!("SET LOCAL statement_timeout = {ms}")).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The SQLSTATE of a database error (`57014`, `08006`…), `None` for any other error.
pub fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|code| code.into_owned())
}

impl Db {
    /// A second pool on the same database with the same session settings, for work that must
    /// not queue behind this pool's (token checks behind on-demand windows). It connects
    /// lazily: a database that is down is found out by the first query, not at start-up.
    pub fn sibling(&self, max_connections: u32, acquire_timeout: Duration) -> Db {
        let options = (*self.pool.connect_options()).clone();
        let pool = pool_options(self.dialect, max_connections, acquire_timeout).connect_lazy_with(options);
        Db { pool, dialect: self.dialect }
    }

    /// Whether the database answers a trivial query within two seconds (health checks).
    pub async fn reachable(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether a new connection can be opened within `timeout`, outside the pool: tells a pool
    /// that timed out because it is busy from one that timed out because the server is gone.
    pub async fn accepts_connections(&self, timeout: Duration) -> bool {
        let options = self.pool.connect_options();
        match tokio::time::timeout(timeout, options.connect()).await {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                true
            }
            _ => false,
        }
    }

    /// `PostgreSQL` or `SQLite`, for messages.
    pub fn dialect_name(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }
}

/// Adds `mode=…` to a SQLite URL unless the operator already chose one.
fn with_sqlite_mode(url: &str, mode: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode={mode}")
    } else {
        format!("{url}?mode={mode}")
    }
}

/// The part of a database URL that is safe to show: host and path, never user or password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.split('?').next().unwrap_or_default().to_string();
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split('?').next().unwrap_or_default();
    format!("{scheme}://{rest}")
}

/// Whether `e` means the database is out of reach rather than that a query is wrong: a
/// connection failure, no free connection in time, or no free connection slot on the server
/// (`53300`).
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    is_connection_failure(e)
        || matches!(e, sqlx::Error::PoolTimedOut)
        || sqlstate(e).is_some_and(|code| code == "53300")
}

/// Whether the connection itself failed: refused, closed, broken (class `08`), or PostgreSQL
/// shutting down or starting up (`57P01`–`57P03`).
pub fn is_connection_failure(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_))
        || sqlstate(e).is_some_and(|code| {
            matches!(code.as_str(), "57P01" | "57P02" | "57P03") || code.starts_with("08")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_credentials_and_options() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/mafita?sslmode=require"),
            "postgres://db.internal:5432/mafita"
        );
        assert_eq!(redact_url("sqlite://demo.db?mode=rwc"), "sqlite://demo.db");
    }

    #[test]
    fn sqlite_mode_is_added_once() {
        assert_eq!(with_sqlite_mode("sqlite://a.db", "rwc"), "sqlite://a.db?mode=rwc");
        assert_eq!(with_sqlite_mode("sqlite://a.db?mode=ro", "rwc"), "sqlite://a.db?mode=ro");
    }
}
