//! The few places where PostgreSQL and SQLite SQL differ, rendered in one spot.

use chrono::{DateTime, Utc};

use super::sql::{Arg, Sql};
use crate::time::OffsetPlan;

/// Which database a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `timestamptz` columns, `numeric` money, `$1` placeholders.
    Postgres,
    /// SQLite: Django's UTC text timestamps, NUMERIC-affinity money, `?1` placeholders.
    Sqlite,
}

/// How rows are grouped in time: by local day, ISO week (Monday), local month, or not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// One group for the whole range (key `''`).
    Whole,
    /// Local calendar day (key `YYYY-MM-DD`).
    Day,
    /// Local week starting Monday (key = the Monday, `YYYY-MM-DD`).
    Week,
    /// Local month (key = the first of the month, `YYYY-MM-DD`).
    Month,
}

impl Dialect {
    /// Recognises the URL scheme; `None` for anything else.
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else {
            None
        }
    }

    /// The placeholder for the `n`-th (1-based) parameter.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        }
    }

    /// A placeholder typed as an instant comparable with a `created_at` column.
    ///
    /// PostgreSQL gets the instant as integer microseconds through `to_timestamp`, which is
    /// immutable: the planner folds it into a constant. (A text-to-`timestamptz` cast is only
    /// stable, so it would be re-parsed for every row scanned.) SQLite compares Django's text
    /// form directly, so its index on the column is still used.
    pub(crate) fn ts_placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("to_timestamp(CAST(${n} AS DOUBLE PRECISION) / 1000000)"),
            Dialect::Sqlite => format!("?{n}"),
        }
    }

    /// The bound value for an instant in the form [`Dialect::ts_placeholder`] expects.
    pub(crate) fn ts_value(self, at: DateTime<Utc>) -> Arg {
        match self {
            Dialect::Postgres => Arg::Int(at.timestamp_micros()),
            Dialect::Sqlite => Arg::Text(crate::time::django_sqlite_text(at)),
        }
    }

    /// An instant column read back as `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC text.
    pub fn ts_text(self, column: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
            }
            Dialect::Sqlite => format!("CAST({column} AS TEXT)"),
        }
    }

    /// Exact sum of a decimal money column as an integer number of kobo (a `BIGINT`).
    ///
    /// PostgreSQL sums `numeric` exactly, so the total is converted once. SQLite's decimals
    /// may be integer, real or text, so each value is rounded to kobo before summing and the
    /// total never touches floats. `condition` restricts the rows summed (`None` for all).
    pub fn kobo_sum(self, column: &str, condition: Option<&str>) -> String {
        let value = match self {
            Dialect::Postgres => column.to_string(),
            Dialect::Sqlite => format!("CAST(ROUND({column} * 100) AS BIGINT)"),
        };
        let term = match condition {
            Some(cond) => format!("CASE WHEN {cond} THEN {value} END"),
            None => value,
        };
        match self {
            Dialect::Postgres => format!("CAST(COALESCE(SUM({term}), 0) * 100 AS BIGINT)"),
            Dialect::Sqlite => format!("CAST(COALESCE(SUM({term}), 0) AS BIGINT)"),
        }
    }

    /// The integer values of `expr` in a group as one comma-separated text (NULLs skipped,
    /// NULL when there are none): a day's user ids come back as one row instead of thousands.
    pub fn id_list(self, expr: &str) -> String {
        match self {
            Dialect::Postgres => format!("string_agg(CAST({expr} AS TEXT), ',')"),
            Dialect::Sqlite => format!("group_concat({expr}, ',')"),
        }
    }

    /// The group key of an instant column in the reporting zone, selected as `YYYY-MM-DD`
    /// text (the first column of a grouped query).
    ///
    /// The UTC offsets come from `plan` (computed in Rust with the IANA database) rather than
    /// from the database's own time-zone tables, so both backends bucket identically and SQLite,
    /// which has none, works at all. The column is only read, never wrapped in the `WHERE`
    /// clause, so range predicates stay index-friendly. PostgreSQL groups by the `date` and
    /// formats once per group.
    pub fn local_key(self, q: &mut Sql, column: &str, bucket: Bucket, plan: &OffsetPlan) -> BucketKey {
        if bucket == Bucket::Whole {
            return BucketKey { select: "''".into(), group: "1".into() };
        }
        let offset = offset_case(q, column, plan);
        match self {
            Dialect::Sqlite => {
                let tail = match bucket {
                    Bucket::Day | Bucket::Whole => "",
                    Bucket::Week => ", '-6 days', 'weekday 1'",
                    Bucket::Month => ", 'start of month'",
                };
                // Whole seconds only: `date()` rounds a fraction, so 23:59:59.9997 would land
                // on the next day (PostgreSQL truncates, as the day bounds do).
                BucketKey {
                    select: format!("date(substr({column}, 1, 19), {offset}{tail})"),
                    group: "1".into(),
                }
            }
            Dialect::Postgres => {
                let local = format!("(({column} AT TIME ZONE 'UTC') + ({offset}) * INTERVAL '1 second')");
                let group = match bucket {
                    Bucket::Day | Bucket::Whole => format!("CAST({local} AS date)"),
                    Bucket::Week => format!("date_trunc('week', {local})"),
                    Bucket::Month => format!("date_trunc('month', {local})"),
                };
                BucketKey { select: format!("to_char({group}, 'YYYY-MM-DD')"), group }
            }
        }
    }
}

/// A bucket key: what to select (text) and what to group by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketKey {
    /// The `YYYY-MM-DD` text expression (always the first selected column).
    pub select: String,
    /// The `GROUP BY` term for it.
    pub group: String,
}

/// `CASE WHEN col < t1 THEN off0 WHEN col < t2 THEN off1 … ELSE offN END`, or a single value
/// when the zone keeps one offset over the whole range (the usual case, e.g. `Africa/Lagos`).
fn offset_case(q: &mut Sql, column: &str, plan: &OffsetPlan) -> String {
    let value = |q: &mut Sql, seconds: i32| match q.dialect() {
        Dialect::Postgres => q.int(i64::from(seconds)),
        Dialect::Sqlite => q.text(format!("{seconds:+} seconds")),
    };
    let mut segments = plan.segments().iter().peekable();
    let Some(first) = segments.next() else {
        return value(q, 0);
    };
    if plan.segments().len() == 1 {
        return value(q, first.offset_seconds);
    }
    let mut case = String::from("CASE");
    let mut current = first.offset_seconds;
    for next in segments {
        let until = q.ts(next.from);
        let v = value(q, current);
        case.push_str(&format!(" WHEN {column} < {until} THEN {v}"));
        current = next.offset_seconds;
    }
    let v = value(q, current);
    case.push_str(&format!(" ELSE {v} END"));
    case
}
