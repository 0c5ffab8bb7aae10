//! `reports/export/` JSON bodies (docs/METRICS.md): raw rows and the metric report. The CSV forms
//! carry the same cells in the same order.

use serde::Serialize;
use strum::{EnumString, IntoStaticStr};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::Fixed2;

/// `type=transactions`: the window's transactions, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TransactionsExport {
    /// At most `limit` rows.
    pub transactions: Vec<ExportedTransaction>,
    /// Rows returned.
    pub count: usize,
}

/// One exported transaction.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ExportedTransaction {
    /// Wallet transaction id.
    pub id: i64,
    /// The owner's email.
    pub user_email: String,
    /// `debit` or `credit`.
    #[serde(rename = "type")]
    pub tx_type: String,
    /// Category as stored.
    pub category: String,
    /// Amount.
    pub amount: Fixed2,
    /// Status as stored.
    pub status: String,
    /// RFC 3339 UTC with microseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// `type=users`: users who joined in the window, newest first (ties: id descending).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UsersExport {
    /// At most `limit` rows.
    pub users: Vec<ExportedUser>,
    /// Rows returned.
    pub count: usize,
}

/// One exported user.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ExportedUser {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Merchant account.
    pub is_merchant: bool,
    /// Email verified.
    pub is_email_verified: bool,
    /// RFC 3339 UTC with microseconds.
    #[schema(format = DateTime)]
    pub date_joined: String,
}

/// How an export is written (`format=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ExportFormat {
    /// `application/json`.
    Json,
    /// `text/csv; charset=utf-8`, one header row.
    Csv,
}

impl ExportFormat {
    /// The wire name, also the file extension.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The answer's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Which raw rows an export holds (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ExportType {
    /// Wallet transactions created in the window.
    Transactions,
    /// Users who joined in the window.
    Users,
}

impl ExportType {
    /// The wire name, also the file name's start.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Row granularity of a metric report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema, EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ReportType {
    /// One row per local day.
    Daily,
    /// One row per week starting Monday.
    Weekly,
    /// One row per local month.
    Monthly,
    /// One row for the whole range.
    Custom,
}

/// A metric group a report can include, in the order its columns appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema, EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum MetricGroup {
    /// transactions, successful_transactions, transaction_volume, success_rate
    Transactions,
    /// revenue_total, revenue_deposits, revenue_p2p, revenue_crypto
    Revenue,
    /// new_users, active_users
    Users,
    /// bill_payment_volume, p2p_volume, crypto_volume
    Services,
    /// arpu, rewards_distributed
    Kpis,
}

/// `report_type=…`: the chosen metric groups per local day, week or month of a calendar range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MetricReport {
    /// Granularity.
    pub report_type: ReportType,
    /// First date of the range, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date_from: String,
    /// Last date of the range, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date_to: String,
    /// The groups included, in column order.
    pub metrics: Vec<MetricGroup>,
    /// One row per bucket, ascending.
    pub rows: Vec<ReportRow>,
}

/// One bucket of a report: `period` and the columns of each selected group (a group not
/// selected has no columns).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReportRow {
    /// The bucket's start date, `YYYY-MM-DD` (a first week or month may start before
    /// `date_from`; it counts only dates inside the range).
    pub period: String,
    /// Group `transactions`.
    #[serde(flatten)]
    pub transactions: Option<TransactionColumns>,
    /// Group `revenue`.
    #[serde(flatten)]
    pub revenue: Option<RevenueColumns>,
    /// Group `users`.
    #[serde(flatten)]
    pub users: Option<UserColumns>,
    /// Group `services`.
    #[serde(flatten)]
    pub services: Option<ServiceColumns>,
    /// Group `kpis`.
    #[serde(flatten)]
    pub kpis: Option<KpiColumns>,
}

/// Columns of group `transactions`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TransactionColumns {
    /// All transactions in the bucket.
    pub transactions: i64,
    /// Success transactions.
    pub successful_transactions: i64,
    /// Success amount.
    pub transaction_volume: Fixed2,
    /// successful / all, percent.
    pub success_rate: Fixed2,
}

/// Columns of group `revenue`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RevenueColumns {
    /// deposits + p2p + crypto.
    pub revenue_total: Fixed2,
    /// Non-P2P success deposits.
    pub revenue_deposits: Fixed2,
    /// Completed P2P deposit orders.
    pub revenue_p2p: Fixed2,
    /// Completed crypto purchases.
    pub revenue_crypto: Fixed2,
}

/// Columns of group `users`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UserColumns {
    /// Users who joined in the bucket.
    pub new_users: i64,
    /// Distinct users with a transaction in the bucket.
    pub active_users: i64,
}

/// Columns of group `services`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ServiceColumns {
    /// Success bill transactions' amount.
    pub bill_payment_volume: Fixed2,
    /// Completed P2P deposit orders' total price.
    pub p2p_volume: Fixed2,
    /// Completed crypto purchases' total price.
    pub crypto_volume: Fixed2,
}

/// Columns of group `kpis`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KpiColumns {
    /// Revenue / active users of the bucket.
    pub arpu: Fixed2,
    /// Bonuses created in the bucket, not reversed, amount.
    pub rewards_distributed: Fixed2,
}

/// A row's schema: `period` (required) and every group's columns, present only when the group
/// was selected. Written out rather than derived: serde's flattened optional groups would
/// otherwise be described as required alternatives.
impl PartialSchema for ReportRow {
    fn schema() -> RefOr<Schema> {
        let mut row = ObjectBuilder::new()
            .description(Some("One bucket: `period` and the columns of each selected group."))
            .property(
                "period",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                    .description(Some(
                        "The bucket's start date (a first week or month may start before date_from).",
                    )),
            )
            .required("period");
        for group in [
            TransactionColumns::schema(),
            RevenueColumns::schema(),
            UserColumns::schema(),
            ServiceColumns::schema(),
            KpiColumns::schema(),
        ] {
            if let RefOr::T(Schema::Object(columns)) = group {
                for (name, column) in columns.properties {
                    row = row.property(name, column);
                }
            }
        }
        row.into()
    }
}

impl ToSchema for ReportRow {}
