//! Folding grouped facts into window totals: counts and exact kobo sums add up across
//! buckets, so a window's numbers are the fold of its day groups.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rust_decimal::Decimal;

use super::facts::orders::order_groups;
use super::facts::tx::{live_tx, tx_groups};
use super::num::kobo;
use super::source::Source;
use super::window::Range;
use crate::db::Bucket;
use crate::metrics::rows::{Activity, BonusGroup, OrderGroup, OrderTable, TxGroup};

/// A count and an exact sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agg {
    /// Number of rows.
    pub count: i64,
    /// Sum of their amounts, kobo.
    pub kobo: i64,
}

impl Agg {
    /// Adds one group.
    pub fn add(&mut self, count: i64, kobo: i64) {
        self.count += count;
        self.kobo += kobo;
    }

    /// The sum as money.
    pub fn money(self) -> Decimal {
        kobo(self.kobo)
    }

    /// The sum of two aggregates.
    pub fn plus(self, other: Agg) -> Agg {
        Agg { count: self.count + other.count, kobo: self.kobo + other.kobo }
    }
}

/// Something with a bucket key, a count and a kobo sum.
pub trait Grouped {
    /// The bucket key.
    fn key(&self) -> &str;
    /// (count, kobo).
    fn amounts(&self) -> (i64, i64);
}

impl Grouped for TxGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

impl Grouped for OrderGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

impl Grouped for BonusGroup {
    fn key(&self) -> &str {
        &self.key
    }
    fn amounts(&self) -> (i64, i64) {
        (self.count, self.kobo)
    }
}

/// Total of the groups that pass `keep`.
pub fn total<G: Grouped>(groups: &[G], keep: impl Fn(&G) -> bool) -> Agg {
    let mut agg = Agg::default();
    for g in groups.iter().filter(|g| keep(g)) {
        let (count, kobo) = g.amounts();
        agg.add(count, kobo);
    }
    agg
}

/// Totals per bucket key of the groups that pass `keep`.
pub fn per_key<G: Grouped>(groups: &[G], keep: impl Fn(&G) -> bool) -> BTreeMap<String, Agg> {
    per_label(groups, |g| g.key().to_string(), keep)
}

/// Totals per arbitrary label (category, type, status, …) of the groups that pass `keep`.
pub fn per_label<G>(
    groups: &[G],
    label: impl Fn(&G) -> String,
    keep: impl Fn(&G) -> bool,
) -> BTreeMap<String, Agg>
where
    G: Grouped,
{
    let mut map: BTreeMap<String, Agg> = BTreeMap::new();
    for g in groups.iter().filter(|g| keep(g)) {
        let (count, kobo) = g.amounts();
        map.entry(label(g)).or_default().add(count, kobo);
    }
    map
}

/// The three revenue sources (docs/METRICS.md, "Revenue") over some set of groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revenue {
    /// Success deposits that are not P2P credits.
    pub deposits: Agg,
    /// Completed P2P deposit orders.
    pub p2p: Agg,
    /// Completed crypto purchases.
    pub crypto: Agg,
}

impl Revenue {
    /// All three sources together.
    pub fn total(self) -> Agg {
        self.deposits.plus(self.p2p).plus(self.crypto)
    }
}

impl Activity {
    /// The three group sets for `range` by `bucket`: three queries, or, when the source has a
    /// day store covering whole days of the range, those days' groups plus reads of the rest.
    pub async fn load(
        src: &mut Source<'_>,
        range: Range,
        bucket: Bucket,
    ) -> Result<Arc<Activity>, sqlx::Error> {
        if let Some(hit) = src.memo().activity.get(&(range, bucket)) {
            return Ok(hit.clone());
        }
        let by_day = match bucket {
            Bucket::Day | Bucket::Whole => Activity::from_days(src, range, bucket).await?,
            Bucket::Week | Bucket::Month => None,
        };
        let activity = match by_day {
            Some(folded) => Arc::new(folded),
            None => Arc::new(Activity::query(src, range, bucket).await?),
        };
        src.memo().activity.insert((range, bucket), activity.clone());
        Ok(activity)
    }

    /// Reads the groups of `range` by `bucket` from the platform.
    pub(crate) async fn query(
        src: &mut Source<'_>,
        range: Range,
        bucket: Bucket,
    ) -> Result<Activity, sqlx::Error> {
        Ok(Activity {
            tx: tx_groups(src, range, bucket).await?,
            p2p: order_groups(src, OrderTable::P2pDeposit, range, bucket).await?,
            crypto: order_groups(src, OrderTable::CryptoPurchase, range, bucket).await?,
        })
    }

    /// The groups of `range` by `bucket` (`Day` or `Whole`) folded from the source's day
    /// store: stored whole days are taken as they are, the partial days and anything after the
    /// store was read are read by day.
    async fn from_days(
        src: &mut Source<'_>,
        range: Range,
        bucket: Bucket,
    ) -> Result<Option<Activity>, sqlx::Error> {
        let Some((days, live)) = src.stored_days(range, bucket) else { return Ok(None) };
        let mut lives = Vec::with_capacity(live.len());
        for part in live {
            lives.push(Activity::live(src, part).await?);
        }
        let parts: Vec<&Activity> =
            days.iter().map(|d| &d.activity).chain(lives.iter().map(|a| &**a)).collect();
        Ok(Some(match bucket {
            Bucket::Whole => Activity::merged(&parts),
            _ => Activity {
                tx: parts.iter().flat_map(|a| a.tx.iter().cloned()).collect(),
                p2p: parts.iter().flat_map(|a| a.p2p.iter().cloned()).collect(),
                crypto: parts.iter().flat_map(|a| a.crypto.iter().cloned()).collect(),
            },
        }))
    }

    /// The groups of a live part by day, remembered: every window's last part (today so far)
    /// and each window's first part are asked for by several payloads.
    pub(crate) async fn live(src: &mut Source<'_>, part: Range) -> Result<Arc<Activity>, sqlx::Error> {
        if let Some(hit) = src.memo().live_activity.get(&part) {
            return Ok(hit.clone());
        }
        let activity = Arc::new(Activity {
            tx: live_tx(src, part).await?.as_ref().clone(),
            p2p: order_groups(src, OrderTable::P2pDeposit, part, Bucket::Day).await?,
            crypto: order_groups(src, OrderTable::CryptoPurchase, part, Bucket::Day).await?,
        });
        src.memo().live_activity.insert(part, activity.clone());
        Ok(activity)
    }

    /// The groups of `parts` with their bucket keys dropped, one group per attribute set: a
    /// window's whole-period totals. Summed through a map, since a year of days holds tens of
    /// thousands of groups.
    fn merged(parts: &[&Activity]) -> Activity {
        let mut tx: HashMap<(&str, &str, &str, bool), Agg> = HashMap::new();
        let mut p2p: HashMap<(&str, &str), Agg> = HashMap::new();
        let mut crypto: HashMap<(&str, &str), Agg> = HashMap::new();
        for part in parts {
            for g in &part.tx {
                tx.entry((&g.category, &g.tx_type, &g.status, g.p2p)).or_default().add(g.count, g.kobo);
            }
            for (into, groups) in [(&mut p2p, &part.p2p), (&mut crypto, &part.crypto)] {
                for g in groups {
                    into.entry((&g.status, &g.network)).or_default().add(g.count, g.kobo);
                }
            }
        }
        let orders = |map: HashMap<(&str, &str), Agg>| -> Vec<OrderGroup> {
            let mut out: Vec<OrderGroup> = map
                .into_iter()
                .map(|((status, network), a)| OrderGroup {
                    key: String::new(),
                    status: status.to_string(),
                    network: network.to_string(),
                    count: a.count,
                    kobo: a.kobo,
                })
                .collect();
            out.sort();
            out
        };
        let mut tx: Vec<TxGroup> = tx
            .into_iter()
            .map(|((category, tx_type, status, p2p), a)| TxGroup {
                key: String::new(),
                category: category.to_string(),
                tx_type: tx_type.to_string(),
                status: status.to_string(),
                p2p,
                count: a.count,
                kobo: a.kobo,
            })
            .collect();
        tx.sort_by(|a, b| {
            (&a.category, &a.tx_type, &a.status, a.p2p).cmp(&(&b.category, &b.tx_type, &b.status, b.p2p))
        });
        Activity { tx, p2p: orders(p2p), crypto: orders(crypto) }
    }

    /// Revenue over every bucket.
    pub fn revenue(&self) -> Revenue {
        self.revenue_where(|_| true)
    }

    /// Revenue over the buckets whose key passes `keep`.
    pub fn revenue_where(&self, keep: impl Fn(&str) -> bool) -> Revenue {
        Revenue {
            deposits: total(&self.tx, |g| keep(&g.key) && g.is_deposit_revenue()),
            p2p: total(&self.p2p, |g| keep(&g.key) && g.status == "completed"),
            crypto: total(&self.crypto, |g| keep(&g.key) && g.status == "completed"),
        }
    }

    /// Revenue per bucket key.
    pub fn revenue_by_key(&self) -> BTreeMap<String, Revenue> {
        let mut map: BTreeMap<String, Revenue> = BTreeMap::new();
        for (k, a) in per_key(&self.tx, |g| g.is_deposit_revenue()) {
            map.entry(k).or_default().deposits = a;
        }
        for (k, a) in per_key(&self.p2p, |g| g.status == "completed") {
            map.entry(k).or_default().p2p = a;
        }
        for (k, a) in per_key(&self.crypto, |g| g.status == "completed") {
            map.entry(k).or_default().crypto = a;
        }
        map
    }

    /// All transactions.
    pub fn all_tx(&self) -> Agg {
        total(&self.tx, |_| true)
    }

    /// Success transactions.
    pub fn success_tx(&self) -> Agg {
        total(&self.tx, |g| g.status == "success")
    }
}

/// Sorts `(label, value)` rows by value descending, ties by label ascending (docs/METRICS.md, "Lists").
pub fn sort_desc<T: PartialOrd>(rows: &mut [(String, T)]) {
    rows.sort_by(|a, b| {
        b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0))
    });
}
