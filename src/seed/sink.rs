//! Bulk writers for generated platform rows: PostgreSQL `COPY … FROM STDIN` and SQLite batched
//! multi-row `INSERT`s inside one transaction, behind one interface.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use crate::db::{Db, Dialect};
use crate::time::django_sqlite_text;

/// One value of a generated row.
#[derive(Clone, Debug)]
pub enum Field {
    /// An integer (ids, counts).
    Int(i64),
    /// Text.
    Text(String),
    /// A static text.
    Str(&'static str),
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An instant.
    Ts(DateTime<Utc>),
    /// Money in kobo, written as a two-decimal number.
    Money(i64),
}

/// A platform table being filled.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// Columns in row order.
    pub columns: &'static [&'static str],
}

/// Rows per flush for PostgreSQL (one COPY statement each) and per INSERT for SQLite.
const PG_FLUSH_BYTES: usize = 4 << 20;
// sqlx looks parameters up by name, linearly: small statements keep that cost flat.
const SQLITE_PARAMS_PER_INSERT: usize = 1_000;

enum Backend {
    Postgres { conn: PgConnection },
    Sqlite { conn: sqlx::pool::PoolConnection<sqlx::Any> },
}

/// Buffers rows per table and writes them in bulk.
pub struct Sink {
    backend: Backend,
    buffers: Vec<(Table, Buffer)>,
}

enum Buffer {
    Copy(Vec<u8>),
    Rows(Vec<Vec<Field>>),
}

impl Sink {
    /// Opens a sink on `db`. Everything is written in one transaction committed by
    /// [`Sink::finish`], so a failed seed leaves the tables as they were.
    pub async fn open(db: &Db, url: &str) -> Result<Sink, sqlx::Error> {
        let backend = match db.dialect {
            Dialect::Postgres => {
                let mut conn = PgConnection::connect(url).await?;
                sqlx::query("BEGIN").execute(&mut conn).await?;
                Backend::Postgres { conn }
            }
            Dialect::Sqlite => {
                let mut conn = db.pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                Backend::Sqlite { conn }
            }
        };
        Ok(Sink { backend, buffers: Vec::new() })
    }

    /// Queues one row of `table`, flushing the table's buffer when it is large.
    pub async fn push(&mut self, table: Table, row: Vec<Field>) -> Result<(), sqlx::Error> {
        let index = match self.buffers.iter().position(|(t, _)| t.name == table.name) {
            Some(i) => i,
            None => {
                let empty = match self.backend {
                    Backend::Postgres { .. } => Buffer::Copy(Vec::with_capacity(PG_FLUSH_BYTES + 4096)),
                    Backend::Sqlite { .. } => Buffer::Rows(Vec::new()),
                };
                self.buffers.push((table, empty));
                self.buffers.len() - 1
            }
        };
        let full = match &mut self.buffers[index].1 {
            Buffer::Copy(bytes) => {
                encode_copy_row(bytes, &row);
                bytes.len() >= PG_FLUSH_BYTES
            }
            Buffer::Rows(rows) => {
                rows.push(row);
                rows.len() * table.columns.len() >= SQLITE_PARAMS_PER_INSERT
            }
        };
        if full {
            self.flush(index).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, index: usize) -> Result<(), sqlx::Error> {
        let (table, buffer) = &mut self.buffers[index];
        match (&mut self.backend, buffer) {
            (Backend::Postgres { conn }, Buffer::Copy(bytes)) => {
                if bytes.is_empty() {
                    return Ok(());
                }
                let statement = format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "));
                let mut copy = conn.copy_in_raw(&statement).await?;
                copy.send(bytes.as_slice()).await?;
                copy.finish().await?;
                bytes.clear();
            }
            (Backend::Sqlite { conn }, Buffer::Rows(rows)) => {
                if rows.is_empty() {
                    return Ok(());
                }
                let width = table.columns.len();
                let mut text = format!("INSERT INTO {} ({}) VALUES ", table.name, table.columns.join(", "));
                for r in 0..rows.len() {
                    text.push_str(if r == 0 { "(" } else { ", (" });
                    for c in 0..width {
                        text.push_str(&format!("{}?{}", if c == 0 { "" } else { ", " }, r * width + c + 1));
                    }
                    text.push(')');
                }
                let mut query = sqlx::query(&text);
                for field in rows.iter().flatten() {
                    query = match field {
                        Field::Int(v) => query.bind(*v),
                        Field::Text(v) => query.bind(v.clone()),
                        Field::Str(v) => query.bind(*v),
                        Field::Null => query.bind(Option::<i64>::None),
                        Field::Bool(v) => query.bind(i64::from(*v)),
                        Field::Ts(at) => query.bind(django_sqlite_text(*at)),
                        Field::Money(k) => query.bind(money_text(*k)),
                    };
                }
                query.execute(&mut **conn).await?;
                rows.clear();
            }
            _ => unreachable!("buffers match their backend"),
        }
        Ok(())
    }

    /// Flushes every buffer in table creation order, commits (SQLite), and on PostgreSQL moves
    /// each identity sequence past the ids written so the platform's own inserts keep working.
    pub async fn finish(mut self, order: &[Table]) -> Result<(), sqlx::Error> {
        for table in order {
            if let Some(i) = self.buffers.iter().position(|(t, _)| t.name == table.name) {
                self.flush(i).await?;
            }
        }
        match self.backend {
            Backend::Postgres { mut conn } => {
                for table in order {
                    let fix = format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE((SELECT MAX(id) FROM {0}), 0) + 1, false)",
                        table.name
                    );
                    sqlx::query(&fix).execute(&mut conn).await?;
                }
                sqlx::query("COMMIT").execute(&mut conn).await?;
                for table in order {
                    sqlx::query(&format!("ANALYZE {}", table.name)).execute(&mut conn).await?;
                }
                conn.close().await?;
            }
            Backend::Sqlite { mut conn } => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                sqlx::query("ANALYZE").execute(&mut *conn).await?;
            }
        }
        Ok(())
    }
}

impl Sink {
    /// Abandons everything written so far.
    pub async fn abort(self) {
        match self.backend {
            Backend::Postgres { mut conn } => {
                let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
            }
            Backend::Sqlite { mut conn } => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            }
        }
    }
}

fn money_text(kobo: i64) -> String {
    let sign = if kobo < 0 { "-" } else { "" };
    let abs = kobo.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn encode_copy_row(out: &mut Vec<u8>, row: &[Field]) {
    use std::io::Write;
    for (i, field) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match field {
            Field::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Field::Text(v) => escape_copy(out, v),
            Field::Str(v) => escape_copy(out, v),
            Field::Null => out.extend_from_slice(b"\\N"),
            Field::Bool(v) => out.push(if *v { b't' } else { b'f' }),
            Field::Ts(at) => {
                let _ = write!(out, "{}", at.format("%Y-%m-%d %H:%M:%S%.6f+00"));
            }
            Field::Money(k) => out.extend_from_slice(money_text(*k).as_bytes()),
        }
    }
    out.push(b'\n');
}

fn escape_copy(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_text_is_exact() {
        assert_eq!(money_text(123456), "1234.56");
        assert_eq!(money_text(5), "0.05");
        assert_eq!(money_text(-150), "-1.50");
    }

    #[test]
    fn copy_rows_escape_tabs_and_nulls() {
        let mut out = Vec::new();
        encode_copy_row(
            &mut out,
            &[Field::Int(1), Field::Text("a\tb".into()), Field::Null, Field::Bool(true)],
        );
        assert_eq!(out, b"1\ta\\tb\t\\N\tt\n");
    }
}
