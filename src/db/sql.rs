//! A tiny query builder: SQL text plus its bound arguments, numbered for the dialect.
//!
//! Every value that comes from outside the code (window bounds, filters, limits) is bound,
//! never spliced into the text.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::Dialect;

/// One bound argument. `Any` carries only plain types, which is all we bind.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A 64-bit integer.
    Int(i64),
    /// Text, including instants in the dialect's text form.
    Text(String),
    /// Bytes (serialized user sets).
    Blob(Vec<u8>),
}

/// The column type of a value in [`Sql::json_rows`]. Exact values (numbers, dates) travel as
/// JSON strings and are cast by the database, never through a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    /// A JSON number that fits `i64`.
    Int,
    /// A JSON string.
    Text,
    /// A decimal number written as a JSON string.
    Numeric,
    /// A `YYYY-MM-DD` JSON string (kept as that text on SQLite).
    Date,
    /// A JSON `true` or `false` (1 or 0 on SQLite).
    Bool,
}

/// SQL text under construction with its arguments.
#[derive(Clone, Debug)]
pub struct Sql {
    dialect: Dialect,
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// An empty query for `dialect`.
    pub fn new(dialect: Dialect) -> Sql {
        Sql { dialect, text: String::new(), args: Vec::new() }
    }

    /// The dialect placeholders are rendered for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends literal SQL (never user input).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Binds an integer and returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.args.push(Arg::Int(value));
        self.dialect.placeholder(self.args.len())
    }

    /// Binds text and returns its placeholder.
    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.args.push(Arg::Text(value.into()));
        self.dialect.placeholder(self.args.len())
    }

    /// Binds text, or writes `NULL` for `None`, and returns what to put in the SQL.
    pub fn opt_text(&mut self, value: Option<String>) -> String {
        match value {
            Some(v) => self.text(v),
            None => "NULL".to_string(),
        }
    }

    /// Binds bytes and returns their placeholder.
    pub fn blob(&mut self, value: Vec<u8>) -> String {
        self.args.push(Arg::Blob(value));
        self.dialect.placeholder(self.args.len())
    }

    /// A local date as a `DATE` column value (SQLite stores dates as `YYYY-MM-DD` text).
    pub fn date(&mut self, value: chrono::NaiveDate) -> String {
        let p = self.text(value.format("%Y-%m-%d").to_string());
        match self.dialect {
            Dialect::Postgres => format!("CAST({p} AS DATE)"),
            Dialect::Sqlite => p,
        }
    }

    /// Binds an instant and returns a placeholder comparable with timestamp columns.
    pub fn ts(&mut self, at: DateTime<Utc>) -> String {
        self.args.push(self.dialect.ts_value(at));
        self.dialect.ts_placeholder(self.args.len())
    }

    /// Binds `rows` (a JSON array of arrays) as one argument and returns a derived table of
    /// them with columns `c0, c1, …` typed by `casts`: thousands of rows go in one statement
    /// with one argument, not an argument per value (which cost ~20 µs a value to bind).
    pub fn json_rows(&mut self, rows: serde_json::Value, casts: &[Cast]) -> String {
        let p = self.text(rows.to_string());
        let columns: Vec<String> = casts
            .iter()
            .enumerate()
            .map(|(i, cast)| match self.dialect {
                Dialect::Postgres => {
                    let ty = match cast {
                        Cast::Int => "BIGINT",
                        Cast::Text => "TEXT",
                        Cast::Numeric => "NUMERIC",
                        Cast::Date => "DATE",
                        Cast::Bool => "BOOLEAN",
                    };
                    format!("CAST(r->>{i} AS {ty}) AS c{i}")
                }
                Dialect::Sqlite => format!("json_extract(r.value, '$[{i}]') AS c{i}"),
            })
            .collect();
        let source = match self.dialect {
            Dialect::Postgres => format!("jsonb_array_elements(CAST({p} AS JSONB)) r"),
            Dialect::Sqlite => format!("json_each({p}) r"),
        };
        format!("(SELECT {} FROM {source}) rows", columns.join(", "))
    }

    /// The rendered SQL text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The bound arguments in placeholder order.
    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text);
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::Blob(v) => query.bind(v.as_slice()),
            };
        }
        query
    }
}

impl Sql {
    /// Runs a query and returns every row.
    pub async fn fetch_all(&self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        self.query().fetch_all(conn).await
    }

    /// Runs a query and hands each row to `each` as it arrives, so a large result (a store's
    /// user sets) is never held in memory twice.
    pub async fn for_each_row(
        &self,
        conn: &mut AnyConnection,
        mut each: impl FnMut(AnyRow) -> Result<(), sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        use futures_util::TryStreamExt;
        let mut rows = self.query().fetch(conn);
        while let Some(row) = rows.try_next().await? {
            each(row)?;
        }
        Ok(())
    }

    /// Runs a query that returns exactly one row.
    pub async fn fetch_one(&self, conn: &mut AnyConnection) -> Result<AnyRow, sqlx::Error> {
        self.query().fetch_one(conn).await
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&self, conn: &mut AnyConnection) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        self.query().execute(conn).await
    }
}

/// Parses an instant read through [`Dialect::ts_text`] (or stored by Django on SQLite).
///
/// Accepts `YYYY-MM-DD HH:MM:SS[.ffffff]`, with `T` as separator and a trailing `Z` or
/// `+00:00` tolerated, since hand-edited SQLite rows sometimes carry them.
pub fn parse_db_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let trimmed = text.trim().trim_end_matches('Z').trim_end_matches("+00:00").trim_end_matches("+00");
    let normalised = trimmed.replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&normalised, "%Y-%m-%d %H:%M:%S%.f").ok().map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn placeholders_follow_the_dialect() {
        let mut pg = Sql::new(Dialect::Postgres);
        assert_eq!(pg.int(1), "$1");
        let at = Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap();
        assert_eq!(pg.ts(at), "to_timestamp(CAST($2 AS DOUBLE PRECISION) / 1000000)");
        assert_eq!(pg.args()[1], Arg::Int(at.timestamp_micros()));
        let mut lite = Sql::new(Dialect::Sqlite);
        assert_eq!(lite.text("x"), "?1");
        assert_eq!(lite.ts(at), "?2");
        assert_eq!(lite.args()[1], Arg::Text("2026-06-15 10:00:00".into()));
    }

    #[test]
    fn db_timestamps_parse_with_and_without_fraction() {
        let whole = parse_db_timestamp("2026-06-15 10:00:00").unwrap();
        assert_eq!(whole, Utc.with_ymd_and_hms(2026, 6, 15, 10, 0, 0).unwrap());
        let micro = parse_db_timestamp("2026-06-15 10:00:00.000123").unwrap();
        assert_eq!(micro.timestamp_subsec_micros(), 123);
        assert!(parse_db_timestamp("2026-06-15T10:00:00+00:00").is_some());
        assert!(parse_db_timestamp("yesterday").is_none());
    }
}
