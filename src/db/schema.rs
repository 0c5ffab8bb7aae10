//! The platform's Django tables: their DDL (for fixtures, `seed` and the demo) and the check
//! that a database we are about to fill really holds MafitaPay's shape.

use sqlx::Row;

use super::{Db, Dialect, Sql};

const POSTGRES_DDL: &str = include_str!("../../sql/platform.postgres.sql");
const SQLITE_DDL: &str = include_str!("../../sql/platform.sqlite.sql");

/// Every platform table with the columns the service reads (docs/METRICS.md, "Platform data"), in creation order.
///
/// The service selects only these, so a real MafitaPay database with many more columns works.
pub const PLATFORM_COLUMNS: &[(&str, &str)] = &[
    ("accounts_user", "id, email, is_staff, is_superuser, is_active, date_joined, is_merchant, is_email_verified, referred_by_id"),
    ("wallet_wallet", "id, user_id, balance, locked_balance"),
    ("wallet_wallettransaction", "id, user_id, wallet_id, tx_type, category, amount, balance_before, balance_after, reference, request_id, status, metadata, created_at"),
    ("p2p_deposit_p2p_offer", "id, merchant_id, amount_available, min_amount, max_amount, price_per_unit, is_available, created_at"),
    ("p2p_depositorder", "id, buyer_id, sell_offer_id, amount_requested, total_price, status, created_at"),
    ("p2p_withdraw_p2p_offer", "id, merchant_id, amount_available, min_amount, max_amount, price_per_unit, is_active, created_at"),
    ("p2p_withdraworder", "id, buyer_offer_id, seller_id, amount_requested, total_price, status, created_at"),
    ("gasfee_crypto", "id, name, symbol, network"),
    ("gasfee_cryptopurchase", "id, user_id, crypto_id, input_amount, input_currency, crypto_amount, total_price, wallet_address, status, request_id, tx_hash, created_at"),
    ("rewards_bonustype", "id, name"),
    ("rewards_bonus", "id, user_id, bonus_type_id, amount, status, created_at, updated_at"),
];

/// Why the platform tables could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PlatformSchemaError {
    /// A table exists but lacks columns MafitaPay's Django models create.
    #[error(
        "table {table} exists but does not have MafitaPay's shape (expected columns {columns}): {source}"
    )]
    WrongShape {
        /// The table name.
        table: &'static str,
        /// The columns we need.
        columns: &'static str,
        /// The database's complaint.
        #[source]
        source: sqlx::Error,
    },
    /// Any other database failure.
    #[error("database error while preparing platform tables")]
    Database(#[from] sqlx::Error),
}

/// The Django DDL for `dialect`, one statement per element.
pub fn platform_ddl(dialect: Dialect) -> Vec<String> {
    let text = match dialect {
        Dialect::Postgres => POSTGRES_DDL,
        Dialect::Sqlite => SQLITE_DDL,
    };
    text.split(";\n")
        .map(|stmt| stmt.trim())
        .map(|stmt| stmt.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n"))
        .map(|stmt| stmt.trim().to_string())
        .filter(|stmt| !stmt.is_empty())
        .collect()
}

/// Creates the platform tables that are missing, after checking the present ones.
///
/// Every existing table is checked first, so a database of another shape is refused before
/// anything is written; then the missing tables are created in one transaction.
/// Returns the names of the tables created.
pub async fn create_platform_tables(db: &Db) -> Result<Vec<&'static str>, PlatformSchemaError> {
    let mut conn = db.pool.acquire().await?;
    let mut missing = Vec::new();
    for &(table, columns) in PLATFORM_COLUMNS {
        if table_exists(&mut conn, db.dialect, table).await? {
            let probe = format!("SELECT {columns} FROM {table} WHERE 1 = 0");
            sqlx::query(&probe)
                .execute(&mut *conn)
                .await
                .map_err(|source| PlatformSchemaError::WrongShape { table, columns, source })?;
        } else {
            missing.push(table);
        }
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for stmt in platform_ddl(db.dialect) {
        let creates_missing = missing.iter().any(|t| {
            stmt.starts_with(&format!("CREATE TABLE {t} ("))
                || stmt.starts_with(&format!("CREATE INDEX {t}_"))
        });
        if creates_missing {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(missing)
}

async fn table_exists(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    table: &str,
) -> Result<bool, sqlx::Error> {
    let mut q = Sql::new(dialect);
    let name = q.text(table);
    q.push(&match dialect {
        Dialect::Postgres => format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = {name}"
        ),
        Dialect::Sqlite => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {name}")
        }
    });
    let row = q.fetch_one(conn).await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}
