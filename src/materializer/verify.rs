//! `verify`: compares what is stored with the platform, in one platform snapshot: every stored
//! snapshot recomputed "as of" its own `computed_at`, field by field, and every stored day (and
//! the totals before them) read again. It is meant to watch a live platform, so a difference
//! is classified:
//!
//! - **moved**: the platform changed since the run and the difference says so, not that a
//!   number was wrong: a current-state field (balances, users' flags, open offers), a stored
//!   day inside the settle window (the next run re-reads it), a field the platform's change log
//!   shows rows changing under since the run, or (without change capture, which alone can tell
//!   a move from an error) any snapshot field;
//! - **differs**: a real disagreement: with change capture, a stored day that differs from the
//!   platform after the changes logged since the run are applied, or a field that differs with
//!   nothing logged under it; without capture, a stored day outside the settle window (a change
//!   the incremental runs cannot see; the scheduled rebuild corrects it).
//!
//! `mafita-analytics verify` exits non-zero only for the second kind.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::days::{begin_snapshot, current_store, LoadError};
use super::outcome::{platform_error, RunError};
use super::read::{begin_read, compute_jobs, log_position, within_budget, LogPosition};
use super::store::{load_snapshots, StoredSnapshot};
use super::RunContext;
use crate::capture::ChangeBatch;
use crate::metrics::num::kobo;
use crate::metrics::{DaySlot, DayStore, Endpoint, MetricError, Source, Window};

/// One differing field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Endpoint route.
    pub endpoint: String,
    /// Window in days.
    pub window_days: i64,
    /// Dotted path of the field (`users.total`, `daily_trend[3].volume`).
    pub field: String,
    /// Value in the stored snapshot.
    pub stored: String,
    /// Value recomputed now.
    pub recomputed: String,
    /// Why the difference is a change since the run rather than a wrong number; `None` when it
    /// is a real disagreement.
    pub moved: Option<String>,
}

/// Why verification could not be done at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Reading the summary tables failed.
    #[error("cannot read stored snapshots")]
    Summary(#[from] sqlx::Error),
    /// Recomputing failed.
    #[error(transparent)]
    Platform(#[from] RunError),
    /// Nothing has been materialized yet.
    #[error("no snapshots are stored yet; run `mafita-analytics recompute` first")]
    Empty,
    /// No days are stored for the configured time zone.
    #[error("no days are stored for this time zone yet; run `mafita-analytics recompute` first")]
    NoDays,
    /// The stored days cannot be read.
    #[error("the stored days are unreadable ({0}); run `mafita-analytics recompute --full`")]
    Corrupt(String),
}

/// What `verify` found.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    /// Stored snapshots recomputed.
    pub snapshots: usize,
    /// Their fields that differ (moved or not).
    pub fields: Vec<Mismatch>,
    /// Stored days compared.
    pub days: usize,
    /// Those that differ (moved or not).
    pub differing_days: Vec<DayMismatch>,
    /// Rows the platform's change log holds since the stored days' position (`None` without
    /// change capture, or when the log cannot continue the stored days).
    pub changes_since: Option<usize>,
}

impl Verification {
    /// Whether nothing disagrees (differences that are moves since the run do not count).
    pub fn agrees(&self) -> bool {
        self.fields.iter().all(|m| m.moved.is_some()) && self.differing_days.iter().all(|d| d.moved.is_some())
    }
}

/// Recomputes every stored snapshot and returns the differing fields (empty when all agree),
/// with the number of snapshots checked. See [`verify_platform`].
pub async fn verify(ctx: &RunContext) -> Result<(usize, Vec<Mismatch>), VerifyError> {
    let v = verify_platform(ctx).await?;
    Ok((v.snapshots, v.fields))
}

/// Compares every stored day with the platform; returns how many were checked and those that
/// differ. See [`verify_platform`].
pub async fn verify_days(ctx: &RunContext) -> Result<(usize, Vec<DayMismatch>), VerifyError> {
    let v = verify_platform(ctx).await?;
    Ok((v.days, v.differing_days))
}

/// Compares everything stored with the platform in one platform snapshot (see the module's
/// description).
pub async fn verify_platform(ctx: &RunContext) -> Result<Verification, VerifyError> {
    let mut conn = ctx.summary.pool.acquire().await?;
    let stored = load_snapshots(&mut conn, ctx.summary.dialect).await?;
    if stored.is_empty() {
        return Err(VerifyError::Empty);
    }
    let mut tx = begin_snapshot(&mut conn, ctx.summary.dialect).await?;
    // An empty slot: every stored day is loaded, none taken from memory.
    let empty = DaySlot::default();
    let days = match current_store(&mut tx, ctx.summary.dialect, ctx.settings.tz, &empty).await {
        Ok(Some((_, store))) => store,
        Ok(None) => return Err(VerifyError::NoDays),
        Err(LoadError::Database(e)) => return Err(VerifyError::Summary(e)),
        Err(LoadError::Corrupt(why)) => return Err(VerifyError::Corrupt(why)),
    };
    tx.rollback().await?;
    drop(conn);
    let mut jobs = Vec::new();
    for snap in &stored {
        let endpoint = Endpoint::parse(&snap.endpoint);
        let window = Window::rolling(snap.computed_at, ctx.settings.tz, snap.window_days).ok();
        if let (Some(e), Some(w)) = (endpoint, window) {
            jobs.push((snap, e, w));
        }
    }
    let read = read_platform(ctx, &jobs, &days).await?;
    let mut v = Verification { snapshots: stored.len(), days: days.len(), ..Verification::default() };
    v.changes_since = read.log.as_ref().map(|b| b.changes.len());
    // The stored days, brought forward by the log when there is one, against a fresh read.
    let settle_from = days.end_date() - chrono::Duration::days(i64::from(ctx.settle_days));
    let compared = read.forward.as_ref().unwrap_or(&days);
    let (a, b) = (compared.base(), read.fresh.base());
    let mut base = Vec::new();
    if a.revenue_kobo != b.revenue_kobo {
        base.push(format!("revenue: stored {} fresh {}", kobo(a.revenue_kobo), kobo(b.revenue_kobo)));
    }
    if a.joined != b.joined {
        base.push(format!("users: stored {} fresh {}", a.joined.len(), b.joined.len()));
    }
    if !base.is_empty() {
        v.differing_days.push(DayMismatch { day: None, facts: base, settling: false, moved: None });
    }
    for (old, new) in compared.days().iter().zip(read.fresh.days()) {
        let facts = old.differences(new);
        if !facts.is_empty() {
            let settling = read.forward.is_none() && old.date >= settle_from;
            let moved = settling.then(|| "inside the settle window: the next run re-reads it".to_string());
            v.differing_days.push(DayMismatch { day: Some(old.date), facts, settling, moved });
        }
    }
    for ((snap, _, _), fresh) in jobs.iter().zip(read.payloads) {
        let old: Value = serde_json::from_str(&snap.body).unwrap_or(Value::Null);
        let (a, b) = (leaves(&old), leaves(&fresh));
        for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
            let (x, y) = (a.get(key), b.get(key));
            if x != y {
                v.fields.push(Mismatch {
                    endpoint: snap.endpoint.clone(),
                    window_days: snap.window_days,
                    field: key.clone(),
                    stored: x.cloned().unwrap_or_else(|| "(absent)".into()),
                    recomputed: y.cloned().unwrap_or_else(|| "(absent)".into()),
                    moved: moved_field(&snap.endpoint, key, snap.computed_at, read.log.as_ref()),
                });
            }
        }
    }
    Ok(v)
}

/// What verify read from the platform, all in one snapshot.
struct PlatformRead {
    /// Every snapshot's payload recomputed as of its `computed_at`.
    payloads: Vec<Value>,
    /// The stored days' span read again.
    fresh: DayStore,
    /// The changes logged since the stored days' position, when the log can continue them.
    log: Option<ChangeBatch>,
    /// The stored days with those changes applied.
    forward: Option<DayStore>,
}

/// The log rows a verify applies at most to bring the stored days forward.
const MAX_LOG_ROWS: i64 = 2_000_000;

async fn read_platform(
    ctx: &RunContext,
    jobs: &[(&StoredSnapshot, Endpoint, Window)],
    stored: &DayStore,
) -> Result<PlatformRead, RunError> {
    let mut conn = ctx.platform.pool.acquire().await.map_err(|e| platform_error(&e))?;
    let mut tx = begin_read(&mut conn, ctx).await?;
    let reads = async {
        let mut src = Source::new(&mut tx, ctx.platform.dialect, &ctx.settings);
        let (log, forward) = match log_position(&mut src, Some(stored), MAX_LOG_ROWS).await? {
            LogPosition::Ready { batch: Ok(batch), .. } => match stored.with_changes(&mut src, &batch).await?
            {
                Ok(forward) => (Some(batch), Some(forward)),
                Err(_) => (None, None),
            },
            _ => (None, None),
        };
        let jobs: Vec<(Endpoint, Window)> = jobs.iter().map(|(_, e, w)| (*e, *w)).collect();
        let (payloads, built) = compute_jobs(&mut src, &jobs).await?;
        // The day store the payloads were folded from is the fresh read when it spans the same
        // days (the usual case: the snapshots and the days come from one run).
        let fresh = match built {
            Some(b) if b.start() == stored.start() && b.end_date() == stored.end_date() => (*b).clone(),
            _ => {
                src.set_days(None);
                DayStore::build(&mut src, stored.start(), stored.read_at(), 0, None).await?
            }
        };
        Ok::<_, MetricError>(PlatformRead { payloads, fresh, log, forward })
    };
    let read = within_budget(ctx, jobs.len() + 1, reads).await?;
    tx.rollback().await.map_err(|e| platform_error(&e))?;
    Ok(read)
}

/// Payload fields that are current state, read whole by every run (balances, users' flags, open
/// offers, referrers' emails and active flags): a difference means it moved since the run.
const CURRENT_STATE: &[(&str, &str)] = &[
    ("dashboard/overview/", "wallet."),
    ("users/", "verified_users"),
    ("users/", "merchant_count"),
    ("users/", "regular_user_count"),
    ("users/", "user_segmentation"),
    ("users/", "summary.verified_users"),
    ("users/", "summary.merchants"),
    ("users/", "summary.users_with_wallets"),
    ("users/", "summary.verification_rate"),
    ("users/", "top_referrers[].active_referrals"),
    ("users/", "top_referrers[].username"),
    ("services/", "p2p.active_offers"),
    ("kpis/", "kpis.total_platform_value"),
];

/// Why a differing field of a snapshot computed at `computed_at` is a move since the run, if it
/// is one (see the module's description).
fn moved_field(
    endpoint: &str,
    field: &str,
    computed_at: DateTime<Utc>,
    log: Option<&ChangeBatch>,
) -> Option<String> {
    let generic: String = {
        // `top_referrers[3].username` → `top_referrers[].username`
        let mut out = String::new();
        let mut in_index = false;
        for c in field.chars() {
            match c {
                '[' => {
                    in_index = true;
                    out.push('[');
                }
                ']' => {
                    in_index = false;
                    out.push(']');
                }
                _ if in_index => {}
                _ => out.push(c),
            }
        }
        out
    };
    if CURRENT_STATE.iter().any(|(e, prefix)| *e == endpoint && generic.starts_with(prefix)) {
        return Some("current state (read whole by every run), changed since the run".into());
    }
    let Some(log) = log else {
        return Some(
            "the platform may have changed since the run; without change capture verify cannot tell a change from \
             an error (the stored days are compared above)"
                .into(),
        );
    };
    let before = |v: &Option<crate::capture::RowVersion>| {
        v.as_ref().and_then(|v| v.at).is_some_and(|at| at < computed_at)
    };
    // A crypto's network names the group of its purchases of any date.
    let under = log
        .changes
        .iter()
        .filter(|c| c.table == crate::capture::log::Table::Crypto || before(&c.old) || before(&c.new))
        .count();
    (under > 0).then(|| format!("{under} rows dated before the run changed since (the change log)"))
}

/// Every leaf of a payload by dotted path.
fn leaves(value: &Value) -> BTreeMap<String, String> {
    fn walk(path: String, v: &Value, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    walk(if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, child, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(format!("{path}[{i}]"), child, out);
                }
            }
            leaf => {
                out.insert(path, leaf.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(String::new(), value, &mut out);
    out
}

/// A stored day that differs from a fresh read of the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayMismatch {
    /// The local date (`None` for the totals before the first stored day).
    pub day: Option<NaiveDate>,
    /// What differs, one entry per fact (`transactions deposit/credit/success: stored 3 (45.00) fresh 4 (60.00)`).
    pub facts: Vec<String>,
    /// Whether the day is still inside the settle window, so the next run re-reads it anyway;
    /// otherwise only a full rebuild (`recompute --full`) corrects it.
    pub settling: bool,
    /// Why the difference is a change since the run rather than a wrong day; `None` when it is
    /// a real disagreement.
    pub moved: Option<String>,
}
