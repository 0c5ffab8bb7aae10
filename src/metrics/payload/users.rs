//! `users/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// User totals, growth, segmentation, referrers and engagement.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Users {
    /// All users.
    pub total_users: i64,
    /// Users who joined in the window.
    pub new_users: i64,
    /// Distinct users with any transaction in the window.
    pub active_users: i64,
    /// Users with `is_email_verified`.
    pub verified_users: i64,
    /// Users with `is_merchant`.
    pub merchant_count: i64,
    /// total − merchants.
    pub regular_user_count: i64,
    /// active / total, percent.
    pub retention_rate: Fixed2,
    /// active / period_days.
    pub avg_daily_users: Fixed2,
    /// Every local date of the window.
    pub user_growth: Vec<DailyUsers>,
    /// `Merchants`, `Regular Users`, `Verified`, `Unverified`, in that order.
    pub user_segmentation: Vec<Segment>,
    /// Top 10 referrers by users referred who joined in the window (ties: lower referrer id).
    pub top_referrers: Vec<Referrer>,
    /// The totals again, with wallets and rates.
    pub summary: UsersSummary,
    /// Engagement.
    pub engagement: Engagement,
    /// Every local date of the window.
    pub daily_registrations: Vec<DailyCount>,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// One local day of `user_growth`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DailyUsers {
    /// Local date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Users who joined up to the end of that day.
    pub total_users: i64,
    /// Users who joined that day.
    pub new_users: i64,
    /// Distinct users with a transaction that day.
    pub active_users: i64,
}

/// One `user_segmentation` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Segment {
    /// `Merchants`, `Regular Users`, `Verified` or `Unverified`.
    #[schema(pattern = "^(Merchants|Regular Users|Verified|Unverified)$")]
    pub segment: String,
    /// Users in it.
    pub count: i64,
}

/// One `top_referrers` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Referrer {
    /// The referrer's email.
    pub username: String,
    /// Users they referred who joined in the window.
    pub referral_count: i64,
    /// Of those, the ones with `is_active`.
    pub active_referrals: i64,
    /// Revenue of those referred users in the window.
    pub total_revenue: Fixed2,
}

/// `summary` of the users payload.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UsersSummary {
    /// All users.
    pub total_users: i64,
    /// Joined in the window.
    pub new_users: i64,
    /// With `is_email_verified`.
    pub verified_users: i64,
    /// With `is_merchant`.
    pub merchants: i64,
    /// Active in the window.
    pub active_users: i64,
    /// Rows of `wallet_wallet`.
    pub users_with_wallets: i64,
    /// verified / total, percent.
    pub verification_rate: Fixed2,
    /// active / total, percent.
    pub activation_rate: Fixed2,
}

/// `engagement` of the users payload.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Engagement {
    /// Success transactions / distinct users with a success transaction, in the window.
    pub avg_transactions_per_user: Fixed2,
}

/// One local day of `daily_registrations`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DailyCount {
    /// Local date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Users who joined that day.
    pub count: i64,
}
