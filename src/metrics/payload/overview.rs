//! `dashboard/overview/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// The headline numbers with their trends against the previous window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Overview {
    /// Wallet transactions in the window, any status.
    pub total_transactions: i64,
    /// Success transactions in the window.
    pub successful_transactions: i64,
    /// Revenue in the window: non-P2P success deposits + completed P2P deposit orders +
    /// completed crypto purchases.
    pub total_revenue: Fixed2,
    /// Distinct users with any transaction in the window.
    pub active_users: i64,
    /// Completed P2P deposit orders' total price in the window.
    pub p2p_volume: Fixed2,
    /// Trend of the success count against the previous window, percent.
    pub transactions_trend: Fixed2,
    /// Trend of revenue, percent.
    pub revenue_trend: Fixed2,
    /// Trend of active users, percent.
    pub users_trend: Fixed2,
    /// Trend of P2P volume, percent.
    pub p2p_trend: Fixed2,
    /// Success transactions / all transactions in the window, percent.
    pub success_rate: Fixed2,
    /// Success transactions' amount in bill categories.
    pub bill_payments_volume: Fixed2,
    /// Completed crypto purchases' total price.
    pub crypto_volume: Fixed2,
    /// Bonuses created in the window and not reversed, amount.
    pub rewards_distributed: Fixed2,
    /// User totals.
    pub users: OverviewUsers,
    /// Current wallet sums.
    pub wallet: OverviewWallet,
    /// Success transactions in the window.
    pub transactions: OverviewTransactions,
    /// Revenue in the window.
    pub revenue: OverviewRevenue,
    /// Completed P2P deposit orders in the window.
    pub p2p: OverviewP2p,
    /// Completed crypto purchases in the window.
    pub crypto: OverviewCrypto,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// `users` of the overview.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewUsers {
    /// All users now.
    pub total: i64,
    /// Users who joined in the window.
    pub new: i64,
    /// new / (total − new), percent.
    pub growth_rate: Fixed2,
}

/// `wallet` of the overview: sums over all wallets now.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewWallet {
    /// Sum of balances.
    pub total_balance: Fixed2,
    /// Sum of locked balances.
    pub total_locked: Fixed2,
    /// Balance − locked.
    pub available_balance: Fixed2,
}

/// `transactions` of the overview: success transactions in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewTransactions {
    /// Amount sum.
    pub total_volume: Fixed2,
    /// Count.
    pub total_count: i64,
    /// Sum / count.
    pub average_transaction: Fixed2,
}

/// `revenue` of the overview.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewRevenue {
    /// = `total_revenue`.
    pub total: Fixed2,
    /// total / period_days.
    pub daily_average: Fixed2,
}

/// `p2p` of the overview: completed deposit orders in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewP2p {
    /// Count.
    pub orders: i64,
    /// Total price sum.
    pub volume: Fixed2,
}

/// `crypto` of the overview: completed purchases in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OverviewCrypto {
    /// Count.
    pub purchases: i64,
    /// Total price sum.
    pub volume: Fixed2,
}
