//! `services/` (docs/METRICS.md).

use serde::Serialize;
use utoipa::ToSchema;

use super::{Fixed2, Stamp};

/// P2P trading, crypto purchases and bill payments in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Services {
    /// Completed P2P deposit orders' total price.
    pub p2p_volume: Fixed2,
    /// Success bill transactions' amount.
    pub bill_payment_volume: Fixed2,
    /// Completed crypto purchases' total price.
    pub crypto_volume: Fixed2,
    /// Deposit orders (any status) + success bill transactions + crypto purchases (any
    /// status).
    pub total_service_transactions: i64,
    /// Success `airtime` amount.
    pub airtime_volume: Fixed2,
    /// Success `data` amount.
    pub data_volume: Fixed2,
    /// Success `cable_tv` + legacy `cable` amount.
    pub cable_volume: Fixed2,
    /// Success `electricity` amount.
    pub electricity_volume: Fixed2,
    /// Success `education` amount.
    pub education_volume: Fixed2,
    /// Every local date of the window.
    pub p2p_data: Vec<DailyP2p>,
    /// `Airtime`, `Data`, `Cable TV`, `Electricity`, `Education`, in that order.
    pub bill_payment_breakdown: Vec<BillVolume>,
    /// `P2P Trading`, `Crypto Purchase`, `Bill Payments`, in that order.
    pub service_usage: Vec<ServiceCount>,
    /// `P2P Trading`, `Crypto Purchase`, `Airtime`, `Data`, in that order.
    pub top_services: Vec<TopService>,
    /// Deposit orders in the window.
    pub p2p: P2pSummary,
    /// Crypto purchases in the window.
    pub crypto: CryptoSummary,
    /// Success bill transactions in the window.
    pub bills: BillsSummary,
    /// `period_days` and `generated_at`.
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// One local day of `p2p_data`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DailyP2p {
    /// Local date, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Completed deposit orders' total price that day.
    pub deposits: Fixed2,
    /// Completed withdraw orders' total price that day.
    pub withdrawals: Fixed2,
}

/// One `bill_payment_breakdown` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BillVolume {
    /// `Airtime`, `Data`, `Cable TV`, `Electricity` or `Education`.
    #[schema(pattern = "^(Airtime|Data|Cable TV|Electricity|Education)$")]
    pub category: String,
    /// Success amount.
    pub volume: Fixed2,
}

/// One `service_usage` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ServiceCount {
    /// `P2P Trading`, `Crypto Purchase` or `Bill Payments`.
    #[schema(pattern = "^(P2P Trading|Crypto Purchase|Bill Payments)$")]
    pub service: String,
    /// Orders or purchases of any status; success bill transactions.
    pub count: i64,
}

/// One `top_services` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TopService {
    /// `P2P Trading`, `Crypto Purchase`, `Airtime` or `Data`.
    #[schema(pattern = "^(P2P Trading|Crypto Purchase|Airtime|Data)$")]
    pub service_name: String,
    /// Orders, purchases or transactions of any status.
    pub usage_count: i64,
    /// Completed (success) amount.
    pub revenue: Fixed2,
    /// Completed (success) / all, percent.
    pub success_rate: Fixed2,
}

/// `p2p` of the services payload: deposit orders in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct P2pSummary {
    /// All orders (`paid` ones count only here).
    pub total_orders: i64,
    /// Completed.
    pub completed: i64,
    /// Pending.
    pub pending: i64,
    /// Cancelled.
    pub cancelled: i64,
    /// Completed orders' total price.
    pub total_volume: Fixed2,
    /// Deposit offers with `is_available` now.
    pub active_offers: i64,
    /// completed / total_orders, percent.
    pub completion_rate: Fixed2,
}

/// `crypto` of the services payload: purchases in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CryptoSummary {
    /// All purchases.
    pub total_purchases: i64,
    /// Completed.
    pub completed: i64,
    /// Pending.
    pub pending: i64,
    /// Failed.
    pub failed: i64,
    /// Completed purchases' total price.
    pub total_volume: Fixed2,
    /// completed / total_purchases, percent.
    pub success_rate: Fixed2,
    /// Completed purchases by `gasfee_crypto.network`, volume descending.
    pub by_network: Vec<NetworkVolume>,
}

/// One `by_network` item.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct NetworkVolume {
    /// `ETH`, `BNB`, `SOL`, `TON`, `TRON`, …
    pub network: String,
    /// Completed purchases.
    pub count: i64,
    /// Their total price.
    pub volume: Fixed2,
}

/// `bills` of the services payload: success bill transactions in the window.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BillsSummary {
    /// Count.
    pub total_transactions: i64,
    /// Amount sum.
    pub total_volume: Fixed2,
    /// `airtime` count.
    pub airtime_count: i64,
    /// `data` count.
    pub data_count: i64,
}
