//! `services/` (docs/METRICS.md): P2P trading, crypto purchases and bill payments.

use super::facts::orders::withdrawals;
use super::facts::platform::active_deposit_offers;
use super::fold::{per_key, per_label, sort_desc, total, Agg};
use super::num::{dec, kobo, num, rate};
use super::payload::services::*;
use super::payload::Stamp;
use super::source::Source;
use super::window::Window;
use super::{daily_series, MetricError};
use crate::db::Bucket;
use crate::metrics::rows::{Activity, OrderGroup, TxGroup};

/// The bill categories as the dashboard labels them; `Cable TV` includes legacy `cable`.
const BILL_LABELS: &[(&str, &[&str])] = &[
    ("Airtime", &["airtime"]),
    ("Data", &["data"]),
    ("Cable TV", &["cable_tv", "cable"]),
    ("Electricity", &["electricity"]),
    ("Education", &["education"]),
];

/// Computes the services payload (5 queries).
pub async fn services(src: &mut Source<'_>, w: &Window) -> Result<Services, MetricError> {
    let activity = Activity::load(src, w.current, Bucket::Day).await?;
    let withdrawals = withdrawals(src, w.current, Bucket::Day).await?;
    let offers = active_deposit_offers(src).await?;

    let status = |groups: &[OrderGroup], s: &str| total(groups, |g| g.status == s);
    let (orders, purchases) = (total(&activity.p2p, |_| true), total(&activity.crypto, |_| true));
    let p2p_done = status(&activity.p2p, "completed");
    let crypto_done = status(&activity.crypto, "completed");
    let bills = total(&activity.tx, TxGroup::is_bill_success);
    let category = |names: &[&str], only_success: bool| -> Agg {
        total(&activity.tx, |g| {
            names.contains(&g.category.as_str()) && (!only_success || g.status == "success")
        })
    };
    let bill_volumes: Vec<(&str, Agg)> =
        BILL_LABELS.iter().map(|(label, names)| (*label, category(names, true))).collect();
    let volume =
        |label: &str| bill_volumes.iter().find(|(l, _)| *l == label).map_or(Agg::default(), |(_, a)| *a);

    let deposits_by_day = per_key(&activity.p2p, |g| g.status == "completed");
    let withdrawals_by_day = per_key(&withdrawals, |g| g.status == "completed");
    let p2p_data = daily_series(w, |date| {
        let d = deposits_by_day.get(date).copied().unwrap_or_default();
        let wd = withdrawals_by_day.get(date).copied().unwrap_or_default();
        DailyP2p { date: date.to_string(), deposits: num(d.money()), withdrawals: num(wd.money()) }
    });

    let service = |name: &str, all: Agg, done: Agg| TopService {
        service_name: name.into(),
        usage_count: all.count,
        revenue: num(done.money()),
        success_rate: num(rate(dec(done.count), dec(all.count))),
    };
    let bill_service = |name: &str, cat: &str| service(name, category(&[cat], false), category(&[cat], true));

    // Completed purchases of a known network (an inner join's view of `gasfee_crypto`).
    let mut by_network: Vec<(String, (i64, i64))> = per_label(
        &activity.crypto,
        |g| g.network.clone(),
        |g| g.status == "completed" && !g.network.is_empty(),
    )
    .into_iter()
    .map(|(n, a)| (n, (a.kobo, a.count)))
    .collect();
    sort_desc(&mut by_network);

    let usage = |name: &str, count: i64| ServiceCount { service: name.into(), count };
    Ok(Services {
        p2p_volume: num(p2p_done.money()),
        bill_payment_volume: num(bills.money()),
        crypto_volume: num(crypto_done.money()),
        total_service_transactions: orders.count + bills.count + purchases.count,
        airtime_volume: num(volume("Airtime").money()),
        data_volume: num(volume("Data").money()),
        cable_volume: num(volume("Cable TV").money()),
        electricity_volume: num(volume("Electricity").money()),
        education_volume: num(volume("Education").money()),
        p2p_data,
        bill_payment_breakdown: bill_volumes
            .iter()
            .map(|(label, a)| BillVolume { category: (*label).into(), volume: num(a.money()) })
            .collect(),
        service_usage: vec![
            usage("P2P Trading", orders.count),
            usage("Crypto Purchase", purchases.count),
            usage("Bill Payments", bills.count),
        ],
        top_services: vec![
            service("P2P Trading", orders, p2p_done),
            service("Crypto Purchase", purchases, crypto_done),
            bill_service("Airtime", "airtime"),
            bill_service("Data", "data"),
        ],
        p2p: P2pSummary {
            total_orders: orders.count,
            completed: p2p_done.count,
            pending: status(&activity.p2p, "pending").count,
            cancelled: status(&activity.p2p, "cancelled").count,
            total_volume: num(p2p_done.money()),
            active_offers: offers,
            completion_rate: num(rate(dec(p2p_done.count), dec(orders.count))),
        },
        crypto: CryptoSummary {
            total_purchases: purchases.count,
            completed: crypto_done.count,
            pending: status(&activity.crypto, "pending").count,
            failed: status(&activity.crypto, "failed").count,
            total_volume: num(crypto_done.money()),
            success_rate: num(rate(dec(crypto_done.count), dec(purchases.count))),
            by_network: by_network
                .into_iter()
                .map(|(network, (k, count))| NetworkVolume { network, count, volume: num(kobo(k)) })
                .collect(),
        },
        bills: BillsSummary {
            total_transactions: bills.count,
            total_volume: num(bills.money()),
            airtime_count: volume("Airtime").count,
            data_count: volume("Data").count,
        },
        stamp: Stamp::of(w),
    })
}
