//! `users/` (docs/METRICS.md): user totals, growth, segmentation, referrers and engagement.

use std::collections::BTreeMap;

use super::facts::active::{distinct_users, distinct_users_by};
use super::facts::platform::wallet_totals;
use super::facts::referrals::top_referrers;
use super::facts::revenue::referred_revenue;
use super::facts::users::{signups_by, user_counts};
use super::num::{dec, kobo, num, quotient, rate};
use super::payload::users::*;
use super::payload::Stamp;
use super::source::Source;
use super::window::Window;
use super::{daily_series, MetricError};
use crate::db::Bucket;
use crate::metrics::rows::{ActiveSpec, Activity};

/// How many referrers the payload lists.
const TOP_REFERRERS: i64 = 10;

/// The distinct-user counts the users payload needs: any transaction, and a success one.
pub(crate) fn active_specs(w: &Window) -> Vec<ActiveSpec> {
    vec![ActiveSpec::any(w.current), ActiveSpec { success_only: true, ..ActiveSpec::any(w.current) }]
}

/// Computes the users payload (8 queries).
pub async fn users(src: &mut Source<'_>, w: &Window) -> Result<Users, MetricError> {
    let counts = user_counts(src, w.now, &[w.current.start, w.current.end]).await?;
    let joins: BTreeMap<String, i64> = signups_by(src, w.current, Bucket::Day).await?.into_iter().collect();
    let daily_active: BTreeMap<String, i64> =
        distinct_users_by(src, w.current, Bucket::Day).await?.into_iter().collect();
    let active = distinct_users(src, &active_specs(w)).await?;
    let success = Activity::load(src, w.current, Bucket::Whole).await?.success_tx();
    let wallets = wallet_totals(src).await?;
    let referrers = top_referrers(src, w.current, TOP_REFERRERS).await?;
    let ids: Vec<i64> = referrers.iter().map(|r| r.id).collect();
    let referred: BTreeMap<i64, i64> = referred_revenue(src, w.current, &ids).await?.into_iter().collect();

    let total_users = counts.total;
    let new_users = counts.joined_before[1] - counts.joined_before[0];
    let (active_users, success_users) = (active[0], active[1]);
    let regular = total_users - counts.merchants;

    let mut cumulative = counts.joined_before[0];
    let growth = daily_series(w, |date| {
        let joined = joins.get(date).copied().unwrap_or(0);
        cumulative += joined;
        DailyUsers {
            date: date.to_string(),
            total_users: cumulative,
            new_users: joined,
            active_users: daily_active.get(date).copied().unwrap_or(0),
        }
    });
    let registrations = daily_series(w, |date| DailyCount {
        date: date.to_string(),
        count: joins.get(date).copied().unwrap_or(0),
    });

    let segment = |name: &str, count: i64| Segment { segment: name.into(), count };
    Ok(Users {
        total_users,
        new_users,
        active_users,
        verified_users: counts.verified,
        merchant_count: counts.merchants,
        regular_user_count: regular,
        retention_rate: num(rate(dec(active_users), dec(total_users))),
        avg_daily_users: num(quotient(dec(active_users), dec(w.period_days))),
        user_growth: growth,
        user_segmentation: vec![
            segment("Merchants", counts.merchants),
            segment("Regular Users", regular),
            segment("Verified", counts.verified),
            segment("Unverified", total_users - counts.verified),
        ],
        top_referrers: referrers
            .into_iter()
            .map(|r| Referrer {
                total_revenue: num(kobo(referred.get(&r.id).copied().unwrap_or(0))),
                username: r.email,
                referral_count: r.referral_count,
                active_referrals: r.active_referrals,
            })
            .collect(),
        summary: UsersSummary {
            total_users,
            new_users,
            verified_users: counts.verified,
            merchants: counts.merchants,
            active_users,
            users_with_wallets: wallets.count,
            verification_rate: num(rate(dec(counts.verified), dec(total_users))),
            activation_rate: num(rate(dec(active_users), dec(total_users))),
        },
        engagement: Engagement {
            avg_transactions_per_user: num(quotient(dec(success.count), dec(success_users))),
        },
        daily_registrations: registrations,
        stamp: Stamp::of(w),
    })
}
