//! Writing stored days: whole days with their users rows and groups, group rows by key, and
//! the store row.

use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::AnyConnection;

use super::{serialize, STORE_ROW};
use serde_json::{json, Value};

use crate::db::{Cast, Dialect, Sql};
use crate::metrics::days::{Day, DayStore, STORE_VERSION};
use crate::metrics::rows::{BonusGroup, OrderGroup, TxGroup};

/// Rows per INSERT when every value is an argument (well under both databases' parameter
/// limits).
pub(super) const GROUP_ROWS_PER_INSERT: usize = 150;

/// Days of user sets per INSERT: a few MB of bitmaps per statement at a million users.
const USER_DAYS_PER_INSERT: usize = 16;

/// The tables holding a day's facts; every stored day has one `analytics_day_users` row.
pub(super) const DAY_TABLES: [&str; 5] = [
    "analytics_day_users",
    "analytics_day_transaction",
    "analytics_day_order",
    "analytics_day_bonus",
    "analytics_day_referral",
];

/// Inserts `days` whole: their users rows and every group.
pub(super) async fn insert_days(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    days: &[&Arc<Day>],
) -> Result<(), sqlx::Error> {
    for chunk in days.chunks(USER_DAYS_PER_INSERT) {
        let mut q = Sql::new(dialect);
        let values: Vec<String> = chunk
            .iter()
            .map(|d| {
                let day = q.date(d.date);
                let sets = [&d.active, &d.active_success, &d.joined]
                    .map(|set| (q.int(set.len() as i64), q.blob(serialize(set))));
                let run = q.int(run_id);
                let [(a, a_set), (s, s_set), (j, j_set)] = sets;
                format!("({day}, {a}, {a_set}, {s}, {s_set}, {j}, {j_set}, {run})")
            })
            .collect();
        q.push(&format!(
            "INSERT INTO analytics_day_users (day, active_users, active_set, success_users, success_set, \
             signups, signup_set, run_id) VALUES {}",
            values.join(", ")
        ));
        q.execute(conn).await?;
    }
    let tx: Vec<(NaiveDate, &TxGroup)> =
        days.iter().flat_map(|d| d.activity.tx.iter().map(move |g| (d.date, g))).collect();
    let orders: Vec<(NaiveDate, &str, &OrderGroup)> = days.iter().flat_map(|d| order_rows(d)).collect();
    let bonuses: Vec<(NaiveDate, &BonusGroup)> =
        days.iter().flat_map(|d| d.bonuses.iter().map(move |g| (d.date, g))).collect();
    let referrals: Vec<(NaiveDate, (i64, i64))> =
        days.iter().flat_map(|d| d.referrals.iter().map(move |r| (d.date, *r))).collect();
    put_groups(conn, dialect, run_id, &GroupRows { tx, orders, bonuses, referrals }, Put::Insert).await
}

/// A day's order groups of every kind, with the kind's stored name.
pub(super) fn order_rows(d: &Day) -> impl Iterator<Item = (NaiveDate, &'static str, &OrderGroup)> + '_ {
    let kinds = [
        ("p2p_deposit", &d.activity.p2p),
        ("crypto_purchase", &d.activity.crypto),
        ("p2p_withdraw", &d.withdrawals),
    ];
    kinds.into_iter().flat_map(move |(kind, groups)| groups.iter().map(move |g| (d.date, kind, g)))
}

/// Group rows of several days, by table.
#[derive(Default)]
pub(super) struct GroupRows<'a> {
    pub tx: Vec<(NaiveDate, &'a TxGroup)>,
    pub orders: Vec<(NaiveDate, &'static str, &'a OrderGroup)>,
    pub bonuses: Vec<(NaiveDate, &'a BonusGroup)>,
    pub referrals: Vec<(NaiveDate, (i64, i64))>,
}

/// How [`put_groups`] treats a stored row with the key of one it writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Put {
    /// There is none (the day's rows were deleted, or it is new).
    Insert,
    /// It is replaced (`ON CONFLICT … DO UPDATE`, on both databases).
    Replace,
}

/// Writes `rows` as run `run_id`'s.
pub(super) async fn put_groups(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    rows: &GroupRows<'_>,
    put: Put,
) -> Result<(), sqlx::Error> {
    let tail = |conflict: &str, set: &str| match put {
        Put::Insert => String::new(),
        Put::Replace => format!(" ON CONFLICT ({conflict}) DO UPDATE SET {set}, run_id = excluded.run_id"),
    };
    let date = |day: &NaiveDate| day.format("%Y-%m-%d").to_string();
    insert_rows(
        conn,
        dialect,
        "analytics_day_transaction (day, category, tx_type, status, is_p2p, tx_count, amount_kobo, run_id)",
        &[Cast::Date, Cast::Text, Cast::Text, Cast::Text, Cast::Bool, Cast::Int, Cast::Int],
        run_id,
        &tail(
            "day, category, tx_type, status, is_p2p",
            "tx_count = excluded.tx_count, amount_kobo = excluded.amount_kobo",
        ),
        &rows.tx,
        |(day, g)| json!([date(day), g.category, g.tx_type, g.status, g.p2p, g.count, g.kobo]),
    )
    .await?;
    insert_rows(
        conn,
        dialect,
        "analytics_day_order (day, kind, status, network, order_count, total_kobo, run_id)",
        &[Cast::Date, Cast::Text, Cast::Text, Cast::Text, Cast::Int, Cast::Int],
        run_id,
        &tail(
            "day, kind, status, network",
            "order_count = excluded.order_count, total_kobo = excluded.total_kobo",
        ),
        &rows.orders,
        |(day, kind, g)| json!([date(day), kind, g.status, g.network, g.count, g.kobo]),
    )
    .await?;
    insert_rows(
        conn,
        dialect,
        "analytics_day_bonus (day, status, bonus_count, amount_kobo, run_id)",
        &[Cast::Date, Cast::Text, Cast::Int, Cast::Int],
        run_id,
        &tail("day, status", "bonus_count = excluded.bonus_count, amount_kobo = excluded.amount_kobo"),
        &rows.bonuses,
        |(day, g)| json!([date(day), g.status, g.count, g.kobo]),
    )
    .await?;
    insert_rows(
        conn,
        dialect,
        "analytics_day_referral (day, referrer_id, referrals, run_id)",
        &[Cast::Date, Cast::Int, Cast::Int],
        run_id,
        &tail("day, referrer_id", "referrals = excluded.referrals"),
        &rows.referrals,
        |(day, (referrer, n))| json!([date(day), referrer, n]),
    )
    .await
}

/// Group rows per INSERT: each statement carries its rows as one JSON argument (binding a
/// value costs ~20 µs, so an argument per value made writing a full rebuild's groups take
/// longer than reading them), kept to a few MB per statement.
const JSON_ROWS_PER_INSERT: usize = 20_000;

/// INSERTs of `rows` into `target` (`table (columns)`, `run_id` last), each row rendered by
/// `render` as a JSON array typed by `casts`, each statement ending with `tail`.
#[allow(clippy::too_many_arguments)]
async fn insert_rows<T>(
    conn: &mut AnyConnection,
    dialect: Dialect,
    target: &str,
    casts: &[Cast],
    run_id: i64,
    tail: &str,
    rows: &[T],
    render: impl Fn(&T) -> Value,
) -> Result<(), sqlx::Error> {
    let columns: Vec<String> = (0..casts.len()).map(|i| format!("c{i}")).collect();
    for chunk in rows.chunks(JSON_ROWS_PER_INSERT) {
        let mut q = Sql::new(dialect);
        let values = q.json_rows(Value::Array(chunk.iter().map(&render).collect()), casts);
        let run = q.int(run_id);
        // `WHERE true`: SQLite reads an ON CONFLICT right after a SELECT's FROM as a join clause.
        q.push(&format!(
            "INSERT INTO {target} SELECT {}, {run} FROM {values} WHERE true{tail}",
            columns.join(", ")
        ));
        q.execute(conn).await?;
    }
    Ok(())
}

/// Replaces the store row.
pub(super) async fn save_row(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    store: &DayStore,
) -> Result<(), sqlx::Error> {
    let mut q = Sql::new(dialect);
    let name = q.text(STORE_ROW);
    q.push(&format!("DELETE FROM analytics_day_store WHERE name = {name}"));
    q.execute(conn).await?;
    let mut q = Sql::new(dialect);
    let base = store.base();
    let marks = store.watermarks().0;
    let values = [
        q.text(STORE_ROW),
        q.int(STORE_VERSION),
        q.text(store.tz().name()),
        q.date(store.first_date()),
        q.date(store.end_date()),
        q.ts(store.read_at()),
        q.int(base.revenue_kobo),
        q.int(base.joined.len() as i64),
        q.blob(serialize(&base.joined)),
        q.int(marks[0]),
        q.int(marks[1]),
        q.int(marks[2]),
        q.int(marks[3]),
        q.int(marks[4]),
        q.int(marks[5]),
        q.int(store.generation()),
        q.int(run_id),
        q.opt_text(store.capture().map(|m| m.epoch.clone())),
        q.opt_text(store.capture().map(|m| m.cursor.as_text())),
    ];
    q.push(&format!(
        "INSERT INTO analytics_day_store (name, version, time_zone, first_day, end_day, read_at, \
         revenue_before_kobo, users_before, users_before_set, transaction_id_max, deposit_order_id_max, \
         withdraw_order_id_max, crypto_purchase_id_max, bonus_id_max, user_id_max, generation, run_id, \
         capture_epoch, capture_cursor) VALUES ({})",
        values.join(", ")
    ));
    q.execute(conn).await?;
    Ok(())
}
