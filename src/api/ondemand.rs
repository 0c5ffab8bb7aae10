//! Answers for uncommon windows and filters, computed by the metric module on demand and kept
//! in a TTL cache bounded by entries and by bytes; concurrent identical requests share one
//! computation, and at most a configured number of computations (exports included) run at
//! once, so a burst of cold windows cannot take every platform connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use chrono::{NaiveDate, Utc};

use super::error::{database_error, ApiError};
use super::response::Prepared;
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

/// How on-demand work is bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long an answer is reused.
    pub ttl: Duration,
    /// Most answers kept.
    pub max_entries: u32,
    /// Most bytes of answers kept (every encoding counted).
    pub max_bytes: u64,
    /// Most computations running at once.
    pub concurrency: u32,
    /// How long a request waits for a computation slot.
    pub queue_timeout: Duration,
}

/// The cache of computed answers and the slots computations run in.
pub struct OnDemand {
    cache: moka::future::Cache<Key, Arc<Prepared>>,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
}

/// Why an answer could not be computed.
#[derive(Debug)]
enum Failure {
    Metric(MetricError),
    Busy(ApiError),
}

impl OnDemand {
    /// A cache and slots bounded by `limits`.
    ///
    /// Both cache bounds hold: each answer weighs its bytes, but at least `max_bytes /
    /// max_entries`, so the cache never holds more than `max_entries` answers nor more than
    /// `max_bytes` bytes.
    pub fn new(limits: Limits) -> OnDemand {
        let floor = (limits.max_bytes / u64::from(limits.max_entries.max(1))).max(1);
        let cache = moka::future::Cache::builder()
            .max_capacity(limits.max_bytes)
            .weigher(move |_: &Key, answer: &Arc<Prepared>| {
                u32::try_from(answer.approx_bytes().max(floor)).unwrap_or(u32::MAX)
            })
            .time_to_live(limits.ttl)
            .build();
        OnDemand {
            cache,
            slots: Arc::new(Semaphore::new(limits.concurrency.max(1) as usize)),
            queue_timeout: limits.queue_timeout,
        }
    }

    /// A computation slot, waiting for one up to the queue timeout; a 503 with `Retry-After`
    /// when none frees up.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Busy {
                detail: format!(
                    "Every on-demand computation slot stayed busy for {} s; retry shortly, or ask for a \
                     common window (served from a snapshot).",
                    self.queue_timeout.as_secs()
                ),
                retry_after: 5,
            }),
        }
    }

    /// Bytes the cached answers take (approximate; the cache's own bookkeeping aside).
    pub async fn weighted_bytes(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
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
                let _slot = self.slot().await.map_err(Failure::Busy)?;
                let payload = async {
                    let mut conn = platform.pool.acquire().await.map_err(MetricError::Database)?;
                    // Recompute "now" at computation time: the window is the same, only fresher.
                    let fresh = match window.kind {
                        WindowKind::Rolling { days } => {
                            Window::rolling(Utc::now(), window.tz, days).unwrap_or(window)
                        }
                        WindowKind::Calendar { .. } => window,
                    };
                    let mut src = MetricSource::new(&mut conn, platform.dialect, settings).with_days(days);
                    compute(&mut src, endpoint, &fresh, filter).await
                }
                .await
                .map_err(Failure::Metric)?;
                let prepared =
                    Prepared::off_thread(payload.to_string().into_bytes(), "application/json").await;
                Ok::<_, Failure>(Arc::new(prepared))
            })
            .await
            .map_err(|e| match e.as_ref() {
                Failure::Metric(MetricError::Database(db)) => database_error(db),
                Failure::Busy(busy) => busy.clone(),
            })?;
        Ok((answer, false))
    }
}
