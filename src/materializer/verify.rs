//! `verify`: recompute every stored snapshot from the platform database "as of" its own
//! `computed_at`, and list every field that differs. Rows changed in place since the run
//! (a pending transaction that settled) show up here.

use std::collections::BTreeMap;

use serde_json::Value;

use super::run::{read_payloads, RunError};
use super::store::load_snapshots;
use super::RunContext;
use crate::metrics::{Endpoint, Window};

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
