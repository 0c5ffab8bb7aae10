//! Where metric queries run: one connection (inside a run's read snapshot, or a pooled one for
//! on-demand windows), the dialect and the settings that shape the numbers.

use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use std::collections::HashMap;
use std::sync::Arc;

use super::days::{Day, DayStore};
use super::window::Range;
use crate::config::MetricArgs;
use crate::db::{Bucket, Dialect, Sql};
use crate::metrics::rows::{
    ActiveSpec, Activity, BonusGroup, DayUsers, OrderGroup, TxGroup, UserFlags, WalletTotals,
};

/// Business settings that change computed values (defaults in docs/METRICS.md).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSettings {
    /// Reporting time zone for days, weeks, months and "today".
    pub tz: Tz,
    /// `net_profit = revenue × profit_margin` (0.80).
    pub profit_margin: Decimal,
    /// `total_expenses = revenue × expense_ratio` (0.20).
    pub expense_ratio: Decimal,
    /// Share of all-time revenue counted as acquisition spend for CAC (0.20).
    pub cac_expense_ratio: Decimal,
    /// DAU target as a share of users (0.30).
    pub dau_target: Decimal,
    /// MAU target as a share of users (0.70).
    pub mau_target: Decimal,
}

impl From<&MetricArgs> for MetricSettings {
    /// The settings as configured (`ANALYTICS_TIME_ZONE`, `ANALYTICS_PROFIT_MARGIN`…).
    fn from(args: &MetricArgs) -> MetricSettings {
        MetricSettings {
            tz: args.time_zone,
            profit_margin: args.profit_margin,
            expense_ratio: args.expense_ratio,
            cac_expense_ratio: args.cac_expense_ratio,
            dau_target: args.dau_target,
            mau_target: args.mau_target,
        }
    }
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            tz: chrono_tz::Africa::Lagos,
            profit_margin: Decimal::new(80, 2),
            expense_ratio: Decimal::new(20, 2),
            cac_expense_ratio: Decimal::new(20, 2),
            dau_target: Decimal::new(30, 2),
            mau_target: Decimal::new(70, 2),
        }
    }
}

/// A connection plus what the queries need to know about it; counts the queries it runs so
/// tests and benchmarks can check that a payload costs a bounded number of round trips.
///
/// It also remembers the facts it has read: within one read snapshot (a materializer run) the
/// six payloads of a window share their grouped transactions, orders and distinct-user counts
/// instead of scanning the same rows again.
pub struct Source<'c> {
    conn: &'c mut AnyConnection,
    dialect: Dialect,
    settings: &'c MetricSettings,
    queries: usize,
    memo: Memo,
    days: Option<Arc<DayStore>>,
}

/// Referred sign-ups of a bucket by one referrer: `(key, referrer id, count)`.
pub(crate) type ReferralCount = (String, i64, i64);

/// Facts already read through a [`Source`].
#[derive(Default)]
pub(crate) struct Memo {
    pub(crate) activity: HashMap<(Range, Bucket), Arc<Activity>>,
    pub(crate) active: HashMap<ActiveSpec, i64>,
    pub(crate) lifetime_revenue: HashMap<chrono::DateTime<chrono::Utc>, i64>,
    pub(crate) daily_active: HashMap<Range, Vec<(String, i64)>>,
    pub(crate) live_users: HashMap<Range, Arc<Vec<DayUsers>>>,
    pub(crate) flags: HashMap<chrono::DateTime<chrono::Utc>, UserFlags>,
    /// Flags read earlier at an instant (see `metrics::current`): the flags at a later `now`
    /// add those of the users who joined in between.
    pub(crate) flags_base: Option<(chrono::DateTime<chrono::Utc>, UserFlags)>,
    pub(crate) wallets: Option<WalletTotals>,
    pub(crate) offers: Option<i64>,
    pub(crate) joined_live: HashMap<Range, Arc<roaring::RoaringBitmap>>,
    pub(crate) joined_count: HashMap<Range, i64>,
    pub(crate) live_activity: HashMap<Range, Arc<Activity>>,
    pub(crate) live_tx: HashMap<Range, Arc<Vec<TxGroup>>>,
    pub(crate) live_bonuses: HashMap<Range, Arc<Vec<BonusGroup>>>,
    pub(crate) live_withdrawals: HashMap<Range, Arc<Vec<OrderGroup>>>,
    pub(crate) live_signups: HashMap<Range, Arc<Vec<(String, i64)>>>,
    pub(crate) live_referrals: HashMap<Range, Arc<Vec<ReferralCount>>>,
}

impl<'c> Source<'c> {
    /// Wraps a connection of `dialect`.
    pub fn new(conn: &'c mut AnyConnection, dialect: Dialect, settings: &'c MetricSettings) -> Self {
        Source { conn, dialect, settings, queries: 0, memo: Memo::default(), days: None }
    }

    /// Folds whole days from `store` (when it is for this source's time zone) instead of
    /// reading them; only the parts of a range the store does not hold are read.
    pub fn with_days(mut self, store: Option<Arc<DayStore>>) -> Self {
        self.set_days(store);
        self
    }

    /// See [`Source::with_days`].
    pub fn set_days(&mut self, store: Option<Arc<DayStore>>) {
        self.days = store.filter(|s| s.tz() == self.settings.tz);
    }

    /// The day store in use.
    pub fn days(&self) -> Option<Arc<DayStore>> {
        self.days.clone()
    }

    /// For a `Day` or `Whole` bucket over `range`: the store's whole days inside it and the parts
    /// to read live (the whole range when it holds no whole day of it); `None` when there is no
    /// store.
    pub(crate) fn stored_days(&self, range: Range, bucket: Bucket) -> Option<(Vec<Arc<Day>>, Vec<Range>)> {
        if !matches!(bucket, Bucket::Day | Bucket::Whole) {
            return None;
        }
        let store = self.days.as_ref()?;
        Some(match store.cover(range) {
            Some(cover) => (cover.stored().cloned().collect(), cover.live),
            None => (Vec::new(), vec![range]),
        })
    }

    /// The SQL flavour of the connection.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The business settings.
    pub fn settings(&self) -> &MetricSettings {
        self.settings
    }

    /// A new query builder for this connection's dialect.
    pub fn sql(&self) -> Sql {
        Sql::new(self.dialect)
    }

    /// The connection itself, for reads that are not metric queries (the change log's state and
    /// rows), in the same transaction.
    pub fn connection(&mut self) -> &mut AnyConnection {
        self.queries += 1;
        self.conn
    }

    /// The facts read so far.
    pub(crate) fn memo(&mut self) -> &mut Memo {
        &mut self.memo
    }

    /// How many queries have run through this source.
    pub fn query_count(&self) -> usize {
        self.queries
    }

    /// Runs a query and returns all rows.
    pub async fn all(&mut self, sql: &Sql) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.queries += 1;
        let started = std::time::Instant::now();
        let rows = sql.fetch_all(self.conn).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            sql = sql.as_str(),
            "metric query"
        );
        rows
    }

    /// Runs a query that returns exactly one row.
    pub async fn one(&mut self, sql: &Sql) -> Result<AnyRow, sqlx::Error> {
        self.queries += 1;
        let started = std::time::Instant::now();
        let row = sql.fetch_one(self.conn).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            sql = sql.as_str(),
            "metric query"
        );
        row
    }
}
