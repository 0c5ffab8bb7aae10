//! P2P orders and crypto purchases: grouped by bucket, status and (for crypto) network.

use super::{bucket_key, in_range, int, text};
use crate::db::Bucket;
use crate::metrics::rows::{OrderGroup, OrderTable};
use crate::metrics::source::Source;
use crate::metrics::window::Range;

impl OrderTable {
    fn table(self) -> &'static str {
        match self {
            OrderTable::P2pDeposit => "p2p_depositorder",
            OrderTable::P2pWithdraw => "p2p_withdraworder",
            OrderTable::CryptoPurchase => "gasfee_cryptopurchase",
        }
    }
}

/// P2P withdraw orders in `range` by bucket and status: from the day store's whole days where
/// it has them, read live for the rest.
pub async fn withdrawals(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<OrderGroup>, sqlx::Error> {
    let Some((days, live)) = src.stored_days(range, bucket) else {
        return order_groups(src, OrderTable::P2pWithdraw, range, bucket).await;
    };
    let mut out: Vec<OrderGroup> = days.iter().flat_map(|d| d.withdrawals.iter().cloned()).collect();
    for part in live {
        let groups = match src.memo().live_withdrawals.get(&part) {
            Some(hit) => hit.clone(),
            None => {
                let groups =
                    std::sync::Arc::new(order_groups(src, OrderTable::P2pWithdraw, part, Bucket::Day).await?);
                src.memo().live_withdrawals.insert(part, groups.clone());
                groups
            }
        };
        out.extend(groups.iter().cloned());
    }
    if bucket == Bucket::Whole {
        out.iter_mut().for_each(|g| g.key.clear());
    }
    Ok(out)
}

/// Counts and `total_price` sums of `table` in `range`, by bucket and status (and network for
/// crypto purchases, so the per-network breakdown folds from the same groups).
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
    let (network, join) = match table {
        OrderTable::CryptoPurchase => {
            ("COALESCE(c.network, '')", " LEFT JOIN gasfee_crypto c ON c.id = o.crypto_id")
        }
        _ => ("''", ""),
    };
    q.push(&format!(
        "SELECT {key}, o.status, {network}, CAST(COUNT(*) AS BIGINT), {sum} FROM {} o{join} \
         WHERE {window} GROUP BY {group}, 2, 3",
        table.table()
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(OrderGroup {
                key: text(row, 0)?,
                status: text(row, 1)?,
                network: text(row, 2)?,
                count: int(row, 3)?,
                kobo: int(row, 4)?,
            })
        })
        .collect()
}
