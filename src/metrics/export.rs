//! Raw rows for `reports/export/?type=…` (docs/METRICS.md): transactions or users of a window.

use serde::Serialize;
use serde_json::Value;

pub use super::facts::tx::TxRow;
use super::facts::tx::{recent_transactions, TxFilter};
use super::facts::users::recent_users;
pub use super::facts::users::UserRow;
use super::num::{kobo, num};
use super::payload::export::{
    ExportFormat, ExportType, ExportedTransaction, ExportedUser, TransactionsExport, UsersExport,
};
use super::source::Source;
use super::window::Window;
use super::MetricError;
use crate::time::rfc3339_micros;

/// The transactions of the window, newest first, at most `limit`.
pub async fn export_transactions(
    src: &mut Source<'_>,
    w: &Window,
    limit: i64,
) -> Result<Vec<TxRow>, MetricError> {
    Ok(recent_transactions(src, w.current, &TxFilter::default(), limit).await?)
}

/// The users who joined in the window, newest first (ties: id descending), at most `limit`.
pub async fn export_users(src: &mut Source<'_>, w: &Window, limit: i64) -> Result<Vec<UserRow>, MetricError> {
    Ok(recent_users(src, w.current, limit).await?)
}

/// Writes a CSV table: the header row, then one line per item with the item's JSON fields in
/// order (the CSV and the JSON of an export are the same typed rows). Numbers are written
/// plainly; text cells that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`,
/// tab or CR) get a `'`.
pub fn csv_table<T: Serialize>(header: &[&str], items: &[T]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header)?;
    for item in items {
        let Value::Object(fields) = serde_json::to_value(item).map_err(std::io::Error::other)? else {
            return Err(std::io::Error::other("an export row is not a JSON object").into());
        };
        debug_assert_eq!(fields.len(), header.len(), "every column has a cell");
        out.write_record(fields.values().map(csv_cell))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn csv_cell(value: &Value) -> String {
    match value {
        Value::String(text) => escape_formula(text),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Neutralises spreadsheet formula injection in a text cell.
pub fn escape_formula(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Export rows as their typed JSON body or as CSV.
pub trait ExportRows {
    /// The JSON body's type.
    type Body: Serialize;
    /// The JSON body (`{"transactions": [...], "count"}` or `{"users": [...], "count"}`).
    fn body(&self) -> Self::Body;
    /// The CSV body with its header row.
    fn to_csv(&self) -> Result<Vec<u8>, csv::Error>;
    /// The JSON body as a tree.
    fn to_json(&self) -> Value {
        serde_json::to_value(self.body()).expect("export rows hold only strings, integers and decimals")
    }
    /// The bytes served in `format`: the CSV table, or the JSON body.
    fn encode(&self, format: ExportFormat) -> Result<Vec<u8>, csv::Error> {
        match format {
            ExportFormat::Csv => self.to_csv(),
            ExportFormat::Json => Ok(serde_json::to_vec(&self.body())
                .expect("export rows hold only strings, integers and decimals")),
        }
    }
}

impl ExportRows for [TxRow] {
    type Body = TransactionsExport;

    fn body(&self) -> TransactionsExport {
        TransactionsExport {
            transactions: self.iter().map(exported_transaction).collect(),
            count: self.len(),
        }
    }

    fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let header = ["ID", "User Email", "Type", "Category", "Amount", "Status", "Created At"];
        csv_table(&header, &self.body().transactions)
    }
}

impl ExportRows for [UserRow] {
    type Body = UsersExport;

    fn body(&self) -> UsersExport {
        UsersExport { users: self.iter().map(exported_user).collect(), count: self.len() }
    }

    fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let header = ["ID", "Email", "Is Merchant", "Email Verified", "Date Joined"];
        csv_table(&header, &self.body().users)
    }
}

fn exported_transaction(t: &TxRow) -> ExportedTransaction {
    ExportedTransaction {
        id: t.id,
        user_email: t.email.clone(),
        tx_type: t.tx_type.clone(),
        category: t.category.clone(),
        amount: num(kobo(t.kobo)),
        status: t.status.clone(),
        created_at: rfc3339_micros(t.created_at),
    }
}

fn exported_user(u: &UserRow) -> ExportedUser {
    ExportedUser {
        id: u.id,
        email: u.email.clone(),
        is_merchant: u.is_merchant,
        is_email_verified: u.is_email_verified,
        date_joined: rfc3339_micros(u.date_joined),
    }
}

/// `transactions_YYYYMMDD.csv` / `users_YYYYMMDD.json`, dated with today's local date.
pub fn export_filename(kind: ExportType, today: chrono::NaiveDate, format: ExportFormat) -> String {
    format!("{}_{}.{}", kind.as_str(), today.format("%Y%m%d"), format.as_str())
}
