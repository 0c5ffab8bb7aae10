//! `dashboard/overview/` (docs/METRICS.md): the headline numbers with trends.

use super::facts::active::distinct_users;
use super::facts::platform::{bonuses as bonus_groups, wallet_totals};
use super::facts::users::user_counts;
use super::fold::total;
use super::num::{dec, kobo, num, quotient, rate, trend};
use super::payload::overview::*;
use super::payload::Stamp;
use super::source::Source;
use super::window::Window;
use super::MetricError;
use crate::db::Bucket;
use crate::metrics::rows::{ActiveSpec, Activity};

/// The distinct-user counts the overview needs: active users now and in the previous window.
pub(crate) fn active_specs(w: &Window) -> Vec<ActiveSpec> {
    vec![ActiveSpec::any(w.current), ActiveSpec::any(w.previous)]
}

/// Computes the overview payload (11 queries).
pub async fn overview(src: &mut Source<'_>, w: &Window) -> Result<Overview, MetricError> {
    let now = Activity::load(src, w.current, Bucket::Whole).await?;
    let prev = Activity::load(src, w.previous, Bucket::Whole).await?;
    let bonuses = bonus_groups(src, w.current, Bucket::Whole).await?;
    let active = distinct_users(src, &active_specs(w)).await?;
    let users = user_counts(src, w.now, &[w.current.start, w.current.end]).await?;
    let wallets = wallet_totals(src).await?;

    let (success, prev_success) = (now.success_tx(), prev.success_tx());
    let all = now.all_tx();
    let revenue = now.revenue();
    let prev_revenue = prev.revenue();
    let total_revenue = revenue.total().money();
    let bills = total(&now.tx, |g| g.is_bill_success());
    let rewards = total(&bonuses, |g| g.status != "reversed");
    let new_users = users.joined_before[1] - users.joined_before[0];

    Ok(Overview {
        total_transactions: all.count,
        successful_transactions: success.count,
        total_revenue: num(total_revenue),
        active_users: active[0],
        p2p_volume: num(revenue.p2p.money()),
        transactions_trend: num(trend(dec(success.count), dec(prev_success.count))),
        revenue_trend: num(trend(total_revenue, prev_revenue.total().money())),
        users_trend: num(trend(dec(active[0]), dec(active[1]))),
        p2p_trend: num(trend(revenue.p2p.money(), prev_revenue.p2p.money())),
        success_rate: num(rate(dec(success.count), dec(all.count))),
        bill_payments_volume: num(bills.money()),
        crypto_volume: num(revenue.crypto.money()),
        rewards_distributed: num(rewards.money()),
        users: OverviewUsers {
            total: users.total,
            new: new_users,
            growth_rate: num(rate(dec(new_users), dec(users.total - new_users))),
        },
        wallet: OverviewWallet {
            total_balance: num(kobo(wallets.balance)),
            total_locked: num(kobo(wallets.locked)),
            available_balance: num(kobo(wallets.balance - wallets.locked)),
        },
        transactions: OverviewTransactions {
            total_volume: num(success.money()),
            total_count: success.count,
            average_transaction: num(quotient(success.money(), dec(success.count))),
        },
        revenue: OverviewRevenue {
            total: num(total_revenue),
            daily_average: num(quotient(total_revenue, dec(w.period_days))),
        },
        p2p: OverviewP2p { orders: revenue.p2p.count, volume: num(revenue.p2p.money()) },
        crypto: OverviewCrypto { purchases: revenue.crypto.count, volume: num(revenue.crypto.money()) },
        stamp: Stamp::of(w),
    })
}
