//! Revenue items (docs/METRICS.md, "Revenue") as one SQL fragment, for the questions that need them per user or
//! over all time: KPIs' lifetime value and the revenue of referred users.

use chrono::{DateTime, Utc};

use super::tx::P2P_REFERENCE;
use super::{beginning, in_range, int};
use crate::db::{Bucket, Sql};
use crate::metrics::rows::Activity;
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// `(user_id, created_at, kobo)` for every revenue item in `range`: success non-P2P deposits,
/// completed P2P deposit orders (buyer), completed crypto purchases (user).
/// With `users` (a subquery of user ids), only those users' items: the condition sits in each
/// branch, so each table is reached through its user index instead of being scanned.
fn revenue_items(q: &mut Sql, range: Range, users: Option<&str>) -> String {
    let only = |column: &str| users.map_or(String::new(), |ids| format!(" AND {column} IN ({ids})"));
    let deposits = in_range(q, "t.created_at", range) + &only("t.user_id");
    let orders = in_range(q, "o.created_at", range) + &only("o.buyer_id");
    let purchases = in_range(q, "p.created_at", range) + &only("p.user_id");
    format!(
        "SELECT t.user_id AS user_id, t.created_at AS created_at, CAST(ROUND(t.amount * 100) AS BIGINT) AS kobo \
         FROM wallet_wallettransaction t WHERE t.category = 'deposit' AND t.status = 'success' \
         AND (t.reference IS NULL OR NOT ({P2P_REFERENCE})) AND {deposits} \
         UNION ALL SELECT o.buyer_id, o.created_at, CAST(ROUND(o.total_price * 100) AS BIGINT) \
         FROM p2p_depositorder o WHERE o.status = 'completed' AND {orders} \
         UNION ALL SELECT p.user_id, p.created_at, CAST(ROUND(p.total_price * 100) AS BIGINT) \
         FROM gasfee_cryptopurchase p WHERE p.status = 'completed' AND {purchases}"
    )
}

/// All-time revenue (from the beginning) up to each cutoff, in kobo, in one pass (or folded
/// from the day store); cutoffs this source has already summed are not read again.
pub async fn revenue_before(
    src: &mut Source<'_>,
    cutoffs: &[DateTime<Utc>],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut missing: Vec<DateTime<Utc>> =
        cutoffs.iter().filter(|c| !src.memo().lifetime_revenue.contains_key(c)).copied().collect();
    // With a day store: the revenue before its first day, plus its days and live reads after.
    if let Some(store) = src.days() {
        let (folded, before_store): (Vec<_>, Vec<_>) = missing.into_iter().partition(|c| *c >= store.start());
        for cutoff in folded {
            let since = Activity::load(src, Range::new(store.start(), cutoff), Bucket::Whole).await?;
            let kobo = store.revenue_before_start() + since.revenue().total().kobo;
            src.memo().lifetime_revenue.insert(cutoff, kobo);
        }
        missing = before_store;
    }
    if !missing.is_empty() {
        let sums = sum_revenue_before(src, &missing).await?;
        src.memo().lifetime_revenue.extend(missing.into_iter().zip(sums));
    }
    Ok(cutoffs.iter().map(|c| src.memo().lifetime_revenue[c]).collect())
}

/// All-time revenue up to each cutoff read from the platform, in one pass.
pub(crate) async fn sum_revenue_before(
    src: &mut Source<'_>,
    cutoffs: &[DateTime<Utc>],
) -> Result<Vec<i64>, sqlx::Error> {
    let Some(&last) = cutoffs.iter().max() else { return Ok(Vec::new()) };
    let mut q = src.sql();
    let sums: Vec<String> = cutoffs
        .iter()
        .map(|c| {
            let p = q.ts(*c);
            format!("CAST(COALESCE(SUM(CASE WHEN i.created_at < {p} THEN i.kobo ELSE 0 END), 0) AS BIGINT)")
        })
        .collect();
    let items = revenue_items(&mut q, Range::new(beginning(), last), None);
    q.push(&format!("SELECT {} FROM ({items}) i", sums.join(", ")));
    let row = src.one(&q).await?;
    (0..cutoffs.len()).map(|i| int(&row, i)).collect()
}

/// Revenue in `range` of the users referred by each of `referrers` who joined in `range`:
/// `(referrer id, kobo)`.
pub async fn referred_revenue(
    src: &mut Source<'_>,
    range: Range,
    referrers: &[i64],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if referrers.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = src.sql();
    let joined = in_range(&mut q, "u.date_joined", range);
    let ids: Vec<String> = referrers.iter().map(|id| q.int(*id)).collect();
    // The referred users first (a few hundred), then only their items.
    let referred = format!(
        "SELECT u.id FROM accounts_user u WHERE u.referred_by_id IN ({}) AND {joined}",
        ids.join(", ")
    );
    let items = revenue_items(&mut q, range, Some(&referred));
    q.push(&format!(
        "SELECT u.referred_by_id, CAST(SUM(i.kobo) AS BIGINT) FROM ({items}) i \
         JOIN accounts_user u ON u.id = i.user_id GROUP BY u.referred_by_id"
    ));
    src.all(&q).await?.iter().map(|row| Ok((int(row, 0)?, int(row, 1)?))).collect()
}
