//! Answers for uncommon windows and filters, computed by the metric module on demand and kept
//! in a TTL cache bounded by entries and by bytes; concurrent identical requests share one
//! computation, and at most a configured number of computations (exports included) run at
//! once, so a burst of cold windows cannot take every platform connection. Each computation's
//! platform reads carry the statement timeout (`ANALYTICS_STATEMENT_TIMEOUT`), so a slow or blocked query frees its
//! slot and its connection with a 503 instead of holding them for the whole request timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use chrono::{DateTime, NaiveDate, Utc};

use super::error::ApiError;
use super::response::Prepared;
use crate::db::{limit_read, sqlstate, Db, Dialect, ReadScope};
use crate::materializer::standby::{bound, read_replay};
use crate::metrics::current::{self, CurrentTotals};
use crate::metrics::live::{self, Reach};
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
    /// The newest whole-table totals a computation read (see `metrics::current`).
    current: ArcSwapOption<CurrentTotals>,
    /// When freed memory was last handed back (ms after `started`).
    trimmed_at: AtomicU64,
    started: Instant,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    statement_timeout: Duration,
}

/// How long an on-demand computation's platform reads may take unless configured
/// (`ANALYTICS_STATEMENT_TIMEOUT`'s default).
const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a computation waits for a second connection (see [`OnDemand::helper`]).
const HELPER_WAIT: Duration = Duration::from_millis(50);

/// PostgreSQL's SQLSTATE for a statement cancelled by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

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
            current: ArcSwapOption::empty(),
            trimmed_at: AtomicU64::new(0),
            started: Instant::now(),
            slots: Arc::new(Semaphore::new(limits.concurrency.max(1) as usize)),
            queue_timeout: limits.queue_timeout,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        }
    }

    /// Bounds every computation's platform reads by `timeout` (`ANALYTICS_STATEMENT_TIMEOUT`).
    pub fn with_statement_timeout(mut self, timeout: Duration) -> OnDemand {
        self.statement_timeout = timeout;
        self
    }

    /// A read-only transaction on the platform for one computation; on PostgreSQL it carries
    /// the statement timeout, so the server itself stops a query that runs past it.
    pub async fn read(&self, platform: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, ApiError> {
        let mut tx = platform.pool.begin().await?;
        limit_read(&mut tx, platform.dialect, ReadScope::Latest, Some(self.statement_timeout)).await?;
        Ok(tx)
    }

    /// Runs `work` (reads in a transaction from [`OnDemand::read`]) for at most the statement
    /// timeout — SQLite has none of its own — and turns a timeout, ours or PostgreSQL's, into
    /// a 503 with `Retry-After` that names the setting.
    pub async fn within<T>(&self, work: impl Future<Output = Result<T, MetricError>>) -> Result<T, ApiError> {
        match tokio::time::timeout(self.statement_timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(MetricError::Database(e))) if is_cancelled(&e) => Err(self.timed_out()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> ApiError {
        ApiError::Busy {
            detail: format!(
                "The computation read the platform database for longer than ANALYTICS_STATEMENT_TIMEOUT \
                 ({} s) and was stopped; retry shortly, or ask for a common window (served from a snapshot).",
                self.statement_timeout.as_secs_f64()
            ),
            retry_after: 30,
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

    /// Reads the whole-table totals now (start-up), so even a new instance's first on-demand
    /// answer does not scan the wallets and users tables; a failure only means the first
    /// computation reads them itself.
    pub async fn warm(&self, platform: &Db, settings: &MetricSettings) {
        let read = async {
            let now = platform_now(platform).await?;
            let mut tx = self.read(platform).await?;
            let mut src = MetricSource::new(&mut tx, platform.dialect, settings);
            Ok::<_, ApiError>(current::read(&mut src, now).await?)
        };
        match read.await {
            Ok(totals) => self.current.store(Some(Arc::new(totals))),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the wallet and user totals ahead of on-demand answers")
            }
        }
    }

    /// A second read transaction, with the ranges to prefetch through it, for a KPI answer,
    /// whose several partial edge days (the window's and its previous period's when rolling;
    /// the last 24 hours' and the rolling month's always) are read on two connections at once
    /// ([`live::prefetch_shared`]), and for a rolling overview (its window's and previous
    /// period's); only when the pool
    /// gives one within [`HELPER_WAIT`] (an idle one, or a new one while under its size), so a
    /// busy pool is never waited on: the computation then reads on its own connection.
    async fn helper(
        &self,
        platform: &Db,
        endpoint: Endpoint,
        window: &Window,
    ) -> Option<(sqlx::Transaction<'static, sqlx::Any>, Reach)> {
        let reach = match (endpoint, window.kind) {
            (Endpoint::Kpis, _) => Reach::AllPayloads,
            (Endpoint::Overview, WindowKind::Rolling { .. }) => Reach::WindowAndPrevious,
            _ => return None,
        };
        if platform.dialect != Dialect::Postgres {
            return None;
        }
        let conn = tokio::time::timeout(HELPER_WAIT, platform.pool.acquire()).await.ok()?.ok()?;
        let mut tx = sqlx::Transaction::begin(conn, None).await.ok()?;
        limit_read(&mut tx, platform.dialect, ReadScope::Latest, Some(self.statement_timeout)).await.ok()?;
        Some((tx, reach))
    }

    /// Hands what a computation freed (its folded sets, its rows) back to the OS, at most four
    /// times a second and on a blocking thread: without it a server that answered a burst of
    /// uncommon windows at a million users stayed ~40 MB above what it keeps.
    fn release_memory(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.trimmed_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 250
            && self.trimmed_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tokio::task::spawn_blocking(crate::memory::release_freed_memory);
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
                let _slot = self.slot().await?;
                // Recompute "now" at computation time: the window is the same, only fresher. On
                // a hot standby that lags it ends at the last replayed commit, read before the
                // reads begin (see `materializer::standby`).
                let fresh = match window.kind {
                    WindowKind::Rolling { days } => {
                        Window::rolling(platform_now(platform).await?, window.tz, days).unwrap_or(window)
                    }
                    WindowKind::Calendar { .. } => window,
                };
                let mut tx = self.read(platform).await?;
                let mut helper = self.helper(platform, endpoint, &fresh).await;
                let payload = self
                    .within(async {
                        let seed = self.current.load().as_deref().copied().filter(|c| c.usable_at(fresh.now));
                        let mut src = MetricSource::new(&mut tx, platform.dialect, settings)
                            .with_days(days)
                            .with_current(seed);
                        if let Some((helper, reach)) = helper.as_mut() {
                            let mut other = MetricSource::new(helper, platform.dialect, settings);
                            live::prefetch_shared(&mut src, &mut other, &[fresh], *reach).await?;
                        }
                        let payload = compute(&mut src, endpoint, &fresh, filter).await?;
                        if let Some(read) = src.current_read(fresh.now) {
                            self.current.store(Some(Arc::new(read)));
                        }
                        Ok(payload)
                    })
                    .await?;
                drop(tx);
                let body = serde_json::to_vec(&payload)?;
                drop(payload);
                let prepared = Prepared::off_thread(body, "application/json").await;
                self.release_memory();
                Ok::<_, ApiError>(Arc::new(prepared))
            })
            .await
            .map_err(|e| e.as_ref().clone())?;
        Ok((answer, false))
    }
}

/// "Now" for a computation's reads: the wall clock, or on a hot standby that lags the last
/// replayed commit, read before the reads begin (see `materializer::standby`).
async fn platform_now(platform: &Db) -> Result<DateTime<Utc>, ApiError> {
    let replay = read_replay(platform).await?;
    Ok(bound(Utc::now(), &replay).map_err(ApiError::Unavailable)?.now)
}

/// Whether PostgreSQL cancelled the statement (its `statement_timeout`).
fn is_cancelled(e: &sqlx::Error) -> bool {
    sqlstate(e).is_some_and(|code| code == QUERY_CANCELED)
}
