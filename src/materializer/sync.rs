//! Bringing a keyed summary table to a run's rows by writing only what differs: a run changes a
//! few days (today, the settle window, the days a change touched) out of two years of them, and
//! rewriting every unchanged row would cost more than the rest of the write. A row's
//! `computed_at` and `run_id` are therefore those of the run that last changed it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{AnyConnection, Row as _};

use crate::db::{Cast, Dialect, Sql};

/// A table's columns in order, the first `key` of them its primary key; every table written this
/// way also has `computed_at` and `run_id`.
pub(crate) struct Table<'a> {
    /// The table's name.
    pub name: &'a str,
    /// `(column, type)` in the order of each row's values.
    pub columns: &'a [(&'a str, Cast)],
    /// How many leading columns form the primary key.
    pub key: usize,
}

/// Makes `table` hold exactly `rows` (values in column order): deletes stored rows whose key is
/// not among them and upserts those that are new or differ, stamped with the run. Returns how
/// many rows were written or deleted.
pub(crate) async fn sync_rows(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &Table<'_>,
    rows: Vec<Vec<Value>>,
    run_id: i64,
    computed_at: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let names: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let casts: Vec<Cast> = table.columns.iter().map(|(_, t)| *t).collect();
    let mut q = Sql::new(dialect);
    let read: Vec<String> = names.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    q.push(&format!("SELECT {} FROM {}", read.join(", "), table.name));
    let mut stored: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    for row in q.fetch_all(conn).await? {
        let values: Vec<String> = (0..names.len())
            .map(|i| row.try_get::<String, _>(i).map(|t| canonical(&t)))
            .collect::<Result<_, _>>()?;
        stored.insert(values[..table.key].to_vec(), values);
    }
    let mut upserts: Vec<Value> = Vec::new();
    for row in rows {
        let text: Vec<String> = row.iter().map(|v| canonical(&as_text(v))).collect();
        if stored.remove(&text[..table.key]).as_ref() != Some(&text) {
            upserts.push(Value::Array(row));
        }
    }
    let changed = upserts.len() + stored.len();
    if !stored.is_empty() {
        let gone: Vec<Value> = stored.into_values().map(|v| Value::from(v[..table.key].to_vec())).collect();
        let mut q = Sql::new(dialect);
        let rows = q.json_rows(gone.into(), &casts[..table.key]);
        let (keys, picks) = key_lists(&names[..table.key]);
        q.push(&format!("DELETE FROM {} WHERE ({keys}) IN (SELECT {picks} FROM {rows})", table.name));
        q.execute(conn).await?;
    }
    if upserts.is_empty() {
        return Ok(changed);
    }
    let mut q = Sql::new(dialect);
    let rows = q.json_rows(upserts.into(), &casts);
    let (at, run) = (q.ts(computed_at), q.int(run_id));
    let picks: Vec<String> = (0..names.len()).map(|i| format!("c{i}")).collect();
    let set: Vec<String> = names[table.key..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
    // `WHERE true`: SQLite reads an ON CONFLICT right after a SELECT's FROM as a join clause.
    q.push(&format!(
        "INSERT INTO {table} ({columns}, computed_at, run_id) SELECT {picks}, {at}, {run} FROM {rows} WHERE true \
         ON CONFLICT ({keys}) DO UPDATE SET {set}, computed_at = excluded.computed_at, run_id = excluded.run_id",
        table = table.name,
        columns = names.join(", "),
        picks = picks.join(", "),
        keys = names[..table.key].join(", "),
        set = set.join(", "),
    ));
    q.execute(conn).await?;
    Ok(changed)
}

/// `(k1, k2)` and `c0, c1` for a key.
fn key_lists(keys: &[&str]) -> (String, String) {
    let picks: Vec<String> = (0..keys.len()).map(|i| format!("c{i}")).collect();
    (keys.join(", "), picks.join(", "))
}

/// A JSON value as the text a database would give it back as.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One spelling per value, whichever database and type wrote it: booleans as `1`/`0`
/// (PostgreSQL says `true`, SQLite `1`), numbers without trailing zeros (`12.50` in a
/// `numeric(20,2)`, `12.5` from SQLite's NUMERIC affinity).
fn canonical(text: &str) -> String {
    match text {
        "true" | "t" => "1".to_string(),
        "false" | "f" => "0".to_string(),
        _ => match text.parse::<Decimal>() {
            Ok(d) => d.normalize().to_string(),
            Err(_) => text.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn values_compare_equal_whichever_database_spelled_them() {
        assert_eq!(canonical("12.50"), canonical("12.5"));
        assert_eq!(canonical("0.00"), canonical("0"));
        assert_eq!(canonical("true"), canonical("1"));
        assert_eq!(canonical("f"), canonical("0"));
        assert_ne!(canonical("12.51"), canonical("12.5"));
        assert_eq!(canonical("2026-11-03"), "2026-11-03");
        assert_eq!(canonical("week"), "week");
    }
}
