//! Drift checks: every run compares part of the stored days with the platform, cheaply, so a
//! change the run's way of reading could not see (without change capture: a delete, an update
//! older than the settle window, a low id; with it: writes made while its triggers were
//! disabled) is found and reported instead of staying silent.
//!
//! Two checks, both in the run's snapshot: the users who joined inside and before the stored
//! days are counted (two index-only counts) against the stored sign-up sets; and a few stored
//! days in rotation (every stored day within [`DAYS_PER_RUN`]-sized steps over the runs) have
//! their counts and kobo sums read again. A day found to differ is read again whole, so the
//! run stores it right; everything found is reported.
//!
//! With change capture the checks only watch for writes that bypassed its triggers, and the
//! users are counted once per rotation (at its first step) instead of every run: the counts
//! walk every user's index entry (~50 ms at 100k users, ten times that at a million), more
//! than the rest of a run that applies a few hundred changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};

use super::read::{read_days, runs};
use super::{Day, DayStore};
use crate::db::Bucket;
use crate::metrics::facts::orders::order_groups;
use crate::metrics::facts::platform::bonus_groups;
use crate::metrics::facts::tx::tx_groups;
use crate::metrics::facts::{in_range, int};
use crate::metrics::num::kobo;
use crate::metrics::rows::OrderTable;
use crate::metrics::source::Source;
use crate::metrics::window::Range;
use crate::time::local_midnight;

/// Stored days a run checks again (consecutive, rotating with the run id): at 5-minute runs
/// a two-year store is checked through every ~9 hours.
pub const DAYS_PER_RUN: usize = 7;

/// What a run's drift checks found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// The stored days compared with the platform.
    pub checked: Vec<NaiveDate>,
    /// Those that differed, read again whole by this run.
    pub repaired: Vec<NaiveDate>,
    /// What differed, one line each (`users who joined …: stored N, platform M`, `day …`).
    pub findings: Vec<String>,
}

impl Drift {
    /// Whether anything differed.
    pub fn found(&self) -> bool {
        !self.findings.is_empty()
    }
}

impl DayStore {
    /// Runs the drift checks of run `run_id` against this store, leaving alone `fresh` (days this
    /// run read anyway); repairs the days that differ and returns what was found. `captured`:
    /// the store was brought forward by change capture (the users are then counted only at the
    /// rotation's first step).
    pub async fn check_drift(
        &mut self,
        src: &mut Source<'_>,
        run_id: i64,
        fresh: &BTreeSet<NaiveDate>,
        captured: bool,
    ) -> Result<Drift, sqlx::Error> {
        let mut drift = Drift::default();
        let candidates: Vec<NaiveDate> =
            self.days.iter().map(|d| d.date).filter(|d| !fresh.contains(d)).collect();
        let steps = candidates.len().div_ceil(DAYS_PER_RUN).max(1);
        let step = usize::try_from(run_id.rem_euclid(steps as i64)).unwrap_or(0);
        if !captured || step == 0 {
            self.check_users(src, &mut drift).await?;
        }
        if candidates.is_empty() {
            return Ok(drift);
        }
        let chosen: Vec<NaiveDate> =
            candidates.iter().skip(step * DAYS_PER_RUN).take(DAYS_PER_RUN).copied().collect();
        for (from, to) in runs(&chosen) {
            let read = additive_facts(src, from, to).await?;
            for day in read {
                let stored = self.day(day.date).expect("a stored day");
                let what = stored.additive_differences(&day);
                if !what.is_empty() {
                    drift.findings.push(format!("day {}: {}", day.date, what.join("; ")));
                    drift.repaired.push(day.date);
                }
            }
        }
        drift.checked = chosen;
        for (from, to) in runs(&drift.repaired) {
            for day in read_days(src, from, to).await? {
                let i = usize::try_from((day.date - self.first).num_days()).expect("a stored day");
                self.days[i] = Arc::new(day);
            }
        }
        Ok(drift)
    }

    /// Compares the users who joined inside and before the stored days with the platform.
    async fn check_users(&self, src: &mut Source<'_>, drift: &mut Drift) -> Result<(), sqlx::Error> {
        let (start, end) = (self.start(), self.end());
        let mut q = src.sql();
        let inside = in_range(&mut q, "date_joined", Range::new(start, end));
        let before = q.ts(start);
        q.push(&format!(
            "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE {inside}), \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE date_joined < {before})"
        ));
        let row = src.one(&q).await?;
        let (inside, before) = (int(&row, 0)?, int(&row, 1)?);
        let stored_inside: u64 = self.days.iter().map(|d| d.joined.len()).sum();
        let stored_before = self.base.joined.len();
        if u64::try_from(inside).ok() != Some(stored_inside) {
            drift.findings.push(format!(
                "users who joined on the stored days ({} to {}): stored {stored_inside}, platform {inside}",
                self.first,
                self.end_date() - Duration::days(1)
            ));
        }
        if u64::try_from(before).ok() != Some(stored_before) {
            drift.findings.push(format!(
                "users who joined before {}: stored {stored_before}, platform {before}",
                self.first
            ));
        }
        Ok(())
    }
}

/// The counts and kobo sums of the days `[from, to)` (no user sets: the cheap part of a day).
async fn additive_facts(
    src: &mut Source<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Day>, sqlx::Error> {
    let tz = src.settings().tz;
    let span = Range::new(local_midnight(tz, from), local_midnight(tz, to));
    let len = usize::try_from((to - from).num_days()).unwrap_or(0);
    let mut days: Vec<Day> = (0..len).map(|i| Day::empty(from + Duration::days(i as i64))).collect();
    let index = |key: &str| -> Option<usize> {
        let date = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
        usize::try_from((date - from).num_days()).ok().filter(|i| *i < len)
    };
    for g in tx_groups(src, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].activity.tx.push(g);
        }
    }
    for (table, kind) in
        [(OrderTable::P2pDeposit, 0), (OrderTable::CryptoPurchase, 1), (OrderTable::P2pWithdraw, 2)]
    {
        for g in order_groups(src, table, span, Bucket::Day).await? {
            if let Some(i) = index(&g.key) {
                match kind {
                    0 => days[i].activity.p2p.push(g),
                    1 => days[i].activity.crypto.push(g),
                    _ => days[i].withdrawals.push(g),
                }
            }
        }
    }
    for g in bonus_groups(src, span, Bucket::Day).await? {
        if let Some(i) = index(&g.key) {
            days[i].bonuses.push(g);
        }
    }
    for day in &mut days {
        day.normalize();
    }
    Ok(days)
}

impl Day {
    /// What differs between this (stored) day's counts and sums and `fresh`'s, fact by fact
    /// (`transactions deposit/credit/success: stored 3 (45.00) fresh 4 (60.00)`).
    pub fn additive_differences(&self, fresh: &Day) -> Vec<String> {
        let mut out = Vec::new();
        let tx = |d: &Day| -> BTreeMap<String, (i64, i64)> {
            d.activity
                .tx
                .iter()
                .map(|g| {
                    let p2p = if g.p2p { "/p2p" } else { "" };
                    (
                        format!("transactions {}/{}/{}{p2p}", g.category, g.tx_type, g.status),
                        (g.count, g.kobo),
                    )
                })
                .collect()
        };
        let orders = |d: &Day| -> BTreeMap<String, (i64, i64)> {
            let kinds = [
                ("p2p deposit orders", &d.activity.p2p),
                ("crypto purchases", &d.activity.crypto),
                ("p2p withdraw orders", &d.withdrawals),
            ];
            kinds
                .into_iter()
                .flat_map(|(kind, groups)| {
                    groups.iter().map(move |g| {
                        let network =
                            if g.network.is_empty() { String::new() } else { format!("/{}", g.network) };
                        (format!("{kind} {}{network}", g.status), (g.count, g.kobo))
                    })
                })
                .collect()
        };
        let bonuses = |d: &Day| -> BTreeMap<String, (i64, i64)> {
            d.bonuses.iter().map(|g| (format!("bonuses {}", g.status), (g.count, g.kobo))).collect()
        };
        for pick in [tx, orders, bonuses] {
            let (a, b) = (pick(self), pick(fresh));
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) =
                    (a.get(key).copied().unwrap_or_default(), b.get(key).copied().unwrap_or_default());
                if x != y {
                    out.push(format!("{key}: stored {} ({}) fresh {} ({})", x.0, kobo(x.1), y.0, kobo(y.1)));
                }
            }
        }
        out
    }

    /// Every difference between this (stored) day and `fresh`: counts and sums, user sets and
    /// referrals.
    pub fn differences(&self, fresh: &Day) -> Vec<String> {
        let mut out = self.additive_differences(fresh);
        let sets = [
            ("active users", &self.active, &fresh.active),
            ("users with a success transaction", &self.active_success, &fresh.active_success),
            ("sign-ups", &self.joined, &fresh.joined),
        ];
        for (name, a, b) in sets {
            if a != b {
                out.push(format!("{name}: stored {} fresh {}", a.len(), b.len()));
            }
        }
        if self.referrals != fresh.referrals {
            let total = |d: &Day| d.referrals.iter().map(|(_, n)| n).sum::<i64>();
            out.push(format!("referrals: stored {} fresh {}", total(self), total(fresh)));
        }
        out
    }
}
