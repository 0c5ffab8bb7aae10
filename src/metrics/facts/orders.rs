//! P2P orders and crypto purchases: grouped by bucket and status, and crypto by network.

use super::{bucket_key, in_range, int, text};
use crate::db::Bucket;
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// A table of priced orders with a `status` and `total_price`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderTable {
    /// `p2p_depositorder`: users buying naira credit from merchants (a revenue source).
    P2pDeposit,
    /// `p2p_withdraworder`: users selling to merchants.
    P2pWithdraw,
    /// `gasfee_cryptopurchase`: crypto bought with wallet money (a revenue source).
    CryptoPurchase,
}

impl OrderTable {
    fn table(self) -> &'static str {
        match self {
            OrderTable::P2pDeposit => "p2p_depositorder",
            OrderTable::P2pWithdraw => "p2p_withdraworder",
            OrderTable::CryptoPurchase => "gasfee_cryptopurchase",
        }
    }
}

/// Orders sharing a bucket and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderGroup {
    /// Local bucket key.
    pub key: String,
    /// Stored status (`completed`, `pending`, …).
    pub status: String,
    /// Number of orders.
    pub count: i64,
    /// Exact `total_price` sum in kobo.
    pub kobo: i64,
}

/// Counts and `total_price` sums of `table` in `range`, by bucket and status.
pub async fn order_groups(
    src: &mut Source<'_>,
    table: OrderTable,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<OrderGroup>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "o.created_at", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "o.created_at", range);
    let sum = src.dialect().kobo_sum("o.total_price", None);
    q.push(&format!(
        "SELECT {key}, o.status, CAST(COUNT(*) AS BIGINT), {sum} FROM {} o WHERE {window} GROUP BY {group}, 2",
        table.table()
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(OrderGroup {
                key: text(row, 0)?,
                status: text(row, 1)?,
                count: int(row, 2)?,
                kobo: int(row, 3)?,
            })
        })
        .collect()
}

/// Completed crypto purchases in `range` per network: `(network, count, kobo)`.
pub async fn crypto_by_network(
    src: &mut Source<'_>,
    range: Range,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "p.created_at", range);
    let sum = src.dialect().kobo_sum("p.total_price", None);
    q.push(&format!(
        "SELECT c.network, CAST(COUNT(*) AS BIGINT), {sum} FROM gasfee_cryptopurchase p \
         JOIN gasfee_crypto c ON c.id = p.crypto_id \
         WHERE p.status = 'completed' AND {window} GROUP BY c.network"
    ));
    src.all(&q).await?.iter().map(|row| Ok((text(row, 0)?, int(row, 1)?, int(row, 2)?))).collect()
}
