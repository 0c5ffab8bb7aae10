//! `kpis/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// Business KPIs, each compared with its own value over the previous window ("at prev": the
/// same formula with now taken as the previous window's end).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Kpis {
    /// Distinct users with a transaction today (local date, up to now).
    pub dau: i64,
    /// Distinct users with a transaction in the last 30 × 24 h, whatever the window.
    pub mau: i64,
    /// dau against all of yesterday (local), percent.
    pub dau_trend: Fixed2,
    /// mau against the 30 × 24 h before, percent.
    pub mau_trend: Fixed2,
    /// All-time revenue / users.
    pub ltv: Fixed2,
    /// All-time revenue × `ANALYTICS_CAC_EXPENSE_RATIO` / users who joined in the window.
    pub cac: Fixed2,
    /// ltv / cac.
    pub ltv_cac_ratio: Fixed2,
    /// Revenue in the window / active users in the window.
    pub arpu: Fixed2,
    /// Trend of ltv against ltv at prev, percent.
    pub ltv_trend: Fixed2,
    /// Trend of cac, percent.
    pub cac_trend: Fixed2,
    /// Trend of ltv_cac_ratio, percent.
    pub ltv_cac_ratio_trend: Fixed2,
    /// Trend of arpu, percent.
    pub arpu_trend: Fixed2,
    /// Trend of retention_rate, percent.
    pub retention_trend: Fixed2,
    /// Success transactions / all transactions in the window, percent.
    pub transaction_success_rate: Fixed2,
    /// transaction_success_rate against its value at prev, in points.
    pub success_rate_trend: Fixed2,
    /// Users who joined before the window with no transaction in it / users who joined before
    /// the window, percent.
    pub churn_rate: Fixed2,
    /// churn_rate against its value at prev, in points.
    pub churn_rate_trend: Fixed2,
    /// Active users in the window / users, percent.
    pub retention_rate: Fixed2,
    /// new / (users − new), percent.
    pub user_growth_rate: Fixed2,
    /// Trend of revenue against the previous window, percent.
    pub revenue_growth_rate: Fixed2,
    /// Trend of the success count against the previous window, percent.
    pub transaction_growth_rate: Fixed2,
    /// = user_growth_rate.
    pub user_growth_trend: Fixed2,
    /// = revenue_growth_rate.
    pub revenue_growth_trend: Fixed2,
    /// = transaction_growth_rate.
    pub transaction_growth_trend: Fixed2,
    /// dau / mau, percent.
    pub stickiness: Fixed2,
    /// = stickiness (the dashboard reads this one).
    pub stickiness_trend: Fixed2,
    /// floor(users × `ANALYTICS_DAU_TARGET`).
    pub dau_target: i64,
    /// floor(users × `ANALYTICS_MAU_TARGET`).
    pub mau_target: i64,
    /// The KPI cards.
    pub kpis: KpiCards,
    /// Bonuses created in the window.
    pub bonuses: BonusSummary,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// `kpis` of the KPI payload.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KpiCards {
    /// Sum of wallet balances now.
    pub total_platform_value: Fixed2,
    /// = transaction_success_rate.
    pub transaction_success_rate: Fixed2,
    /// Success amount sum / success count in the window.
    pub average_transaction_value: Fixed2,
    /// = ltv.
    pub customer_lifetime_value: Fixed2,
    /// = retention_rate.
    pub user_retention_rate: Fixed2,
    /// All users.
    pub total_users: i64,
    /// Active users in the window.
    pub active_users: i64,
}

/// `bonuses` of the KPI payload: bonuses created in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BonusSummary {
    /// Amount of those not `reversed`.
    pub total_distributed: Fixed2,
    /// All of them.
    pub total_count: i64,
    /// Those `unlocked`.
    pub unlocked: i64,
    /// Those `used`.
    pub used: i64,
    /// used / total_count, percent.
    pub utilization_rate: Fixed2,
}
