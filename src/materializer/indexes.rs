//! `create-indexes`: the platform indexes the metric queries rely on (see the README, "Commands"). The one command
//! that changes the platform database, run by an operator on purpose.

use sqlx::Row;

use crate::db::{Db, Dialect, Sql};

/// `(index name, table, columns)`.
pub const INDEXES: &[(&str, &str, &str)] = &[
    ("analytics_tx_created_status", "wallet_wallettransaction", "created_at, status"),
    ("analytics_tx_category_status", "wallet_wallettransaction", "category, status"),
    ("analytics_tx_type_status", "wallet_wallettransaction", "tx_type, status"),
    ("analytics_user_date_joined", "accounts_user", "date_joined"),
    ("analytics_user_email_verified", "accounts_user", "is_email_verified"),
    ("analytics_depositorder_created_status", "p2p_depositorder", "created_at, status"),
    ("analytics_cryptopurchase_created_status", "gasfee_cryptopurchase", "created_at, status"),
    ("analytics_bonus_created_status", "rewards_bonus", "created_at, status"),
    // Not among the indexes first listed for the Django queries, but every run reads withdraw orders by time (the live parts and
    // the hour slots) like the other orders.
    ("analytics_withdraworder_created_status", "p2p_withdraworder", "created_at, status"),
];

/// What happened to one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexReport {
    /// Index name.
    pub name: &'static str,
    /// `true` when this call created it, `false` when it already existed.
    pub created: bool,
}

/// Creates each missing index (`CONCURRENTLY` on PostgreSQL, so Django keeps writing) and
/// reports every one. Idempotent.
pub async fn create_indexes(platform: &Db) -> Result<Vec<IndexReport>, sqlx::Error> {
    let mut conn = platform.pool.acquire().await?;
    let mut reports = Vec::new();
    for &(name, table, columns) in INDEXES {
        let mut q = Sql::new(platform.dialect);
        let p = q.text(name);
        q.push(&match platform.dialect {
            Dialect::Postgres => format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = {p}"
            ),
            Dialect::Sqlite => format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = {p}"),
        });
        let exists = q.fetch_one(&mut conn).await?.try_get::<i64, _>(0)? > 0;
        if !exists {
            let concurrently = if platform.dialect == Dialect::Postgres { " CONCURRENTLY" } else { "" };
            let ddl = format!("CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {table} ({columns})");
            sqlx::raw_sql(&ddl).execute(&mut *conn).await?;
        }
        reports.push(IndexReport { name, created: !exists });
    }
    Ok(reports)
}
