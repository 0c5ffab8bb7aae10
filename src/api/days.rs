//! Keeps this instance's day store as new as its snapshots, so on-demand windows fold whole
//! days from memory. An instance that ran the latest run already holds that run's store; any
//! other (`serve --no-scheduler`, or the instance that lost the lease) loads the days that run
//! rewrote from the summary database — never from the platform.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono_tz::Tz;

use crate::db::Db;
use crate::materializer::days::load_into;
use crate::metrics::{DaySlot, DayStore};

/// After a failed load, wait this long before trying again (the summary database may be down).
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The day store slot plus what stops two background loads or a retry storm.
#[derive(Debug)]
pub struct DayKeeper {
    slot: Arc<DaySlot>,
    summary: Db,
    tz: Tz,
    loading: AtomicBool,
    failed_at: Mutex<Option<Instant>>,
}

impl DayKeeper {
    /// Watches `slot` (shared with this process's materializer), loading from `summary`.
    pub fn new(slot: Arc<DaySlot>, summary: Db, tz: Tz) -> DayKeeper {
        DayKeeper { slot, summary, tz, loading: AtomicBool::new(false), failed_at: Mutex::new(None) }
    }

    /// The store on-demand windows fold from, if one has been loaded.
    pub fn store(&self) -> Option<Arc<DayStore>> {
        self.slot.get()
    }

    /// The current store with the run it belongs to (for `admin/status/`).
    pub fn current(&self) -> Option<(i64, Arc<DayStore>)> {
        self.slot.current()
    }

    /// Loads the stored days now (start-up: before the first request is accepted).
    pub async fn load(&self) {
        let started = Instant::now();
        match load_into(&self.slot, &self.summary, self.tz).await {
            Ok(Some(run_id)) => {
                let store = self.slot.get();
                tracing::info!(
                    run_id,
                    days = store.as_ref().map_or(0, |s| s.len()),
                    bytes = store.as_ref().map_or(0, |s| s.approx_bytes()),
                    ms = started.elapsed().as_millis() as u64,
                    "day store loaded"
                );
                crate::memory::release_freed_memory();
                *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Ok(None) => tracing::info!(
                "no stored days for this zone yet; on-demand windows read every row until a run stores them"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not load the stored days; on-demand windows read every row until they load");
                *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            }
        }
    }

    /// Starts a background load when the store is older than `loaded_run` (the snapshots' run;
    /// 0 when none is loaded) and no load is under way.
    pub fn catch_up(self: &Arc<Self>, loaded_run: i64) {
        if self.slot.run_id().is_some_and(|id| id >= loaded_run) {
            return;
        }
        let recently_failed = self
            .failed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() < RETRY_AFTER);
        if recently_failed || self.loading.swap(true, Ordering::SeqCst) {
            return;
        }
        let keeper = self.clone();
        tokio::spawn(async move {
            keeper.load().await;
            keeper.loading.store(false, Ordering::SeqCst);
        });
    }
}
