//! `revenue/` (docs/METRICS.md): revenue by source, per day and per month.

use std::collections::BTreeMap;

use super::fold::{Agg, Revenue};
use super::num::{dec, num, quotient, rate};
use super::payload::revenue::{Revenue as RevenuePayload, *};
use super::payload::Stamp;
use super::source::Source;
use super::window::Window;
use super::{daily_series, MetricError};
use crate::db::Bucket;
use crate::metrics::rows::Activity;
use crate::time::{local_midnight_rfc3339, month_start};

/// Computes the revenue payload (3 queries).
pub async fn revenue(src: &mut Source<'_>, w: &Window) -> Result<RevenuePayload, MetricError> {
    let activity = Activity::load(src, w.current, Bucket::Day).await?;
    let settings = src.settings().clone();
    let by_day = activity.revenue_by_key();
    let rev = activity.revenue();
    let total = rev.total().money();
    let sources = [
        ("Deposits", "Deposits", rev.deposits),
        ("P2P", "P2P Trading", rev.p2p),
        ("Crypto", "Crypto Purchase", rev.crypto),
    ];

    let trend = daily_series(w, |date| {
        let day = by_day.get(date).map_or(Default::default(), |r| r.total().money());
        DailyRevenue { date: date.to_string(), revenue: num(day), profit: num(day * settings.profit_margin) }
    });

    let mut months: BTreeMap<String, Revenue> = BTreeMap::new();
    for date in w.dates() {
        let month = month_start(date).format("%Y-%m-%d").to_string();
        let entry = months.entry(month).or_default();
        if let Some(day) = by_day.get(&date.format("%Y-%m-%d").to_string()) {
            entry.deposits = entry.deposits.plus(day.deposits);
            entry.p2p = entry.p2p.plus(day.p2p);
            entry.crypto = entry.crypto.plus(day.crypto);
        }
    }
    let monthly: Vec<MonthlyRevenue> = months
        .iter()
        .map(|(first, r)| {
            let date = chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").expect("own format");
            MonthlyRevenue {
                month: local_midnight_rfc3339(settings.tz, date),
                revenue: num(r.total().money()),
                count: r.total().count,
            }
        })
        .collect();

    let share = |a: Agg| SourceShare {
        revenue: num(a.money()),
        count: a.count,
        percentage: num(rate(a.money(), total)),
    };
    Ok(RevenuePayload {
        total_revenue: num(total),
        net_profit: num(total * settings.profit_margin),
        total_expenses: num(total * settings.expense_ratio),
        revenue_trend: trend,
        payment_method_breakdown: sources
            .iter()
            .map(|(method, _, a)| MethodRevenue { method: (*method).into(), revenue: num(a.money()) })
            .collect(),
        service_breakdown: sources
            .iter()
            .map(|(_, service, a)| ServiceRevenue { service: (*service).into(), revenue: num(a.money()) })
            .collect(),
        top_payment_methods: sources
            .iter()
            .map(|(method, _, a)| MethodSummary {
                method: (*method).into(),
                revenue: num(a.money()),
                count: a.count,
                average: num(quotient(a.money(), dec(a.count))),
            })
            .collect(),
        by_source: RevenueBySource {
            deposits: share(rev.deposits),
            p2p: share(rev.p2p),
            crypto: share(rev.crypto),
        },
        monthly_trend: monthly,
        stamp: Stamp::of(w),
    })
}
