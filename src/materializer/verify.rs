//! `verify`: recompute every stored snapshot from the platform database "as of" its own
//! `computed_at`, and list every field that differs. Rows changed in place since the run
//! (a pending transaction that settled) show up here; [`verify_days`] names the stored days
//! that differ from the platform.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use super::days::{current_store, LoadError};
use super::outcome::RunError;
use super::read::{begin_read, read_payloads};
use super::store::load_snapshots;
use super::RunContext;
use crate::metrics::num::kobo;
use crate::metrics::{DaySlot, DayStore, Endpoint, Source, Window};

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

/// Recomputes every stored snapshot and returns the differing fields (empty when all agree),
/// with the number of snapshots checked.
pub async fn verify(ctx: &RunContext) -> Result<(usize, Vec<Mismatch>), VerifyError> {
    let mut conn = ctx.summary.pool.acquire().await?;
    let stored = load_snapshots(&mut conn, ctx.summary.dialect).await?;
    drop(conn);
    if stored.is_empty() {
        return Err(VerifyError::Empty);
    }
    let mut jobs = Vec::new();
    for snap in &stored {
        let endpoint = Endpoint::parse(&snap.endpoint);
        let window = Window::rolling(snap.computed_at, ctx.settings.tz, snap.window_days).ok();
        if let (Some(e), Some(w)) = (endpoint, window) {
            jobs.push((snap, e, w));
        }
    }
    let (payloads, _) =
        read_payloads(ctx, &jobs.iter().map(|(_, e, w)| (*e, *w)).collect::<Vec<_>>()).await?;
    let mut mismatches = Vec::new();
    for ((snap, _, _), fresh) in jobs.iter().zip(payloads) {
        let old: Value = serde_json::from_str(&snap.body).unwrap_or(Value::Null);
        let (a, b) = (leaves(&old), leaves(&fresh));
        for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
            let (x, y) = (a.get(key), b.get(key));
            if x != y {
                mismatches.push(Mismatch {
                    endpoint: snap.endpoint.clone(),
                    window_days: snap.window_days,
                    field: key.clone(),
                    stored: x.cloned().unwrap_or_else(|| "(absent)".into()),
                    recomputed: y.cloned().unwrap_or_else(|| "(absent)".into()),
                });
            }
        }
    }
    Ok((stored.len(), mismatches))
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
}

/// Compares every stored day (and the totals before them) with a fresh read of the same days
/// in one platform snapshot. Returns how many days were checked and those that differ; a
/// day differs when a row changed in place after the run that last read it (or a row was
/// deleted). Days inside the settle window are marked: the next run re-reads them.
pub async fn verify_days(ctx: &RunContext) -> Result<(usize, Vec<DayMismatch>), VerifyError> {
    let mut conn = ctx.summary.pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // An empty slot: every stored day is loaded, none taken from memory.
    let empty = DaySlot::default();
    let stored = match current_store(&mut tx, ctx.summary.dialect, ctx.settings.tz, &empty).await {
        Ok(Some((_, store))) => store,
        Ok(None) => return Err(VerifyError::NoDays),
        Err(LoadError::Database(e)) => return Err(VerifyError::Summary(e)),
        Err(LoadError::Corrupt(why)) => return Err(VerifyError::Corrupt(why)),
    };
    tx.rollback().await?;
    drop(conn);
    let fresh = read_day_store(ctx, stored.start(), stored.read_at()).await?;
    let settle_from = stored.end_date() - chrono::Duration::days(i64::from(ctx.settle_days));
    let mut out = Vec::new();
    let (a, b) = (stored.base(), fresh.base());
    let mut base = Vec::new();
    if a.revenue_kobo != b.revenue_kobo {
        base.push(format!("revenue: stored {} fresh {}", kobo(a.revenue_kobo), kobo(b.revenue_kobo)));
    }
    if a.joined != b.joined {
        base.push(format!("users: stored {} fresh {}", a.joined.len(), b.joined.len()));
    }
    if !base.is_empty() {
        out.push(DayMismatch { day: None, facts: base, settling: false });
    }
    for (old, new) in stored.days().iter().zip(fresh.days()) {
        let facts = old.differences(new);
        if !facts.is_empty() {
            out.push(DayMismatch { day: Some(old.date), facts, settling: old.date >= settle_from });
        }
    }
    Ok((stored.len(), out))
}

/// A fresh read of the days from `from` to the last whole day before `read_at`, in one
/// platform snapshot.
async fn read_day_store(
    ctx: &RunContext,
    from: chrono::DateTime<chrono::Utc>,
    read_at: chrono::DateTime<chrono::Utc>,
) -> Result<DayStore, RunError> {
    let platform = |e: &dyn std::error::Error| RunError::Platform(crate::telemetry::error_chain(e));
    let mut conn = ctx.platform.pool.acquire().await.map_err(|e| platform(&e))?;
    let mut tx = begin_read(&mut conn, ctx).await?;
    let store = {
        let mut src = Source::new(&mut tx, ctx.platform.dialect, &ctx.settings);
        DayStore::build(&mut src, from, read_at, 0, None).await.map_err(|e| platform(&e))?
    };
    tx.rollback().await.map_err(|e| platform(&e))?;
    Ok(store)
}
