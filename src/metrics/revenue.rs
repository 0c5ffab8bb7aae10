//! `revenue/` (SPEC §4.3): revenue by source, per day and per month.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde_json::{json, Value};

use super::fold::Revenue;
use super::num::{dec, num, quotient, rate};
use super::source::Source;
use super::window::Window;
use super::{daily_series, stamp, MetricError};
use crate::db::Bucket;
use crate::metrics::rows::Activity;
use crate::time::local_midnight_rfc3339;

/// Computes the revenue payload (3 queries).
pub async fn revenue(src: &mut Source<'_>, w: &Window) -> Result<Value, MetricError> {
    let activity = Activity::load(src, w.current, Bucket::Day).await?;
    let settings = src.settings().clone();
    let by_day = activity.revenue_by_key();
    let rev = activity.revenue();
    let total = rev.total().money();
    let sources = [
        ("Deposits", "Deposits", "deposits", rev.deposits),
        ("P2P", "P2P Trading", "p2p", rev.p2p),
        ("Crypto", "Crypto Purchase", "crypto", rev.crypto),
    ];

    let trend = daily_series(w, |date| {
        let day = by_day.get(date).map_or(Default::default(), |r| r.total().money());
        json!({ "date": date, "revenue": num(day), "profit": num(day * settings.profit_margin) })
    });

    let mut months: BTreeMap<String, Revenue> = BTreeMap::new();
    for date in w.dates() {
        let month = date.with_day(1).expect("day one exists").format("%Y-%m-%d").to_string();
        let entry = months.entry(month).or_default();
        if let Some(day) = by_day.get(&date.format("%Y-%m-%d").to_string()) {
            entry.deposits = entry.deposits.plus(day.deposits);
            entry.p2p = entry.p2p.plus(day.p2p);
            entry.crypto = entry.crypto.plus(day.crypto);
        }
    }
    let monthly: Vec<Value> = months
        .iter()
        .map(|(first, r)| {
            let date = chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").expect("own format");
            json!({
                "month": local_midnight_rfc3339(settings.tz, date),
                "revenue": num(r.total().money()),
                "count": r.total().count,
            })
        })
        .collect();

    let body = json!({
        "total_revenue": num(total),
        "net_profit": num(total * settings.profit_margin),
        "total_expenses": num(total * settings.expense_ratio),
        "revenue_trend": trend,
        "payment_method_breakdown": sources.iter().map(|(method, _, _, a)| json!({
            "method": method, "revenue": num(a.money()),
        })).collect::<Vec<_>>(),
        "service_breakdown": sources.iter().map(|(_, service, _, a)| json!({
            "service": service, "revenue": num(a.money()),
        })).collect::<Vec<_>>(),
        "top_payment_methods": sources.iter().map(|(method, _, _, a)| json!({
            "method": method,
            "revenue": num(a.money()),
            "count": a.count,
            "average": num(quotient(a.money(), dec(a.count))),
        })).collect::<Vec<_>>(),
        "by_source": sources.iter().map(|(_, _, key, a)| ((*key).to_string(), json!({
            "revenue": num(a.money()),
            "count": a.count,
            "percentage": num(rate(a.money(), total)),
        }))).collect::<serde_json::Map<_, _>>(),
        "monthly_trend": monthly,
    });
    Ok(stamp(body, w))
}
