//! Raw rows for `reports/export/?type=…` (SPEC §4.7): transactions or users of a window.

pub use super::facts::tx::TxRow;
use super::facts::tx::{recent_transactions, TxFilter};
use super::facts::users::recent_users;
pub use super::facts::users::UserRow;
use super::source::Source;
use super::window::Window;
use super::MetricError;

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

/// Writes a CSV table: a header row, then the rows. Numbers are written plainly; text cells
/// that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR) get a `'`.
pub fn csv_table(header: &[&str], rows: &[Vec<serde_json::Value>]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header)?;
    for row in rows {
        out.write_record(row.iter().map(csv_cell))?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn csv_cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => escape_formula(text),
        serde_json::Value::Null => String::new(),
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

/// Export rows as JSON (`{"transactions": [...], "count"}`) or CSV.
pub trait ExportRows {
    /// The JSON body.
    fn to_json(&self) -> serde_json::Value;
    /// The CSV body with its header row.
    fn to_csv(&self) -> Result<Vec<u8>, csv::Error>;
}

impl ExportRows for [TxRow] {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "transactions": self.iter().map(tx_object).collect::<Vec<_>>(), "count": self.len() })
    }

    fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let header = ["ID", "User Email", "Type", "Category", "Amount", "Status", "Created At"];
        csv_table(&header, &self.iter().map(tx_fields).collect::<Vec<_>>())
    }
}

impl ExportRows for [UserRow] {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "users": self.iter().map(user_object).collect::<Vec<_>>(), "count": self.len() })
    }

    fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let header = ["ID", "Email", "Is Merchant", "Email Verified", "Date Joined"];
        csv_table(&header, &self.iter().map(user_fields).collect::<Vec<_>>())
    }
}

fn tx_fields(t: &TxRow) -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!(t.id),
        json!(t.email),
        json!(t.tx_type),
        json!(t.category),
        super::num::num(super::num::kobo(t.kobo)),
        json!(t.status),
        json!(crate::time::rfc3339_micros(t.created_at)),
    ]
}

fn tx_object(t: &TxRow) -> serde_json::Value {
    let keys = ["id", "user_email", "type", "category", "amount", "status", "created_at"];
    keys.iter().map(|k| k.to_string()).zip(tx_fields(t)).collect::<serde_json::Map<_, _>>().into()
}

fn user_fields(u: &UserRow) -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!(u.id),
        json!(u.email),
        json!(u.is_merchant),
        json!(u.is_email_verified),
        json!(crate::time::rfc3339_micros(u.date_joined)),
    ]
}

fn user_object(u: &UserRow) -> serde_json::Value {
    let keys = ["id", "email", "is_merchant", "is_email_verified", "date_joined"];
    keys.iter().map(|k| k.to_string()).zip(user_fields(u)).collect::<serde_json::Map<_, _>>().into()
}

/// `transactions_YYYYMMDD.csv` / `users_YYYYMMDD.json`, dated with today's local date.
pub fn export_filename(kind: &str, today: chrono::NaiveDate, format: &str) -> String {
    format!("{kind}_{}.{format}", today.format("%Y%m%d"))
}
