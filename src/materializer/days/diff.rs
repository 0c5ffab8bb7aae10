//! A refresh's write: of each changed day, only the rows that differ from the stored day.
//!
//! An hour of platform changes moves a few groups of a few dozen days (a deleted account
//! reaches every day it was active on), and most of those days keep their user sets. Writing
//! the days whole cost ~250 ms a run at 100k users, nearly all of it user sets that had not
//! changed; a difference costs what changed.
//!
//! Every day written here gets its `analytics_day_users` row stamped with the run (its sets
//! rewritten only where they changed), so an instance loading "the days rewritten since run N"
//! finds the day by that row and then reads all of its rows (see `load_days`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use sqlx::AnyConnection;

use super::serialize;
use super::write::{insert_days, order_rows, put_groups, GroupRows, Put, DAY_TABLES, GROUP_ROWS_PER_INSERT};
use crate::db::{Dialect, Sql};
use crate::metrics::days::{Day, DayStore};
use crate::metrics::rows::{BonusGroup, OrderGroup, TxGroup};

/// Writes what differs between `prior` (the days the summary database holds) and `store` on
/// `dates`, as run `run_id`.
pub(super) async fn write_differences(
    conn: &mut AnyConnection,
    dialect: Dialect,
    run_id: i64,
    prior: &DayStore,
    store: &DayStore,
    dates: &[NaiveDate],
) -> Result<(), sqlx::Error> {
    let mut new_days: Vec<&Arc<Day>> = Vec::new();
    let mut stamped: Vec<NaiveDate> = Vec::new();
    let mut sets: Vec<(NaiveDate, Vec<SetChange<'_>>)> = Vec::new();
    let mut removed = GroupRows::default();
    let mut put = GroupRows::default();
    for &date in dates {
        let Some(new) = store.day(date) else { continue };
        let Some(old) = prior.day(date) else {
            new_days.push(new);
            continue;
        };
        let changed: Vec<SetChange<'_>> = [
            ("active_users", "active_set", &old.active, &new.active),
            ("success_users", "success_set", &old.active_success, &new.active_success),
            ("signups", "signup_set", &old.joined, &new.joined),
        ]
        .into_iter()
        .filter(|(_, _, was, now)| was != now)
        .map(|(count, set, _, now)| SetChange { count, set, users: now })
        .collect();
        if changed.is_empty() {
            stamped.push(date);
        } else {
            sets.push((date, changed));
        }
        let tx_key = |g: &TxGroup| (g.category.clone(), g.tx_type.clone(), g.status.clone(), g.p2p);
        let (gone, kept) = differ(&old.activity.tx, &new.activity.tx, tx_key);
        removed.tx.extend(gone.into_iter().map(|g| (date, g)));
        put.tx.extend(kept.into_iter().map(|g| (date, g)));
        let order_key = |(_, kind, g): &(NaiveDate, &'static str, &OrderGroup)| {
            (*kind, g.status.clone(), g.network.clone())
        };
        let (was, now): (Vec<_>, Vec<_>) = (order_rows(old).collect(), order_rows(new).collect());
        let (gone, kept) = differ(&was, &now, order_key);
        removed.orders.extend(gone.into_iter().copied());
        put.orders.extend(kept.into_iter().copied());
        let (gone, kept) = differ(&old.bonuses, &new.bonuses, |g: &BonusGroup| g.status.clone());
        removed.bonuses.extend(gone.into_iter().map(|g| (date, g)));
        put.bonuses.extend(kept.into_iter().map(|g| (date, g)));
        let (gone, kept) = differ(&old.referrals, &new.referrals, |r: &(i64, i64)| r.0);
        removed.referrals.extend(gone.into_iter().map(|r| (date, *r)));
        put.referrals.extend(kept.into_iter().map(|r| (date, *r)));
    }
    delete_groups(conn, dialect, &removed).await?;
    put_groups(conn, dialect, run_id, &put, Put::Replace).await?;
    for (date, changed) in &sets {
        let mut q = Sql::new(dialect);
        let columns: Vec<String> = changed
            .iter()
            .map(|c| {
                let (n, bytes) = (q.int(c.users.len() as i64), q.blob(serialize(c.users)));
                format!("{} = {n}, {} = {bytes}", c.count, c.set)
            })
            .collect();
        let (run, day) = (q.int(run_id), q.date(*date));
        q.push(&format!(
            "UPDATE analytics_day_users SET {}, run_id = {run} WHERE day = {day}",
            columns.join(", ")
        ));
        q.execute(conn).await?;
    }
    for chunk in stamped.chunks(GROUP_ROWS_PER_INSERT) {
        let mut q = Sql::new(dialect);
        let run = q.int(run_id);
        let list: Vec<String> = chunk.iter().map(|d| q.date(*d)).collect();
        q.push(&format!("UPDATE analytics_day_users SET run_id = {run} WHERE day IN ({})", list.join(", ")));
        q.execute(conn).await?;
    }
    if !new_days.is_empty() {
        // Days new to the store (the days that ended since): nothing of theirs is stored, but a
        // row left by hand would break the insert.
        for table in DAY_TABLES {
            let mut q = Sql::new(dialect);
            let list: Vec<String> = new_days.iter().map(|d| q.date(d.date)).collect();
            q.push(&format!("DELETE FROM {table} WHERE day IN ({})", list.join(", ")));
            q.execute(conn).await?;
        }
        insert_days(conn, dialect, run_id, &new_days).await?;
    }
    Ok(())
}

/// One user set of a day that changed: its count and set columns and the new set.
struct SetChange<'a> {
    count: &'static str,
    set: &'static str,
    users: &'a RoaringBitmap,
}

/// The groups of `old` whose key `new` lacks, and the groups of `new` that `old` lacks or
/// holds with other values.
fn differ<'a, G: PartialEq, K: Ord>(
    old: &'a [G],
    new: &'a [G],
    key: impl Fn(&G) -> K,
) -> (Vec<&'a G>, Vec<&'a G>) {
    let was: BTreeMap<K, &G> = old.iter().map(|g| (key(g), g)).collect();
    let keys: BTreeSet<K> = new.iter().map(&key).collect();
    let gone = old.iter().filter(|g| !keys.contains(&key(g))).collect();
    let put = new.iter().filter(|g| was.get(&key(g)) != Some(g)).collect();
    (gone, put)
}

/// Deletes the stored rows with the keys of `rows`.
async fn delete_groups(
    conn: &mut AnyConnection,
    dialect: Dialect,
    rows: &GroupRows<'_>,
) -> Result<(), sqlx::Error> {
    delete_rows(conn, dialect, "analytics_day_transaction", &rows.tx, |q, (day, g)| {
        let p2p = if g.p2p { "TRUE" } else { "FALSE" };
        format!(
            "(day = {} AND category = {} AND tx_type = {} AND status = {} AND is_p2p = {p2p})",
            q.date(*day),
            q.text(g.category.clone()),
            q.text(g.tx_type.clone()),
            q.text(g.status.clone())
        )
    })
    .await?;
    delete_rows(conn, dialect, "analytics_day_order", &rows.orders, |q, (day, kind, g)| {
        format!(
            "(day = {} AND kind = {} AND status = {} AND network = {})",
            q.date(*day),
            q.text(*kind),
            q.text(g.status.clone()),
            q.text(g.network.clone())
        )
    })
    .await?;
    delete_rows(conn, dialect, "analytics_day_bonus", &rows.bonuses, |q, (day, g)| {
        format!("(day = {} AND status = {})", q.date(*day), q.text(g.status.clone()))
    })
    .await?;
    delete_rows(conn, dialect, "analytics_day_referral", &rows.referrals, |q, (day, (referrer, _))| {
        format!("(day = {} AND referrer_id = {})", q.date(*day), q.int(*referrer))
    })
    .await
}

/// `DELETE FROM table WHERE … OR …`, one condition per row rendered by `matches`.
async fn delete_rows<T>(
    conn: &mut AnyConnection,
    dialect: Dialect,
    table: &str,
    rows: &[T],
    matches: impl Fn(&mut Sql, &T) -> String,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(GROUP_ROWS_PER_INSERT) {
        let mut q = Sql::new(dialect);
        let conditions: Vec<String> = chunk.iter().map(|row| matches(&mut q, row)).collect();
        q.push(&format!("DELETE FROM {table} WHERE {}", conditions.join(" OR ")));
        q.execute(conn).await?;
    }
    Ok(())
}
