//! Change capture on the platform database (see the README, "Change capture"): row triggers on the tables the stored
//! days are made of write every changed row's keys, old and new, into one log table; a run
//! reads exactly the changes committed since the previous run's platform snapshot and applies
//! them to the stored days as exact deltas.
//!
//! Why a log and not logical decoding (`pgoutput` through a replication slot): a slot needs
//! `wal_level = logical`, a REPLICATION role, and retains WAL on the primary while no run
//! consumes it, so a stopped service fills the platform's disk; it also cannot be read from a
//! hot standby before PostgreSQL 16, and SQLite has nothing like it. A log table is plain rows:
//! it works on both databases, is read in the run's own snapshot on a primary or a standby,
//! and a stopped consumer costs only the rows it has not consumed, which the runs (or
//! `capture prune`) delete.
//!
//! Exactness under concurrency: on PostgreSQL each log row carries its writing transaction's
//! id (`xid8`). A run records the snapshot it read in (`pg_current_snapshot()`); the next run
//! reads the rows whose transaction is visible in its own snapshot but was not in that one, so
//! a transaction that commits long after it wrote (with ids far below newer ones) is read by
//! the first run whose snapshot sees it, and never skipped (PgQ's batching). SQLite has one
//! writer at a time, so log sequence numbers become visible in order and the last one read is
//! the cursor.

pub mod ddl;
pub mod log;

pub use ddl::{install_sql, script, uninstall_sql, CAPTURED, LOG_TABLE, STATE_TABLE};
pub use log::{
    count_rows, install, prune, read_changes, read_cursor, read_state, status, uninstall, Capture,
    CaptureStatus, Change, ChangeBatch, Cursor, RowVersion,
};
