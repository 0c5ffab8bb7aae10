//! Saving a run's day store: every day after a full rebuild, or after a refresh only the rows
//! that differ from the stored days it refreshed (see `diff`); then the store row.

use std::sync::Arc;

use sqlx::AnyConnection;

use super::diff::write_differences;
use super::write::{insert_days, save_row, DAY_TABLES};
use super::{Changes, STORE_ROW};
use crate::db::{Dialect, Sql};
use crate::materializer::store::WriteError;
use crate::metrics::days::{Day, DayStore};

/// Writes `store` as run `run_id` wrote it: every day after a full rebuild; after a refresh
/// the rows of the changed days that differ from the stored days it refreshed, and the days
/// that left the front of the span removed. Then the store row. The caller's transaction also
/// holds the run's snapshots and status.
///
/// A refresh's write is a difference, so it checks first that the summary database still holds
/// the days it was computed against; if another writer got in between (which the lease rules
/// out, short of a clock jump), nothing is written and the run fails.
pub async fn save(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    store: &DayStore,
    changes: &Changes,
) -> Result<(), WriteError> {
    match changes {
        Changes::All => {
            for table in DAY_TABLES {
                Sql::new(dialect).push(&format!("DELETE FROM {table}")).execute(conn).await?;
            }
            let days: Vec<&Arc<Day>> = store.days().iter().collect();
            insert_days(conn, dialect, run_id, &days).await?;
        }
        Changes::Days { dates, prior_run, prior } => {
            let stored = stored_run(conn, dialect).await?;
            if stored != Some(*prior_run) {
                return Err(WriteError::Moved(format!(
                    "the stored days were refreshed from run {prior_run}'s, but the summary database now holds \
                     run {}'s: another instance wrote them meanwhile; the next run starts from those",
                    stored.map_or("no".to_string(), |r| r.to_string())
                )));
            }
            for table in DAY_TABLES {
                let mut q = Sql::new(dialect);
                let first = q.date(store.first_date());
                q.push(&format!("DELETE FROM {table} WHERE day < {first}"));
                q.execute(conn).await?;
            }
            write_differences(conn, dialect, run_id, prior, store, dates).await?;
        }
    }
    save_row(conn, dialect, run_id, store).await?;
    Ok(())
}

/// The run the store row names, if there is one.
async fn stored_run(conn: &mut AnyConnection, dialect: Dialect) -> Result<Option<i64>, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let name = q.text(STORE_ROW);
    q.push(&format!("SELECT run_id FROM analytics_day_store WHERE name = {name}"));
    let row = q.fetch_all(conn).await?.into_iter().next();
    row.map(|r| sqlx::Row::try_get(&r, 0)).transpose()
}
