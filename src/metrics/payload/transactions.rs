//! `transactions/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// Volumes, breakdowns, the daily trend and the newest rows of the window. A `status` filter
/// replaces the default "success" selection of the success-only fields; a `type` filter
/// restricts every field.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Transactions {
    /// Selected (default: success) transactions' amount sum.
    pub total_volume: Fixed2,
    /// Selected transactions' count.
    pub total_count: i64,
    /// Sum / count.
    pub average_transaction: Fixed2,
    /// All statuses in the window.
    pub summary: TransactionSummary,
    /// Selected transactions by category, total_amount descending, ties by name.
    pub by_category: Vec<CategoryTotal>,
    /// Selected transactions by tx_type, count descending.
    pub type_breakdown: Vec<TypeCount>,
    /// Selected transactions by tx_type, total_amount descending.
    pub by_type: Vec<TypeTotal>,
    /// All transactions by status, count descending.
    pub status_breakdown: Vec<StatusCount>,
    /// Selected transactions per local day, every date of the window.
    pub volume_over_time: Vec<DailyVolume>,
    /// The same list as `volume_over_time`.
    pub daily_trend: Vec<DailyVolume>,
    /// The newest 50 transactions in the window (created_at descending, then id descending).
    pub transactions: Vec<RecentTransaction>,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// `summary`: all statuses in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TransactionSummary {
    /// All transactions.
    pub total_transactions: i64,
    /// Success transactions (0 under a status filter other than success).
    pub successful: i64,
    /// Failed transactions.
    pub failed: i64,
    /// successful / total_transactions, percent.
    pub success_rate: Fixed2,
}

/// One `by_category` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CategoryTotal {
    /// Category as stored (`deposit`, `airtime`, …).
    pub category: String,
    /// Transactions.
    pub count: i64,
    /// Amount sum.
    pub total_amount: Fixed2,
}

/// One `type_breakdown` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TypeCount {
    /// `debit` or `credit`.
    #[serde(rename = "type")]
    pub tx_type: String,
    /// Transactions.
    pub count: i64,
}

/// One `by_type` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TypeTotal {
    /// `debit` or `credit`.
    #[serde(rename = "type")]
    pub tx_type: String,
    /// Transactions.
    pub count: i64,
    /// Amount sum.
    pub total_amount: Fixed2,
}

/// One `status_breakdown` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StatusCount {
    /// Status as stored (`success`, `pending`, `failed`).
    pub status: String,
    /// Transactions.
    pub count: i64,
}

/// One local day of `volume_over_time` / `daily_trend`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DailyVolume {
    /// Local date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Transactions that day.
    pub count: i64,
    /// Amount sum that day.
    pub volume: Fixed2,
}

/// One of the newest transactions.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RecentTransaction {
    /// Wallet transaction id.
    pub id: i64,
    /// RFC 3339 UTC with microseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The category.
    pub transaction_type: String,
    /// Amount.
    pub amount: Fixed2,
    /// Status as stored.
    pub status: String,
    /// The user's email.
    pub username: String,
    /// Reference, when there is one.
    pub reference: Option<String>,
}
