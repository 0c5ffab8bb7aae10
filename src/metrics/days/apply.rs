//! Applying captured changes to stored days as exact deltas: each changed row's state before
//! the batch is taken out of the day (and hour slot) it was counted in, and its state after is
//! put into its own; the base's lifetime totals take the changes dated before the first day.
//!
//! Counts and kobo sums are exact deltas. A user set can gain a user from a delta alone, but
//! losing one depends on the user's other rows that day, so for every user and day a change
//! may have emptied, the user's transactions of that day are read again (through the
//! `user_id` index: a few rows per user), and only those users' bits are set from that read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use roaring::RoaringBitmap;

use super::{slot_bounds, Base, Day};
use crate::capture::log::Table;
use crate::capture::{ChangeBatch, RowVersion};
use crate::db::{parse_db_timestamp, Dialect};
use crate::metrics::facts::{int, opt_text, text};
use crate::metrics::rows::{BonusGroup, OrderGroup, TxGroup};
use crate::metrics::source::Source;
use crate::time::{local_date, local_midnight};

/// User ids per re-read of users' days (well under both databases' parameter limits).
const USERS_PER_READ: usize = 500;

/// Why a batch cannot be applied and the days must be rebuilt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotApplicable {
    /// A crypto's network changed (or the crypto went) while purchases outside the batch still
    /// name it: every such purchase moves to another group.
    CryptoRegrouped(i64),
    /// A user id beyond the user sets' range.
    UserIdOutOfRange(i64),
}

/// Where the stored days stand while a batch is applied.
pub(super) struct Target<'a> {
    pub tz: Tz,
    pub first: NaiveDate,
    pub days: &'a mut Vec<Arc<Day>>,
    pub base: &'a mut Base,
}

impl Target<'_> {
    /// The index of `date` among the stored days.
    fn index(&self, date: NaiveDate) -> Option<usize> {
        index_of(self.first, self.days.len(), date)
    }
}

/// The index of `date` among `len` days from `first`.
fn index_of(first: NaiveDate, len: usize, date: NaiveDate) -> Option<usize> {
    usize::try_from((date - first).num_days()).ok().filter(|i| *i < len)
}

/// One fact a row version contributes, with the sign it is applied with.
enum Fact<'v> {
    Tx(&'v RowVersion),
    Order { table: Table, version: &'v RowVersion, network: String },
    Bonus(&'v RowVersion),
    Join { user: u32, referrer: Option<i64> },
}

/// Applies `batch` to `target`; returns the dates whose facts changed.
pub(super) async fn apply(
    src: &mut Source<'_>,
    mut target: Target<'_>,
    batch: &ChangeBatch,
) -> Result<Result<BTreeSet<NaiveDate>, NotApplicable>, sqlx::Error> {
    let networks = match networks(src, batch).await? {
        Ok(n) => n,
        Err(why) => return Ok(Err(why)),
    };
    let mut changed = BTreeSet::new();
    let mut users = UserDays::default();
    for change in &batch.changes {
        for (version, sign, before) in [(&change.old, -1, true), (&change.new, 1, false)] {
            let Some(version) = version else { continue };
            let Some(at) = version.at else { continue };
            let fact = match change.table {
                Table::Tx => Fact::Tx(version),
                Table::DepositOrder | Table::WithdrawOrder => {
                    Fact::Order { table: change.table, version, network: String::new() }
                }
                Table::Purchase => {
                    let map = if before { &networks.before } else { &networks.after };
                    let network = version.ref_id.and_then(|c| map.get(&c).cloned()).unwrap_or_default();
                    Fact::Order { table: change.table, version, network }
                }
                Table::Bonus => Fact::Bonus(version),
                Table::User => match u32::try_from(change.row_id) {
                    Ok(user) => Fact::Join { user, referrer: version.ref_id },
                    Err(_) => return Ok(Err(NotApplicable::UserIdOutOfRange(change.row_id))),
                },
                Table::Crypto => continue,
            };
            if let Fact::Tx(v) = &fact {
                if let Some(who) = v.who {
                    let Ok(user) = u32::try_from(who) else {
                        return Ok(Err(NotApplicable::UserIdOutOfRange(who)));
                    };
                    users.note(local_date(target.tz, at), user, at, v.status == "success", sign);
                }
            }
            if let Some(date) = apply_fact(&mut target, &fact, at, sign) {
                changed.insert(date);
            }
        }
    }
    settle_users(src, &mut target, users, &mut changed).await?;
    for date in &changed {
        if let Some(i) = target.index(*date) {
            let day = Arc::make_mut(&mut target.days[i]);
            tidy(day);
            for hour in &mut day.hours {
                tidy(Arc::make_mut(hour));
            }
        }
    }
    Ok(Ok(changed))
}

impl super::DayStore {
    /// This store with `batch` applied and nothing read but what the deltas need: the days as
    /// the next run would store them before it reads the days that ended since. `verify` compares
    /// it with a fresh read of the same days.
    pub async fn with_changes(
        &self,
        src: &mut Source<'_>,
        batch: &ChangeBatch,
    ) -> Result<Result<super::DayStore, NotApplicable>, sqlx::Error> {
        let mut store = self.clone();
        let mut base = (*store.base).clone();
        let target = Target { tz: store.tz, first: store.first, days: &mut store.days, base: &mut base };
        if let Err(why) = apply(src, target, batch).await? {
            return Ok(Err(why));
        }
        store.base = Arc::new(base);
        Ok(Ok(store))
    }
}

/// Adds `fact` (times `sign`) where its instant falls: the base before the first day, a stored
/// day and its hour slot, or nowhere after the stored days (those are read live). The date
/// changed, if a stored one.
fn apply_fact(target: &mut Target<'_>, fact: &Fact<'_>, at: DateTime<Utc>, sign: i64) -> Option<NaiveDate> {
    let date = local_date(target.tz, at);
    if date < target.first {
        let base = &mut *target.base;
        match fact {
            Fact::Tx(v) if v.status == "success" && v.kind == "deposit" && !v.p2p => {
                base.revenue_kobo += sign * v.kobo
            }
            Fact::Order { table: Table::DepositOrder | Table::Purchase, version, .. }
                if version.status == "completed" =>
            {
                base.revenue_kobo += sign * version.kobo
            }
            Fact::Join { user, .. } => {
                if sign > 0 {
                    base.joined.insert(*user);
                } else {
                    base.joined.remove(*user);
                }
            }
            _ => {}
        }
        return None;
    }
    let i = target.index(date)?;
    let day = Arc::make_mut(&mut target.days[i]);
    add_to(day, fact, sign);
    if let Some(h) = slot_of(target.tz, date, at, day.hours.len()) {
        add_to(Arc::make_mut(&mut day.hours[h]), fact, sign);
    }
    Some(date)
}

/// The hour slot of `date` holding `at`, when the day keeps `slots` slots.
fn slot_of(tz: Tz, date: NaiveDate, at: DateTime<Utc>, slots: usize) -> Option<usize> {
    if slots == 0 {
        return None;
    }
    let bounds = slot_bounds(tz, date);
    if bounds.len() != slots + 1 {
        return None;
    }
    slot_in(&bounds, at)
}

/// The slot of `bounds` (see [`slot_bounds`]) holding `at`, if any.
fn slot_in(bounds: &[DateTime<Utc>], at: DateTime<Utc>) -> Option<usize> {
    bounds.windows(2).position(|b| b[0] <= at && at < b[1])
}

/// Adds `fact` times `sign` to one day (or hour slot); user sets of transactions are settled
/// separately.
fn add_to(day: &mut Day, fact: &Fact<'_>, sign: i64) {
    let key = day.key();
    match fact {
        Fact::Tx(v) => day.activity.tx.push(TxGroup {
            key,
            category: v.kind.clone(),
            tx_type: v.tx_type.clone(),
            status: v.status.clone(),
            p2p: v.p2p,
            count: sign,
            kobo: sign * v.kobo,
        }),
        Fact::Order { table, version, network } => {
            let group = OrderGroup {
                key,
                status: version.status.clone(),
                network: network.clone(),
                count: sign,
                kobo: sign * version.kobo,
            };
            match table {
                Table::DepositOrder => day.activity.p2p.push(group),
                Table::Purchase => day.activity.crypto.push(group),
                _ => day.withdrawals.push(group),
            }
        }
        Fact::Bonus(v) => {
            day.bonuses.push(BonusGroup { key, status: v.status.clone(), count: sign, kobo: sign * v.kobo })
        }
        Fact::Join { user, referrer } => {
            if sign > 0 {
                day.joined.insert(*user);
            } else {
                day.joined.remove(*user);
            }
            if let Some(r) = referrer {
                day.referrals.push((*r, sign));
            }
        }
    }
}

/// Merges the deltas into their groups and drops the groups that no row is left in.
fn tidy(day: &mut Day) {
    day.normalize();
    day.activity.tx.retain(|g| g.count != 0 || g.kobo != 0);
    for groups in [&mut day.activity.p2p, &mut day.activity.crypto, &mut day.withdrawals] {
        groups.retain(|g| g.count != 0 || g.kobo != 0);
    }
    day.bonuses.retain(|g| g.count != 0 || g.kobo != 0);
    day.referrals.retain(|r| r.1 != 0);
}

/// Each purchase's network before and after the batch.
struct Networks {
    before: HashMap<i64, String>,
    after: HashMap<i64, String>,
}

/// The cryptos' networks now, and as they were before the batch; an error when a crypto's
/// network changed (or the crypto went) under purchases that are not part of the batch.
async fn networks(
    src: &mut Source<'_>,
    batch: &ChangeBatch,
) -> Result<Result<Networks, NotApplicable>, sqlx::Error> {
    let mut out = Networks { before: HashMap::new(), after: HashMap::new() };
    let touches = |t: Table| batch.changes.iter().any(|c| c.table == t);
    if !touches(Table::Purchase) && !touches(Table::Crypto) {
        return Ok(Ok(out));
    }
    let mut q = src.sql();
    q.push("SELECT CAST(id AS BIGINT), COALESCE(network, '') FROM gasfee_crypto");
    for row in src.all(&q).await? {
        out.after.insert(int(&row, 0)?, text(&row, 1)?);
    }
    out.before = out.after.clone();
    let mut moved = Vec::new();
    for c in batch.changes.iter().filter(|c| c.table == Table::Crypto) {
        match &c.old {
            Some(old) => out.before.insert(c.row_id, old.kind.clone()),
            None => out.before.remove(&c.row_id),
        };
        let after = c.new.as_ref().map(|v| v.kind.as_str());
        if c.old.is_some() && after != c.old.as_ref().map(|v| v.kind.as_str()) {
            moved.push(c.row_id);
        }
    }
    let in_batch: Vec<i64> =
        batch.changes.iter().filter(|c| c.table == Table::Purchase).map(|c| c.row_id).collect();
    for crypto in moved {
        let mut q = src.sql();
        let id = q.int(crypto);
        let mut sql =
            format!("SELECT CAST(COUNT(*) AS BIGINT) FROM gasfee_cryptopurchase WHERE crypto_id = {id}");
        if !in_batch.is_empty() {
            let ids: Vec<String> = in_batch.iter().map(|i| q.int(*i)).collect();
            sql.push_str(&format!(" AND id NOT IN ({})", ids.join(", ")));
        }
        q.push(&sql);
        if int(&src.one(&q).await?, 0)? > 0 {
            return Ok(Err(NotApplicable::CryptoRegrouped(crypto)));
        }
    }
    Ok(Ok(out))
}

/// A user's transactions on one day, as `(instant, succeeded)`.
type UserRows = Vec<(DateTime<Utc>, bool)>;

/// The user-set side of transaction changes: which users a day (and an hour slot) gains for
/// sure, and which users' days must be read again because a change may have emptied them.
#[derive(Default)]
struct UserDays {
    /// `(date, user) → instants and success flags` of versions added.
    added: BTreeMap<(NaiveDate, u32), UserRows>,
    /// `(date, user) → instants and success flags` of versions taken out.
    removed: BTreeMap<(NaiveDate, u32), UserRows>,
}

impl UserDays {
    fn note(&mut self, date: NaiveDate, user: u32, at: DateTime<Utc>, success: bool, sign: i64) {
        let side = if sign > 0 { &mut self.added } else { &mut self.removed };
        side.entry((date, user)).or_default().push((at, success));
    }

    /// The `(date, user)` pairs a change may have emptied, to be read again: those that lost a
    /// version without gaining one in the same hour that succeeded at least as much. A status
    /// change (the commonest change by far: pending settling to success) keeps its user in every
    /// set it was in, so it costs no read.
    fn to_check(&self, tz: Tz) -> BTreeSet<(NaiveDate, u32)> {
        let mut bounds: HashMap<NaiveDate, Vec<DateTime<Utc>>> = HashMap::new();
        let mut hour = |date: NaiveDate, at: DateTime<Utc>| {
            slot_in(bounds.entry(date).or_insert_with(|| slot_bounds(tz, date)), at)
        };
        self.removed
            .iter()
            .filter(|(key, gone)| {
                let kept = self.added.get(key).map(Vec::as_slice).unwrap_or(&[]);
                gone.iter().any(|(at, success)| {
                    let h = hour(key.0, *at);
                    !kept.iter().any(|(at2, success2)| hour(key.0, *at2) == h && (*success2 || !*success))
                })
            })
            .map(|(key, _)| *key)
            .collect()
    }
}

/// Sets the user-set bits of every `(date, user)` the changes touched, in stored days and their
/// slots: added ones directly, checked ones from a fresh read of the user's transactions.
async fn settle_users(
    src: &mut Source<'_>,
    target: &mut Target<'_>,
    users: UserDays,
    changed: &mut BTreeSet<NaiveDate>,
) -> Result<(), sqlx::Error> {
    let (first, len, tz) = (target.first, target.days.len(), target.tz);
    let check = users.to_check(tz);
    let checks: Vec<(NaiveDate, u32)> =
        check.iter().filter(|(d, _)| index_of(first, len, *d).is_some()).copied().collect();
    let fresh = read_user_rows(src, tz, &checks).await?;
    for ((date, user), versions) in &users.added {
        let Some(i) = index_of(first, len, *date) else { continue };
        if check.contains(&(*date, *user)) {
            continue;
        }
        let day = Arc::make_mut(&mut target.days[i]);
        for (at, success) in versions {
            add_bits(day, *user, *success);
            if let Some(h) = slot_of(tz, *date, *at, day.hours.len()) {
                add_bits(Arc::make_mut(&mut day.hours[h]), *user, *success);
            }
        }
        changed.insert(*date);
    }
    for (date, user) in checks {
        let rows = fresh.get(&(date, user)).map(Vec::as_slice).unwrap_or(&[]);
        let i = index_of(first, len, date).expect("a stored day");
        let day = Arc::make_mut(&mut target.days[i]);
        set_bits(day, user, !rows.is_empty(), rows.iter().any(|r| r.1));
        let bounds = slot_bounds(tz, date);
        if bounds.len() == day.hours.len() + 1 {
            for (h, slot) in day.hours.iter_mut().enumerate() {
                let inside: Vec<&(DateTime<Utc>, bool)> =
                    rows.iter().filter(|r| bounds[h] <= r.0 && r.0 < bounds[h + 1]).collect();
                set_bits(Arc::make_mut(slot), user, !inside.is_empty(), inside.iter().any(|r| r.1));
            }
        }
        changed.insert(date);
    }
    Ok(())
}

/// Puts `user` in a day's set of users with a transaction (and with a `success` one): a row
/// added can only add.
fn add_bits(day: &mut Day, user: u32, success: bool) {
    day.active.insert(user);
    if success {
        day.active_success.insert(user);
    }
}

/// Sets `user`'s bits in a day's user sets to what a fresh read of its rows says.
fn set_bits(day: &mut Day, user: u32, any: bool, success: bool) {
    let set = |bits: &mut RoaringBitmap, on: bool| {
        if on {
            bits.insert(user);
        } else {
            bits.remove(user);
        }
    };
    set(&mut day.active, any);
    set(&mut day.active_success, success);
}

/// The transactions of each `(date, user)` in `checks` as they are now: instant and whether it
/// succeeded, read through the `user_id` index.
async fn read_user_rows(
    src: &mut Source<'_>,
    tz: Tz,
    checks: &[(NaiveDate, u32)],
) -> Result<HashMap<(NaiveDate, u32), UserRows>, sqlx::Error> {
    let mut out: HashMap<(NaiveDate, u32), UserRows> = HashMap::new();
    if checks.is_empty() {
        return Ok(out);
    }
    let wanted: BTreeSet<(NaiveDate, u32)> = checks.iter().copied().collect();
    let users: Vec<u32> = checks.iter().map(|c| c.1).collect::<BTreeSet<_>>().into_iter().collect();
    let first = checks.iter().map(|c| c.0).min().expect("checks");
    let last = checks.iter().map(|c| c.0).max().expect("checks");
    let (from, to) = (local_midnight(tz, first), local_midnight(tz, last + chrono::Duration::days(1)));
    // SQLite would otherwise walk the time index over every day in between.
    let time = match src.dialect() {
        Dialect::Sqlite => "+t.created_at",
        Dialect::Postgres => "t.created_at",
    };
    for chunk in users.chunks(USERS_PER_READ) {
        let mut q = src.sql();
        let ids: Vec<String> = chunk.iter().map(|u| q.int(i64::from(*u))).collect();
        let (a, b) = (q.ts(from), q.ts(to));
        let created = src.dialect().ts_text("t.created_at");
        q.push(&format!(
            "SELECT CAST(t.user_id AS BIGINT), {created}, t.status FROM wallet_wallettransaction t \
             WHERE t.user_id IN ({}) AND {time} >= {a} AND {time} < {b}",
            ids.join(", ")
        ));
        for row in src.all(&q).await? {
            let user = u32::try_from(int(&row, 0)?).unwrap_or(u32::MAX);
            let stamp = text(&row, 1)?;
            let at = parse_db_timestamp(&stamp)
                .ok_or_else(|| sqlx::Error::Decode(format!("unreadable created_at {stamp:?}").into()))?;
            let date = local_date(tz, at);
            if wanted.contains(&(date, user)) {
                let success = opt_text(&row, 2)?.as_deref() == Some("success");
                out.entry((date, user)).or_default().push((at, success));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day_with_hours(tz: Tz, date: NaiveDate) -> Day {
        let slots = slot_bounds(tz, date).len() - 1;
        let hours = (0..slots).map(|_| Arc::new(Day::empty(date))).collect();
        Day::from_hours(date, hours)
    }

    #[test]
    fn a_delta_lands_in_its_day_and_its_hour_and_cancels_to_nothing() {
        let tz = chrono_tz::Africa::Lagos;
        let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        let mut day = day_with_hours(tz, date);
        let at = local_midnight(tz, date) + chrono::Duration::minutes(90);
        let v = RowVersion {
            at: Some(at),
            who: Some(7),
            ref_id: None,
            status: "success".into(),
            kind: "deposit".into(),
            tx_type: "credit".into(),
            p2p: false,
            kobo: 12_345,
        };
        let h = slot_of(tz, date, at, day.hours.len()).unwrap();
        assert_eq!(h, 1);
        add_to(&mut day, &Fact::Tx(&v), 1);
        add_to(Arc::make_mut(&mut day.hours[h]), &Fact::Tx(&v), 1);
        tidy(&mut day);
        assert_eq!(day.activity.tx.len(), 1);
        assert_eq!((day.activity.tx[0].count, day.activity.tx[0].kobo), (1, 12_345));
        add_to(&mut day, &Fact::Tx(&v), -1);
        tidy(&mut day);
        assert!(day.activity.tx.is_empty());
        assert_eq!(day.hours[1].activity.tx[0].kobo, 12_345);
    }

    #[test]
    fn added_rows_only_add_users_and_a_fresh_read_sets_them_exactly() {
        let mut day = Day::empty(NaiveDate::from_ymd_opt(2026, 6, 10).unwrap());
        add_bits(&mut day, 5, true);
        add_bits(&mut day, 5, false);
        assert!(day.active.contains(5) && day.active_success.contains(5));
        assert!(day.active.contains(5) && day.active_success.contains(5));
        set_bits(&mut day, 5, true, false);
        assert!(day.active.contains(5) && !day.active_success.contains(5));
        set_bits(&mut day, 5, false, false);
        assert!(day.active.is_empty());
    }

    #[test]
    fn only_a_change_that_can_empty_a_set_is_read_again() {
        let tz = chrono_tz::Africa::Lagos;
        let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        let at = local_midnight(tz, date) + chrono::Duration::minutes(90);
        let later_same_hour = at + chrono::Duration::minutes(20);
        let next_hour = at + chrono::Duration::minutes(40);
        let mut users = UserDays::default();
        // 1: pending settled to success, same row: stays in both sets.
        users.note(date, 1, at, false, -1);
        users.note(date, 1, at, true, 1);
        // 2: success reversed to failed: may leave the success set.
        users.note(date, 2, at, true, -1);
        users.note(date, 2, at, false, 1);
        // 3: deleted.
        users.note(date, 3, at, true, -1);
        // 4: moved into the next hour: may leave the first hour's slot.
        users.note(date, 4, at, false, -1);
        users.note(date, 4, next_hour, false, 1);
        // 5: a success taken out, another success added in the same hour.
        users.note(date, 5, at, true, -1);
        users.note(date, 5, later_same_hour, true, 1);
        // 6: only added.
        users.note(date, 6, at, true, 1);
        let check: Vec<u32> = users.to_check(tz).into_iter().map(|(_, u)| u).collect();
        assert_eq!(check, vec![2, 3, 4]);
    }
}
