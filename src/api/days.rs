//! Keeps this instance's day store as new as its snapshots, so on-demand windows fold whole
//! days from memory. An instance that ran the latest run already holds that run's store; any
//! other (`serve --no-scheduler`, or the instance that lost the lease) reads its own in the
//! background, one read snapshot per landed run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::materializer::run::read_day_store;
use crate::materializer::Materializer;
use crate::metrics::{DaySlot, DayStore};

/// After a failed read, wait this long before trying again (the platform may be down).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The day store slot plus what stops two background reads or a retry storm.
#[derive(Debug)]
pub struct DayKeeper {
    slot: Arc<DaySlot>,
    reading: AtomicBool,
    failed_at: Mutex<Option<Instant>>,
}

impl DayKeeper {
    /// Watches `slot` (shared with this process's materializer).
    pub fn new(slot: Arc<DaySlot>) -> DayKeeper {
        DayKeeper { slot, reading: AtomicBool::new(false), failed_at: Mutex::new(None) }
    }

    /// The store on-demand windows fold from, if one has been read.
    pub fn store(&self) -> Option<Arc<DayStore>> {
        self.slot.get()
    }

    /// The current store with the run it belongs to (for `admin/status/`).
    pub fn current(&self) -> Option<(i64, Arc<DayStore>)> {
        self.slot.current()
    }

    /// Starts a background read when the store is older than `loaded_run` (the snapshots'
    /// run; 0 when none is loaded) and nobody is producing a newer one already.
    pub fn catch_up(self: &Arc<Self>, materializer: &Materializer, loaded_run: i64) {
        if self.slot.run_id().is_some_and(|id| id >= loaded_run) || materializer.is_running() {
            return;
        }
        let recently_failed = self
            .failed_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() < RETRY_AFTER);
        if recently_failed || self.reading.swap(true, Ordering::SeqCst) {
            return;
        }
        let keeper = self.clone();
        let materializer = materializer.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            match read_day_store(materializer.context()).await {
                Ok(store) => {
                    tracing::info!(
                        run_id = loaded_run,
                        days = store.len(),
                        bytes = store.approx_bytes(),
                        ms = started.elapsed().as_millis() as u64,
                        "day store read"
                    );
                    keeper.slot.publish(loaded_run, store);
                    crate::memory::release_freed_memory();
                    *keeper.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the day store; on-demand windows read every row until it can");
                    *keeper.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                }
            }
            keeper.reading.store(false, Ordering::SeqCst);
        });
    }
}
