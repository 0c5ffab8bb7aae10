//! `revenue/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// Revenue by source (non-P2P success deposits, completed P2P deposit orders, completed
/// crypto purchases), per day and per month.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Revenue {
    /// deposits + p2p + crypto.
    pub total_revenue: Fixed2,
    /// total × `ANALYTICS_PROFIT_MARGIN`.
    pub net_profit: Fixed2,
    /// total × `ANALYTICS_EXPENSE_RATIO`.
    pub total_expenses: Fixed2,
    /// Every local date of the window.
    pub revenue_trend: Vec<DailyRevenue>,
    /// `Deposits`, `P2P`, `Crypto`, in that order.
    pub payment_method_breakdown: Vec<MethodRevenue>,
    /// `Deposits`, `P2P Trading`, `Crypto Purchase`, in that order.
    pub service_breakdown: Vec<ServiceRevenue>,
    /// `Deposits`, `P2P`, `Crypto`, in that order.
    pub top_payment_methods: Vec<MethodSummary>,
    /// Each source's share.
    pub by_source: RevenueBySource,
    /// Every local month the window touches.
    pub monthly_trend: Vec<MonthlyRevenue>,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// One local day of `revenue_trend`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DailyRevenue {
    /// Local date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Revenue that day, all three sources.
    pub revenue: Fixed2,
    /// revenue × `ANALYTICS_PROFIT_MARGIN`.
    pub profit: Fixed2,
}

/// One `payment_method_breakdown` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MethodRevenue {
    /// `Deposits`, `P2P` or `Crypto`.
    #[schema(pattern = "^(Deposits|P2P|Crypto)$")]
    pub method: String,
    /// That source's revenue.
    pub revenue: Fixed2,
}

/// One `service_breakdown` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ServiceRevenue {
    /// `Deposits`, `P2P Trading` or `Crypto Purchase`.
    #[schema(pattern = "^(Deposits|P2P Trading|Crypto Purchase)$")]
    pub service: String,
    /// That source's revenue.
    pub revenue: Fixed2,
}

/// One `top_payment_methods` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MethodSummary {
    /// `Deposits`, `P2P` or `Crypto`.
    #[schema(pattern = "^(Deposits|P2P|Crypto)$")]
    pub method: String,
    /// That source's revenue.
    pub revenue: Fixed2,
    /// Revenue items (transactions, orders or purchases).
    pub count: i64,
    /// revenue / count.
    pub average: Fixed2,
}

/// `by_source`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RevenueBySource {
    /// Non-P2P success deposits.
    pub deposits: SourceShare,
    /// Completed P2P deposit orders.
    pub p2p: SourceShare,
    /// Completed crypto purchases.
    pub crypto: SourceShare,
}

/// One source of `by_source`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SourceShare {
    /// The source's revenue.
    pub revenue: Fixed2,
    /// Its items.
    pub count: i64,
    /// Percent of `total_revenue`.
    pub percentage: Fixed2,
}

/// One local month of `monthly_trend`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MonthlyRevenue {
    /// The local month's start, RFC 3339 with offset (`2026-10-01T00:00:00+01:00`).
    #[schema(format = DateTime)]
    pub month: String,
    /// Revenue that month, all three sources.
    pub revenue: Fixed2,
    /// Revenue items that month.
    pub count: i64,
}
