//! Answers for uncommon windows and filters, computed by the metric module on demand and kept
//! in a bounded TTL cache; concurrent identical requests share one computation.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};

use super::error::{database_error, ApiError};
use super::response::{Prepared, Source};
use crate::db::Db;
use crate::metrics::{
    compute, DayStore, Endpoint, MetricError, MetricSettings, Source as MetricSource, TxFilter, Window,
    WindowKind,
};

/// What identifies an on-demand answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    endpoint: Endpoint,
    window: WindowKey,
    filter: TxFilter,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum WindowKey {
    Rolling(i64),
    Calendar(NaiveDate, NaiveDate),
}

/// The cache of computed answers.
pub struct OnDemand {
    cache: moka::future::Cache<Key, Arc<Prepared>>,
}

impl OnDemand {
    /// At most `max_entries` answers, each for at most `ttl`.
    pub fn new(ttl: Duration, max_entries: u64) -> OnDemand {
        OnDemand { cache: moka::future::Cache::builder().max_capacity(max_entries).time_to_live(ttl).build() }
    }

    /// The answer for `endpoint` over `window` with `filter`: from the cache, or computed once
    /// however many requests ask at the same time, folding whole days from `days` when given.
    /// Returns it and whether it was a cache hit.
    pub async fn get(
        &self,
        platform: &Db,
        settings: &MetricSettings,
        days: Option<Arc<DayStore>>,
        endpoint: Endpoint,
        window: &Window,
        filter: &TxFilter,
    ) -> Result<(Arc<Prepared>, bool), ApiError> {
        let key = Key {
            endpoint,
            window: match window.kind {
                WindowKind::Rolling { days } => WindowKey::Rolling(days),
                WindowKind::Calendar { from, to } => WindowKey::Calendar(from, to),
            },
            filter: filter.clone(),
        };
        if let Some(hit) = self.cache.get(&key).await {
            return Ok((hit, true));
        }
        let window = *window;
        let answer = self
            .cache
            .try_get_with(key, async move {
                let payload = {
                    let mut conn = platform.pool.acquire().await.map_err(MetricError::Database)?;
                    // Recompute "now" at computation time: the window is the same, only fresher.
                    let fresh = match window.kind {
                        WindowKind::Rolling { days } => {
                            Window::rolling(Utc::now(), window.tz, days).unwrap_or(window)
                        }
                        WindowKind::Calendar { .. } => window,
                    };
                    let mut src = MetricSource::new(&mut conn, platform.dialect, settings).with_days(days);
                    compute(&mut src, endpoint, &fresh, filter).await?
                };
                let body = payload.to_string().into_bytes();
                let prepared = tokio::task::spawn_blocking(move || {
                    Prepared::new(body, None, "application/json", Source::Computed)
                })
                .await
                .expect("compression does not panic");
                Ok::<_, MetricError>(Arc::new(prepared))
            })
            .await
            .map_err(|e| match e.as_ref() {
                MetricError::Database(db) => database_error(db),
            })?;
        Ok((answer, false))
    }
}
