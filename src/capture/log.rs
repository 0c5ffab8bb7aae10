//! Installing, inspecting, reading and pruning the change log.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use super::ddl::{
    expected_triggers, install_sql, uninstall_sql, CAPTURED, CAPTURE_VERSION, LOG_TABLE, STATE_TABLE,
};
use crate::db::{parse_db_timestamp, Db, Dialect, Sql};

/// Where a consumer stands in the log: everything at or before it has been applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// A PostgreSQL snapshot (`xmin:xmax:xip,…`, as `pg_current_snapshot()` writes it): the
    /// changes of every transaction visible in it are consumed.
    Snapshot(String),
    /// The last SQLite log sequence number consumed.
    Seq(i64),
}

impl Cursor {
    /// Reads a stored cursor of `dialect`; `None` when it is not one.
    pub fn parse(dialect: Dialect, text: &str) -> Option<Cursor> {
        match dialect {
            Dialect::Postgres => {
                let mut parts = text.splitn(3, ':');
                let (xmin, xmax) = (parts.next()?.parse::<u64>().ok()?, parts.next()?.parse::<u64>().ok()?);
                let xip = parts.next()?;
                let ok = xmin <= xmax
                    && xip.split(',').filter(|x| !x.is_empty()).all(|x| x.parse::<u64>().is_ok());
                ok.then(|| Cursor::Snapshot(text.to_string()))
            }
            Dialect::Sqlite => text.parse::<i64>().ok().filter(|s| *s >= 0).map(Cursor::Seq),
        }
    }

    /// The stored form.
    pub fn as_text(&self) -> String {
        match self {
            Cursor::Snapshot(s) => s.clone(),
            Cursor::Seq(n) => n.to_string(),
        }
    }

    /// Below this, every log row is consumed: a snapshot's `xmin` (every transaction before it
    /// had ended), or the last sequence number read.
    pub fn horizon(&self) -> u64 {
        match self {
            Cursor::Snapshot(s) => s.split(':').next().and_then(|x| x.parse().ok()).unwrap_or(0),
            Cursor::Seq(n) => u64::try_from(*n).unwrap_or(0),
        }
    }
}

/// Capture as a read finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Not installed.
    Absent,
    /// Installed, but a trigger is missing or disabled, or the log is of another version: a
    /// change may have gone unrecorded, so the log is not used (the reason says what is wrong).
    Incomplete(String),
    /// Installed and complete.
    Ready {
        /// New at every install: a cursor of another epoch cannot be continued.
        epoch: String,
        /// Log rows below this horizon may have been pruned (see [`Cursor::horizon`]).
        pruned: u64,
    },
}

impl Capture {
    /// `absent`, `incomplete` or `installed`: the mode's name in status bodies and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Capture::Absent => "absent",
            Capture::Incomplete(_) => "incomplete",
            Capture::Ready { .. } => "installed",
        }
    }
}

/// A platform table whose changes are logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `wallet_wallettransaction`.
    Tx,
    /// `p2p_depositorder`.
    DepositOrder,
    /// `p2p_withdraworder`.
    WithdrawOrder,
    /// `gasfee_cryptopurchase`.
    Purchase,
    /// `rewards_bonus`.
    Bonus,
    /// `accounts_user`.
    User,
    /// `gasfee_crypto`.
    Crypto,
}

impl Table {
    /// The table of a log row's `tbl`.
    fn from_name(name: &str) -> Option<Table> {
        const ALL: [Table; 7] = [
            Table::Tx,
            Table::DepositOrder,
            Table::WithdrawOrder,
            Table::Purchase,
            Table::Bonus,
            Table::User,
            Table::Crypto,
        ];
        CAPTURED.iter().position(|c| c.table == name).map(|i| ALL[i])
    }
}

/// One version of a changed row: the values its log row recorded (see
/// [`super::ddl::VERSION_COLUMNS`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowVersion {
    /// `created_at` (`date_joined` for users).
    pub at: Option<DateTime<Utc>>,
    /// The user it belongs to (transaction and purchase user, order buyer or seller).
    pub who: Option<i64>,
    /// A purchase's crypto, a user's referrer.
    pub ref_id: Option<i64>,
    /// Stored status.
    pub status: String,
    /// A transaction's category, a crypto's network.
    pub kind: String,
    /// A transaction's `debit` / `credit`.
    pub tx_type: String,
    /// A transaction's reference starts with `p2p-`.
    pub p2p: bool,
    /// Its money in kobo.
    pub kobo: i64,
}

/// One row's change over a batch: its state before (`None`: it did not exist) and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Where the row lives.
    pub table: Table,
    /// Its id.
    pub row_id: i64,
    /// Before the batch.
    pub old: Option<RowVersion>,
    /// After the batch.
    pub new: Option<RowVersion>,
}

/// The changes between two cursors, one per row (a row changed several times appears once,
/// from its state before the first change to its state after the last).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The rows changed, in the order of their first change.
    pub changes: Vec<Change>,
    /// How many log rows they came from.
    pub log_rows: usize,
}

/// What `capture status` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureStatus {
    /// Installed or not, and whether complete.
    pub capture: Capture,
    /// When it was installed (database text), if it is.
    pub installed_at: Option<String>,
    /// Triggers found, out of how many a complete installation has.
    pub triggers: (i64, i64),
    /// Rows in the log now.
    pub log_rows: i64,
}

/// Installs capture (or installs it again, with a new epoch) in one transaction.
pub async fn install(db: &Db) -> Result<(), sqlx::Error> {
    run_script(db, &install_sql(db.dialect)).await
}

/// Removes capture: triggers, functions, the log and its state, in one transaction.
pub async fn uninstall(db: &Db) -> Result<(), sqlx::Error> {
    run_script(db, &uninstall_sql(db.dialect)).await
}

async fn run_script(db: &Db, statements: &[String]) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    for s in statements {
        sqlx::raw_sql(s).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Whether capture is installed and complete, as `conn`'s transaction sees it, with the
/// trigger count found.
pub async fn read_state(conn: &mut AnyConnection, dialect: Dialect) -> Result<(Capture, i64), sqlx::Error> {
    if !state_table_exists(conn, dialect).await? {
        return Ok((Capture::Absent, 0));
    }
    let tables: Vec<String> = CAPTURED.iter().map(|c| format!("'{}'", c.table)).collect();
    let (pruned, triggers) = match dialect {
        Dialect::Postgres => (
            "CAST(pruned_below AS TEXT)".to_string(),
            format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid \
                 WHERE NOT g.tgisinternal AND g.tgenabled <> 'D' AND g.tgname LIKE 'analytics\\_capture\\_%' \
                 AND c.relname IN ({}) AND pg_table_is_visible(c.oid)",
                tables.join(", ")
            ),
        ),
        Dialect::Sqlite => (
            "CAST(pruned_through AS TEXT)".to_string(),
            format!(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'analytics\\_capture\\_%' \
                 ESCAPE '\\' AND tbl_name IN ({})",
                tables.join(", ")
            ),
        ),
    };
    let sql = format!(
        "SELECT epoch, CAST(version AS BIGINT), {pruned}, ({triggers}) FROM {STATE_TABLE} WHERE id = 1"
    );
    let Some(row) = sqlx::query(&sql).fetch_optional(&mut *conn).await? else {
        return Ok((Capture::Incomplete(format!("{STATE_TABLE} has no row: run `capture install`")), 0));
    };
    let (epoch, version, pruned, triggers): (String, i64, String, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    let expected = expected_triggers(dialect);
    let capture = if version != CAPTURE_VERSION {
        Capture::Incomplete(format!(
            "the log is of version {version}, this service writes {CAPTURE_VERSION}: run `capture install`"
        ))
    } else if triggers != expected {
        Capture::Incomplete(format!(
            "{triggers} of its {expected} triggers are present and enabled: changes may go unrecorded; run \
             `capture install`"
        ))
    } else {
        Capture::Ready { epoch, pruned: pruned.parse().unwrap_or(u64::MAX) }
    };
    Ok((capture, triggers))
}

async fn state_table_exists(conn: &mut AnyConnection, dialect: Dialect) -> Result<bool, sqlx::Error> {
    let sql = match dialect {
        Dialect::Postgres => format!("SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT to_regclass('{STATE_TABLE}') AS t) r WHERE t IS NOT NULL"),
        Dialect::Sqlite => format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{STATE_TABLE}'"),
    };
    Ok(sqlx::query(&sql).fetch_one(&mut *conn).await?.try_get::<i64, _>(0)? > 0)
}

/// Where `conn`'s transaction stands in the log: its snapshot on PostgreSQL, the last sequence
/// number it can see on SQLite.
pub async fn read_cursor(conn: &mut AnyConnection, dialect: Dialect) -> Result<Cursor, sqlx::Error> {
    Ok(match dialect {
        Dialect::Postgres => {
            let row = sqlx::query("SELECT CAST(pg_current_snapshot() AS TEXT)").fetch_one(&mut *conn).await?;
            Cursor::Snapshot(row.try_get(0)?)
        }
        Dialect::Sqlite => {
            let sql =
                format!("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{LOG_TABLE}'), 0)");
            Cursor::Seq(sqlx::query(&sql).fetch_one(&mut *conn).await?.try_get(0)?)
        }
    })
}

/// The changes after `since` up to `until` (the cursor of `conn`'s own transaction), netted per
/// row; `None` when there are more than `limit` log rows (a bulk load: rebuilding is then
/// cheaper than applying them one by one).
pub async fn read_changes(
    conn: &mut AnyConnection,
    dialect: Dialect,
    since: &Cursor,
    until: &Cursor,
    limit: i64,
) -> Result<Option<ChangeBatch>, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let versions: Vec<String> = ["old_", "new_"]
        .iter()
        .map(|p| {
            let at = dialect.ts_text(&format!("{p}at"));
            let p2p = format!("CAST(CASE WHEN {p}p2p THEN 1 ELSE 0 END AS BIGINT)");
            format!("{at}, {p}who, {p}ref_id, {p}status, {p}kind, {p}tx_type, {p2p}, {p}kobo",)
        })
        .collect();
    let filter = match (since, until) {
        (Cursor::Snapshot(since), Cursor::Snapshot(until)) => {
            let xmin = q.text(since.split(':').next().unwrap_or("0"));
            let (since, until) = (q.text(since.clone()), q.text(until.clone()));
            format!(
                "txid >= CAST({xmin} AS XID8) AND NOT pg_visible_in_snapshot(txid, CAST({since} AS PG_SNAPSHOT)) \
                 AND pg_visible_in_snapshot(txid, CAST({until} AS PG_SNAPSHOT))"
            )
        }
        (Cursor::Seq(since), Cursor::Seq(until)) => {
            let (since, until) = (q.int(*since), q.int(*until));
            format!("seq > {since} AND seq <= {until}")
        }
        _ => return Err(sqlx::Error::Protocol("a change-log cursor of the other database".into())),
    };
    let max_rows = limit.saturating_add(1);
    let bound = q.int(max_rows);
    q.push(&format!(
        "SELECT tbl, op, CAST(row_id AS BIGINT), {}, {} FROM {LOG_TABLE} WHERE {filter} ORDER BY seq LIMIT {bound}",
        versions[0], versions[1]
    ));
    let rows = q.fetch_all(conn).await?;
    if rows.len() as i64 >= max_rows {
        return Ok(None);
    }
    let mut batch = ChangeBatch { changes: Vec::new(), log_rows: rows.len() };
    let mut index: std::collections::HashMap<(Table, i64), usize> = std::collections::HashMap::new();
    for row in &rows {
        let name: String = row.try_get(0)?;
        let table = Table::from_name(&name).ok_or_else(|| {
            sqlx::Error::Decode(format!("change log names an unknown table {name:?}").into())
        })?;
        let op: String = row.try_get(1)?;
        let row_id: i64 = row.try_get(2)?;
        let old = if op == "I" { None } else { Some(version(row, 3)?) };
        let new = if op == "D" { None } else { Some(version(row, 11)?) };
        match index.get(&(table, row_id)) {
            // A later change of the same row: keep its first state, take its newest.
            Some(&i) => batch.changes[i].new = new,
            None => {
                index.insert((table, row_id), batch.changes.len());
                batch.changes.push(Change { table, row_id, old, new });
            }
        }
    }
    // A row inserted and deleted within the batch never was, as far as the days go.
    batch.changes.retain(|c| c.old.is_some() || c.new.is_some());
    Ok(Some(batch))
}

/// One version from the 8 columns at `first`.
fn version(row: &AnyRow, first: usize) -> Result<RowVersion, sqlx::Error> {
    let at: Option<String> = row.try_get(first)?;
    let at =
        match at {
            Some(text) => Some(parse_db_timestamp(&text).ok_or_else(|| {
                sqlx::Error::Decode(format!("unreadable change-log instant {text:?}").into())
            })?),
            None => None,
        };
    Ok(RowVersion {
        at,
        who: row.try_get(first + 1)?,
        ref_id: row.try_get(first + 2)?,
        status: row.try_get::<Option<String>, _>(first + 3)?.unwrap_or_default(),
        kind: row.try_get::<Option<String>, _>(first + 4)?.unwrap_or_default(),
        tx_type: row.try_get::<Option<String>, _>(first + 5)?.unwrap_or_default(),
        p2p: row.try_get::<Option<i64>, _>(first + 6)?.unwrap_or(0) == 1,
        kobo: row.try_get::<Option<i64>, _>(first + 7)?.unwrap_or(0),
    })
}

/// Deletes the log rows every consumer at `cursor` has applied, and raises the pruned horizon so
/// a consumer further behind knows to rebuild instead of missing them. Needs a writable
/// platform connection (a primary, with DELETE on the log): on a hot standby the runs leave it
/// to `capture prune` on the primary. Returns the rows deleted.
pub async fn prune(db: &Db, cursor: &Cursor) -> Result<u64, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let horizon = i64::try_from(cursor.horizon()).unwrap_or(i64::MAX);
    let (delete, raise) = match cursor {
        Cursor::Snapshot(_) => (
            format!("DELETE FROM {LOG_TABLE} WHERE txid < CAST(CAST($1 AS TEXT) AS XID8)"),
            format!(
                "UPDATE {STATE_TABLE} SET pruned_below = CAST(CAST($1 AS TEXT) AS XID8) \
                 WHERE pruned_below < CAST(CAST($1 AS TEXT) AS XID8)"
            ),
        ),
        Cursor::Seq(_) => (
            format!("DELETE FROM {LOG_TABLE} WHERE seq <= $1"),
            format!("UPDATE {STATE_TABLE} SET pruned_through = $1 WHERE pruned_through < $1"),
        ),
    };
    let deleted = sqlx::query(&delete).bind(horizon).execute(&mut *tx).await?.rows_affected();
    sqlx::query(&raise).bind(horizon).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The most log rows [`count_rows`] counts exactly: the count stays cheap even when nothing
/// prunes the log.
pub const COUNT_LIMIT: i64 = 1_000_000;

/// How many rows the change log holds, up to [`COUNT_LIMIT`] (a size gauge: a log that only
/// grows means nothing prunes it).
pub async fn count_rows(db: &Db) -> Result<i64, sqlx::Error> {
    let sql =
        format!("SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT 1 FROM {LOG_TABLE} LIMIT {COUNT_LIMIT}) l");
    sqlx::query(&sql).fetch_one(&db.pool).await?.try_get(0)
}

/// What is installed, for `capture status`.
pub async fn status(db: &Db) -> Result<CaptureStatus, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let (capture, found) = read_state(&mut conn, db.dialect).await?;
    let expected = expected_triggers(db.dialect);
    if capture == Capture::Absent {
        return Ok(CaptureStatus { capture, installed_at: None, triggers: (found, expected), log_rows: 0 });
    }
    let installed_at =
        sqlx::query(&format!("SELECT CAST(installed_at AS TEXT) FROM {STATE_TABLE} WHERE id = 1"))
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
    drop(conn);
    let log_rows = count_rows(db).await?;
    Ok(CaptureStatus { capture, installed_at, triggers: (found, expected), log_rows })
}
