//! Current platform state that has no window: wallet balances and open P2P offers; and
//! bonuses, grouped like the other facts.

use super::{bucket_key, in_range, int, text};
use crate::db::Bucket;
use crate::metrics::rows::{BonusGroup, WalletTotals};
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// Current wallet totals, read once per source (the same for every window of a run).
pub async fn wallet_totals(src: &mut Source<'_>) -> Result<WalletTotals, sqlx::Error> {
    if let Some(hit) = src.memo().wallets {
        return Ok(hit);
    }
    let mut q = src.sql();
    let balance = src.dialect().kobo_sum("balance", None);
    let locked = src.dialect().kobo_sum("locked_balance", None);
    q.push(&format!("SELECT CAST(COUNT(*) AS BIGINT), {balance}, {locked} FROM wallet_wallet"));
    let row = src.one(&q).await?;
    let totals = WalletTotals { count: int(&row, 0)?, balance: int(&row, 1)?, locked: int(&row, 2)? };
    src.memo().wallets = Some(totals);
    Ok(totals)
}

/// Deposit offers currently available to buyers, read once per source.
pub async fn active_deposit_offers(src: &mut Source<'_>) -> Result<i64, sqlx::Error> {
    if let Some(hit) = src.memo().offers {
        return Ok(hit);
    }
    let mut q = src.sql();
    q.push("SELECT CAST(COUNT(*) AS BIGINT) FROM p2p_deposit_p2p_offer WHERE is_available");
    let offers = int(&src.one(&q).await?, 0)?;
    src.memo().offers = Some(offers);
    Ok(offers)
}

/// Bonuses created in `range`, by bucket and status: from the day store's whole days where it
/// has them, read live for the rest.
pub async fn bonuses(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<BonusGroup>, sqlx::Error> {
    let Some((days, live)) = src.stored_days(range, bucket) else {
        return bonus_groups(src, range, bucket).await;
    };
    let mut out: Vec<BonusGroup> = days.iter().flat_map(|d| d.bonuses.iter().cloned()).collect();
    for part in live {
        let groups = match src.memo().live_bonuses.get(&part) {
            Some(hit) => hit.clone(),
            None => {
                let groups = std::sync::Arc::new(bonus_groups(src, part, Bucket::Day).await?);
                src.memo().live_bonuses.insert(part, groups.clone());
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

/// Bonuses created in `range`, by bucket and status, read from the platform.
pub async fn bonus_groups(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<BonusGroup>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "b.created_at", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "b.created_at", range);
    let sum = src.dialect().kobo_sum("b.amount", None);
    q.push(&format!(
        "SELECT {key}, b.status, CAST(COUNT(*) AS BIGINT), {sum} FROM rewards_bonus b WHERE {window} GROUP BY {group}, 2"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(BonusGroup {
                key: text(row, 0)?,
                status: text(row, 1)?,
                count: int(row, 2)?,
                kobo: int(row, 3)?,
            })
        })
        .collect()
}
