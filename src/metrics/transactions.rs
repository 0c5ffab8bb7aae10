//! `transactions/` (docs/METRICS.md): volumes, breakdowns, the daily trend and the newest rows,
//! optionally filtered by status and type.

use super::facts::tx::{recent_transactions, TxFilter};
use super::fold::{per_key, per_label, sort_desc, total};
use super::num::{dec, kobo, num, quotient, rate};
use super::payload::transactions::*;
use super::payload::Stamp;
use super::source::Source;
use super::window::Window;
use super::{daily_series, MetricError};
use crate::db::Bucket;
use crate::metrics::rows::{Activity, TxGroup};
use crate::time::rfc3339_micros;

/// How many of the newest transactions the payload lists.
const RECENT_LIMIT: i64 = 50;

/// Computes the transactions payload (2 queries).
pub async fn transactions(
    src: &mut Source<'_>,
    w: &Window,
    filter: &TxFilter,
) -> Result<Transactions, MetricError> {
    let activity = Activity::load(src, w.current, Bucket::Day).await?;
    let groups: Vec<TxGroup> = activity.tx.iter().filter(|g| filter.matches(g)).cloned().collect();
    let recent = recent_transactions(src, w.current, filter, RECENT_LIMIT).await?;

    // A status filter replaces the default "success" selection of the success-only fields.
    let selected_status = filter.status.map_or("success", |s| s.as_str());
    let selected = |g: &TxGroup| g.status == selected_status;
    let chosen = total(&groups, selected);
    let all = total(&groups, |_| true);
    let successful = total(&groups, |g| g.status == "success").count;
    let failed = total(&groups, |g| g.status == "failed").count;

    let mut by_category: Vec<_> = per_label(&groups, |g| g.category.clone(), selected).into_iter().collect();
    sort_desc_by_amount(&mut by_category);
    let mut by_type: Vec<_> = per_label(&groups, |g| g.tx_type.clone(), selected).into_iter().collect();
    sort_desc_by_amount(&mut by_type);
    let mut type_counts: Vec<(String, i64)> = by_type.iter().map(|(t, a)| (t.clone(), a.count)).collect();
    sort_desc(&mut type_counts);
    let mut statuses: Vec<(String, i64)> =
        per_label(&groups, |g| g.status.clone(), |_| true).into_iter().map(|(s, a)| (s, a.count)).collect();
    sort_desc(&mut statuses);

    let days = per_key(&groups, selected);
    let daily = daily_series(w, |date| {
        let agg = days.get(date).copied().unwrap_or_default();
        DailyVolume { date: date.to_string(), count: agg.count, volume: num(agg.money()) }
    });

    Ok(Transactions {
        total_volume: num(chosen.money()),
        total_count: chosen.count,
        average_transaction: num(quotient(chosen.money(), dec(chosen.count))),
        summary: TransactionSummary {
            total_transactions: all.count,
            successful,
            failed,
            success_rate: num(rate(dec(successful), dec(all.count))),
        },
        by_category: by_category
            .iter()
            .map(|(c, a)| CategoryTotal { category: c.clone(), count: a.count, total_amount: num(a.money()) })
            .collect(),
        type_breakdown: type_counts
            .iter()
            .map(|(t, n)| TypeCount { tx_type: t.clone(), count: *n })
            .collect(),
        by_type: by_type
            .iter()
            .map(|(t, a)| TypeTotal { tx_type: t.clone(), count: a.count, total_amount: num(a.money()) })
            .collect(),
        status_breakdown: statuses
            .iter()
            .map(|(s, n)| StatusCount { status: s.clone(), count: *n })
            .collect(),
        volume_over_time: daily.clone(),
        daily_trend: daily,
        transactions: recent
            .into_iter()
            .map(|t| RecentTransaction {
                id: t.id,
                created_at: rfc3339_micros(t.created_at),
                transaction_type: t.category,
                amount: num(kobo(t.kobo)),
                status: t.status,
                username: t.email,
                reference: t.reference,
            })
            .collect(),
        stamp: Stamp::of(w),
    })
}

fn sort_desc_by_amount(rows: &mut [(String, super::fold::Agg)]) {
    rows.sort_by(|a, b| b.1.kobo.cmp(&a.1.kobo).then_with(|| a.0.cmp(&b.0)));
}
