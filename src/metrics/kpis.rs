//! `kpis/` (docs/METRICS.md): business KPIs, each with its value "at prev" for the trends.

use chrono::Duration;
use rust_decimal::Decimal;

use super::facts::active::distinct_users;
use super::facts::platform::{bonuses as bonus_groups, wallet_totals};
use super::facts::revenue::revenue_before;
use super::facts::users::user_counts;
use super::fold::total;
use super::num::{dec, floor_share, kobo, num, points, quotient, rate, trend};
use super::payload::kpis::*;
use super::payload::Stamp;
use super::source::Source;
use super::window::{Range, Window};
use super::MetricError;
use crate::db::Bucket;
use crate::metrics::rows::{ActiveSpec, Activity};
use crate::time::{local_date, local_midnight};

/// The KPIs that are compared with their own value over the previous window.
#[derive(Clone, Copy, Debug, Default)]
struct Period {
    ltv: Decimal,
    cac: Decimal,
    arpu: Decimal,
    success_rate: Decimal,
    churn: Decimal,
    retention: Decimal,
    revenue: Decimal,
    success_count: i64,
}

impl Period {
    fn ratio(&self) -> Decimal {
        quotient(self.ltv, self.cac)
    }
}

/// Inputs of one period's KPIs, all counted as of that period's "now".
struct PeriodInputs<'a> {
    activity: &'a Activity,
    lifetime_revenue: Decimal,
    users: i64,
    new_users: i64,
    active: i64,
    joined_before_start: i64,
    active_joined_before_start: i64,
}

fn period(i: PeriodInputs<'_>, cac_ratio: Decimal) -> Period {
    let success = i.activity.success_tx().count;
    let revenue = i.activity.revenue().total().money();
    let ltv = quotient(i.lifetime_revenue, dec(i.users));
    Period {
        ltv,
        cac: quotient(i.lifetime_revenue * cac_ratio, dec(i.new_users)),
        arpu: quotient(revenue, dec(i.active)),
        success_rate: rate(dec(success), dec(i.activity.all_tx().count)),
        churn: rate(dec(i.joined_before_start - i.active_joined_before_start), dec(i.joined_before_start)),
        retention: rate(dec(i.active), dec(i.users)),
        revenue,
        success_count: success,
    }
}

/// The distinct-user counts KPIs need, in this order: active now and in the previous window,
/// today and yesterday (local), the last 30 × 24 h and the 30 × 24 h before, and users who
/// joined before each window's start and were active in it (churn).
pub(crate) fn active_specs(w: &Window) -> Vec<ActiveSpec> {
    let tz = w.tz;
    let today_start = local_midnight(tz, local_date(tz, w.now));
    let yesterday_start = local_midnight(tz, local_date(tz, w.now) - Duration::days(1));
    let month = Duration::days(30);
    let churn = |range: Range| ActiveSpec { joined_before: Some(range.start), ..ActiveSpec::any(range) };
    vec![
        ActiveSpec::any(w.current),
        ActiveSpec::any(w.previous),
        ActiveSpec::any(Range::new(today_start, w.now)),
        ActiveSpec::any(Range::new(yesterday_start, today_start)),
        ActiveSpec::any(Range::new(w.now - month, w.now)),
        ActiveSpec::any(Range::new(w.now - month - month, w.now - month)),
        churn(w.current),
        churn(w.previous),
    ]
}

/// Computes the KPI payload (11 queries).
pub async fn kpis(src: &mut Source<'_>, w: &Window) -> Result<Kpis, MetricError> {
    let settings = src.settings().clone();
    let (cur, prev) = (w.current, w.previous);
    let now_act = Activity::load(src, cur, Bucket::Whole).await?;
    let prev_act = Activity::load(src, prev, Bucket::Whole).await?;

    let active = distinct_users(src, &active_specs(w)).await?;
    let users = user_counts(src, w.now, &[cur.start, cur.end, prev.start, prev.end]).await?;
    let lifetime = revenue_before(src, &[w.now, prev.end]).await?;
    let wallets = wallet_totals(src).await?;
    let bonuses = bonus_groups(src, cur, Bucket::Whole).await?;

    let b = &users.joined_before;
    let new_users = b[1] - b[0];
    let now_kpi = period(
        PeriodInputs {
            activity: &now_act,
            lifetime_revenue: kobo(lifetime[0]),
            users: users.total,
            new_users,
            active: active[0],
            joined_before_start: b[0],
            active_joined_before_start: active[6],
        },
        settings.cac_expense_ratio,
    );
    let prev_kpi = period(
        PeriodInputs {
            activity: &prev_act,
            lifetime_revenue: kobo(lifetime[1]),
            users: b[3],
            new_users: b[3] - b[2],
            active: active[1],
            joined_before_start: b[2],
            active_joined_before_start: active[7],
        },
        settings.cac_expense_ratio,
    );

    let (dau, mau) = (active[2], active[4]);
    let stickiness = rate(dec(dau), dec(mau));
    let user_growth = rate(dec(new_users), dec(users.total - new_users));
    let revenue_growth = trend(now_kpi.revenue, prev_kpi.revenue);
    let tx_growth = trend(dec(now_kpi.success_count), dec(prev_kpi.success_count));
    let success = now_act.success_tx();
    let rewards = total(&bonuses, |g| g.status != "reversed");
    let bonus_count = total(&bonuses, |_| true).count;
    let used = total(&bonuses, |g| g.status == "used").count;

    Ok(Kpis {
        dau,
        mau,
        dau_trend: num(trend(dec(dau), dec(active[3]))),
        mau_trend: num(trend(dec(mau), dec(active[5]))),
        ltv: num(now_kpi.ltv),
        cac: num(now_kpi.cac),
        ltv_cac_ratio: num(now_kpi.ratio()),
        arpu: num(now_kpi.arpu),
        ltv_trend: num(trend(now_kpi.ltv, prev_kpi.ltv)),
        cac_trend: num(trend(now_kpi.cac, prev_kpi.cac)),
        ltv_cac_ratio_trend: num(trend(now_kpi.ratio(), prev_kpi.ratio())),
        arpu_trend: num(trend(now_kpi.arpu, prev_kpi.arpu)),
        retention_trend: num(trend(now_kpi.retention, prev_kpi.retention)),
        transaction_success_rate: num(now_kpi.success_rate),
        success_rate_trend: num(points(now_kpi.success_rate, prev_kpi.success_rate)),
        churn_rate: num(now_kpi.churn),
        churn_rate_trend: num(points(now_kpi.churn, prev_kpi.churn)),
        retention_rate: num(now_kpi.retention),
        user_growth_rate: num(user_growth),
        revenue_growth_rate: num(revenue_growth),
        transaction_growth_rate: num(tx_growth),
        user_growth_trend: num(user_growth),
        revenue_growth_trend: num(revenue_growth),
        transaction_growth_trend: num(tx_growth),
        stickiness: num(stickiness),
        stickiness_trend: num(stickiness),
        dau_target: floor_share(users.total, settings.dau_target),
        mau_target: floor_share(users.total, settings.mau_target),
        kpis: KpiCards {
            total_platform_value: num(kobo(wallets.balance)),
            transaction_success_rate: num(now_kpi.success_rate),
            average_transaction_value: num(quotient(success.money(), dec(success.count))),
            customer_lifetime_value: num(now_kpi.ltv),
            user_retention_rate: num(now_kpi.retention),
            total_users: users.total,
            active_users: active[0],
        },
        bonuses: BonusSummary {
            total_distributed: num(rewards.money()),
            total_count: bonus_count,
            unlocked: total(&bonuses, |g| g.status == "unlocked").count,
            used,
            utilization_rate: num(rate(dec(used), dec(bonus_count))),
        },
        stamp: Stamp::of(w),
    })
}
