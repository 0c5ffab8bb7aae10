//! The run lease: one row in the summary database says which instance may run and until when.
//!
//! It works the same on PostgreSQL and SQLite (an atomic upsert), uses the database's clock so
//! instances with skewed clocks agree, and needs no session to stay open: a holder that crashes
//! stops renewing and its lease simply expires (`ANALYTICS_LEASE_TTL`).

use std::time::Duration;

use sqlx::AnyConnection;

use crate::db::{Dialect, Sql};

/// The lease every materializer run takes.
pub const RUN_LEASE: &str = "materializer";

/// `now + ttl` on the database's own clock, in the column's stored form.
fn expiry(q: &mut Sql, ttl: Duration) -> String {
    let ms = q.int(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    match q.dialect() {
        Dialect::Postgres => format!("clock_timestamp() + {ms} * INTERVAL '1 millisecond'"),
        Dialect::Sqlite => {
            format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '+' || ({ms} / 1000.0) || ' seconds')")
        }
    }
}

/// The database's current time, comparable with `expires_at`.
fn db_now(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "clock_timestamp()",
        Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    }
}

/// Takes the lease if it is free, expired, or already ours; `true` when we now hold it.
pub async fn try_acquire(
    conn: &mut AnyConnection,
    dialect: Dialect,
    holder: &str,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let name = q.text(RUN_LEASE);
    let me = q.text(holder);
    let until = expiry(&mut q, ttl);
    q.push(&format!(
        "INSERT INTO analytics_lease (name, holder, expires_at) VALUES ({name}, {me}, {until}) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE analytics_lease.expires_at < {now} OR analytics_lease.holder = excluded.holder",
        now = db_now(dialect)
    ));
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

/// Extends our lease; `false` when it is no longer ours (it expired and someone took it).
pub async fn renew(
    conn: &mut AnyConnection,
    dialect: Dialect,
    holder: &str,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let until = expiry(&mut q, ttl);
    let name = q.text(RUN_LEASE);
    let me = q.text(holder);
    q.push(&format!("UPDATE analytics_lease SET expires_at = {until} WHERE name = {name} AND holder = {me}"));
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

/// Gives the lease up so the next run need not wait for it to expire.
pub async fn release(conn: &mut AnyConnection, dialect: Dialect, holder: &str) -> Result<(), sqlx::Error> {
    let mut q = Sql::new(dialect);
    let name = q.text(RUN_LEASE);
    let me = q.text(holder);
    q.push(&format!("DELETE FROM analytics_lease WHERE name = {name} AND holder = {me}"));
    q.execute(conn).await?;
    Ok(())
}
