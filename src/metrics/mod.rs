//! The dashboard metrics: turning (platform database, window, filters, settings) into the
//! exact JSON payload of each endpoint (docs/METRICS.md).
//!
//! Queries live in [`facts`], one file per concern, and return grouped counts and exact sums;
//! each endpoint module folds them into its payload. Every payload costs a small, fixed number
//! of queries whatever the window (no per-day or per-user loops).

pub mod bi;
pub mod current;
pub mod days;
pub mod export;
pub mod facts;
pub mod fold;
pub mod kpis;
pub mod live;
pub mod num;
pub mod overview;
pub mod payload;
pub mod report;
pub mod revenue;
pub mod rows;
pub mod services;
pub mod source;
pub mod today;
pub mod transactions;
pub mod users;
pub mod window;

use std::sync::Arc;

pub use days::{DaySlot, DayStore};
pub use facts::tx::{TxFilter, TxKind, TxStatus};
pub use source::{MetricSettings, Source};
pub use window::{Range, Window, WindowError, WindowKind};

pub use payload::Payload;

/// Why a payload could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// The platform database failed or timed out.
    #[error("platform database query failed")]
    Database(#[from] sqlx::Error),
}

/// The six JSON endpoints of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `dashboard/overview/`
    Overview,
    /// `transactions/`
    Transactions,
    /// `revenue/`
    Revenue,
    /// `users/`
    Users,
    /// `services/`
    Services,
    /// `kpis/`
    Kpis,
}

impl Endpoint {
    /// All six, in the dashboard's menu order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Overview,
        Endpoint::Transactions,
        Endpoint::Revenue,
        Endpoint::Users,
        Endpoint::Services,
        Endpoint::Kpis,
    ];

    /// The route under `/api/analytics/`, also the name stored with snapshots.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Overview => "dashboard/overview/",
            Endpoint::Transactions => "transactions/",
            Endpoint::Revenue => "revenue/",
            Endpoint::Users => "users/",
            Endpoint::Services => "services/",
            Endpoint::Kpis => "kpis/",
        }
    }

    /// A short name for metric keys and logs (`overview`, `kpis`, …).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Overview => "overview",
            Endpoint::Transactions => "transactions",
            Endpoint::Revenue => "revenue",
            Endpoint::Users => "users",
            Endpoint::Services => "services",
            Endpoint::Kpis => "kpis",
        }
    }

    /// Looks an endpoint up by route (with or without the trailing slash) or short name.
    pub fn parse(value: &str) -> Option<Endpoint> {
        let trimmed = value.trim_matches('/');
        Endpoint::ALL.into_iter().find(|e| e.path().trim_end_matches('/') == trimmed || e.name() == trimmed)
    }
}

/// Computes one endpoint's payload. `filter` applies to [`Endpoint::Transactions`] only.
#[tracing::instrument(skip(src, window, filter), fields(endpoint = endpoint.name(), days = window.period_days))]
pub async fn compute(
    src: &mut Source<'_>,
    endpoint: Endpoint,
    window: &Window,
    filter: &TxFilter,
) -> Result<Payload, MetricError> {
    Ok(match endpoint {
        Endpoint::Overview => Payload::Overview(Box::new(overview::overview(src, window).await?)),
        Endpoint::Transactions => {
            Payload::Transactions(Box::new(transactions::transactions(src, window, filter).await?))
        }
        Endpoint::Revenue => Payload::Revenue(Box::new(revenue::revenue(src, window).await?)),
        Endpoint::Users => Payload::Users(Box::new(users::users(src, window).await?)),
        Endpoint::Services => Payload::Services(Box::new(services::services(src, window).await?)),
        Endpoint::Kpis => Payload::Kpis(Box::new(kpis::kpis(src, window).await?)),
    })
}

/// Reads the day store of `windows` (every window and its previous period, at least
/// [`days::MIN_SPAN_DAYS`]) through `src` and makes `src` fold from it, so computing all their
/// payloads (a materializer run) reads each row about once: each window folds its whole days
/// and reads only its partial edge days. Returns the store for on-demand windows to reuse.
pub async fn prefetch(
    src: &mut Source<'_>,
    windows: &[Window],
) -> Result<Option<Arc<DayStore>>, MetricError> {
    let Some(now) = windows.iter().map(|w| w.now).max() else { return Ok(None) };
    src.set_days(None);
    let store = Arc::new(DayStore::build(src, DayStore::span_start(windows, now), now, 0, None).await?);
    src.set_days(Some(store.clone()));
    Ok(Some(store))
}

/// One row per local date of the window, ascending and zero-filled by `row`.
pub(crate) fn daily_series<T>(w: &Window, mut row: impl FnMut(&str) -> T) -> Vec<T> {
    w.dates().iter().map(|d| row(&d.format("%Y-%m-%d").to_string())).collect()
}
