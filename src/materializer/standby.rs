//! Reading the platform from a PostgreSQL hot standby (a read replica) without serving numbers
//! that were never true.
//!
//! A standby shows the primary as of the last transaction it replayed. A run that took the wall
//! clock as its `now` on a standby that lags would compute windows ending at `now` from data
//! that stops earlier: the last seconds or minutes look empty, and the snapshots, stamped
//! `computed_at = now`, disagree with the primary as of that very time. So a run first asks the
//! platform how far its data reaches and takes the earlier of that and the wall clock as `now`,
//! and records the difference as the run's platform lag. Long reads on a standby can also be
//! cancelled when replay needs rows they still see ("conflict with recovery"); the run retries
//! those a few times before it fails.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;

use crate::db::{sqlstate, Db, Dialect};

/// How often a run cancelled by a recovery conflict is tried in all.
pub const CONFLICT_ATTEMPTS: u32 = 3;
/// The pause before the first retry; doubled before each next one.
pub const CONFLICT_BACKOFF: Duration = Duration::from_secs(1);

/// What a platform database says about its replay, read before a run's snapshot is taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// `pg_is_in_recovery()`: a standby. Always false for a primary and for SQLite.
    pub in_recovery: bool,
    /// `pg_last_xact_replay_timestamp()`: the commit time of the last transaction replayed.
    pub replayed_at: Option<DateTime<Utc>>,
    /// Everything the standby has received is replayed (`pg_last_wal_receive_lsn() =
    /// pg_last_wal_replay_lsn()`).
    pub caught_up: bool,
    /// `pg_stat_wal_receiver.status`, when the service's role may see it (`pg_read_all_stats`
    /// or `pg_monitor`); `None` otherwise.
    pub receiver: Option<String>,
}

impl Replay {
    /// A database that is not a standby.
    pub const PRIMARY: Replay =
        Replay { in_recovery: false, replayed_at: None, caught_up: true, receiver: None };
}

/// A run's `now` and how far it lies behind the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformNow {
    /// The instant the run's windows end at.
    pub now: DateTime<Utc>,
    /// Wall clock minus `now`, in milliseconds: 0 on a primary or a caught-up standby.
    pub lag_ms: i64,
}

/// The `now` a run reading a database in state `replay` may use at wall-clock time `wall`.
///
/// - Not a standby: `wall`.
/// - A standby that has replayed everything it received, with its WAL receiver streaming (or
///   not visible to this role): `wall`. The primary may simply be idle, in which case the last
///   replayed commit is old and yet nothing is missing.
/// - Otherwise (replay paused or behind, or the receiver not streaming): the last replayed
///   commit, which every row the run will see was committed by.
/// - A standby behind that has replayed nothing yet cannot date its data: an error.
pub fn bound(wall: DateTime<Utc>, replay: &Replay) -> Result<PlatformNow, String> {
    if !replay.in_recovery {
        return Ok(PlatformNow { now: wall, lag_ms: 0 });
    }
    let receiving = replay.receiver.as_deref().is_none_or(|status| status == "streaming");
    if replay.caught_up && receiving {
        return Ok(PlatformNow { now: wall, lag_ms: 0 });
    }
    let Some(replayed_at) = replay.replayed_at else {
        return Err("the platform database is a standby that is behind and has replayed no transaction \
                    since it started: its data cannot be dated, so nothing is computed from it"
            .into());
    };
    let now = replayed_at.min(wall);
    Ok(PlatformNow { now, lag_ms: (wall - now).num_milliseconds() })
}

/// Reads `db`'s replay state. Called before the run's read transaction begins, so the snapshot
/// that transaction takes holds at least every transaction replayed by then.
pub async fn read_replay(db: &Db) -> Result<Replay, sqlx::Error> {
    if db.dialect != Dialect::Postgres {
        return Ok(Replay::PRIMARY);
    }
    let row = sqlx::query(
        "SELECT pg_is_in_recovery(), \
                CAST(EXTRACT(EPOCH FROM pg_last_xact_replay_timestamp()) * 1000000 AS BIGINT), \
                COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), FALSE), \
                CAST((SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS TEXT)",
    )
    .fetch_one(&db.pool)
    .await?;
    if !row.try_get::<bool, _>(0)? {
        return Ok(Replay::PRIMARY);
    }
    let micros: Option<i64> = row.try_get(1)?;
    Ok(Replay {
        in_recovery: true,
        replayed_at: micros.and_then(|us| Utc.timestamp_micros(us).single()),
        caught_up: row.try_get(2)?,
        receiver: row.try_get(3)?,
    })
}

/// Whether `e` is a standby cancelling a query that conflicted with replay (SQLSTATE 40001 with
/// PostgreSQL's "conflict with recovery" message): worth a retry, unlike a real serialization
/// failure, which a read-only run never causes.
pub fn is_recovery_conflict(e: &sqlx::Error) -> bool {
    sqlstate(e).as_deref() == Some("40001")
        && e.as_database_error().is_some_and(|d| d.message().contains("conflict with recovery"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn standby(replayed_at: Option<&str>, caught_up: bool, receiver: Option<&str>) -> Replay {
        Replay {
            in_recovery: true,
            replayed_at: replayed_at.map(at),
            caught_up,
            receiver: receiver.map(Into::into),
        }
    }

    const WALL: &str = "2026-12-03T12:00:00Z";

    #[test]
    fn a_primary_and_a_caught_up_standby_use_the_wall_clock() {
        let on_time = PlatformNow { now: at(WALL), lag_ms: 0 };
        assert_eq!(bound(at(WALL), &Replay::PRIMARY), Ok(on_time));
        // The primary idle since 11:00: the last replayed commit is old, nothing is missing.
        assert_eq!(
            bound(at(WALL), &standby(Some("2026-12-03T11:00:00Z"), true, Some("streaming"))),
            Ok(on_time)
        );
        // A role that cannot see the receiver trusts the positions alone.
        assert_eq!(bound(at(WALL), &standby(Some("2026-12-03T11:00:00Z"), true, None)), Ok(on_time));
        assert_eq!(bound(at(WALL), &standby(None, true, None)), Ok(on_time));
    }

    #[test]
    fn a_standby_behind_ends_the_windows_at_its_last_replayed_commit() {
        // Replay paused at 11:58:30.250 while WAL kept arriving: 89.75 s behind.
        let paused = standby(Some("2026-12-03T11:58:30.250Z"), false, Some("streaming"));
        assert_eq!(
            bound(at(WALL), &paused),
            Ok(PlatformNow { now: at("2026-12-03T11:58:30.250Z"), lag_ms: 89_750 })
        );
        // Replayed up to what it received, but the receiver is not streaming: the primary may
        // have moved on; the last commit is all that is known.
        let cut_off = standby(Some("2026-12-03T11:59:00Z"), true, Some("waiting"));
        assert_eq!(
            bound(at(WALL), &cut_off),
            Ok(PlatformNow { now: at("2026-12-03T11:59:00Z"), lag_ms: 60_000 })
        );
        // A replayed commit stamped after the wall clock (clock skew) never moves now ahead.
        let ahead = standby(Some("2026-12-03T12:00:02Z"), false, None);
        assert_eq!(bound(at(WALL), &ahead), Ok(PlatformNow { now: at(WALL), lag_ms: 0 }));
    }

    #[test]
    fn a_standby_behind_that_has_replayed_nothing_is_refused() {
        let err = bound(at(WALL), &standby(None, false, Some("streaming"))).unwrap_err();
        assert!(err.contains("cannot be dated"), "{err}");
    }
}
