//! Background tasks that must not die quietly: a supervised task that panics is logged,
//! counted and started again, and its health is visible to `/readyz`, `admin/status/` and
//! `/metrics`. Tasks stop with the server through a [`Shutdown`] signal.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a supervisor waits before starting a task that panicked again, so a task that
/// panics at once does not spin.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// What operators see of a supervised task.
#[derive(Debug, Default)]
pub struct TaskHealth {
    restarts: AtomicU64,
    last_panic: Mutex<Option<(DateTime<Utc>, String)>>,
}

impl TaskHealth {
    /// How many times the task panicked and was started again.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// When the task last panicked, and the panic's message.
    pub fn last_panic(&self) -> Option<(DateTime<Utc>, String)> {
        self.last_panic.lock().expect("not poisoned").clone()
    }

    fn record_panic(&self, message: String) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        *self.last_panic.lock().expect("not poisoned") = Some((Utc::now(), message));
    }
}

/// Runs `make()`'s future until it returns, starting it again each time it panics. The
/// future returning (not panicking) ends the supervision: that is how a task stops.
pub fn supervise<F, Fut>(name: &'static str, health: Arc<TaskHealth>, make: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match tokio::spawn(make()).await {
                Ok(()) => return,
                Err(e) if e.is_panic() => {
                    let message = panic_message(e.into_panic());
                    tracing::error!(task = name, panic = %message, "background task panicked; starting it again");
                    health.record_panic(message);
                    tokio::time::sleep(RESTART_DELAY).await;
                }
                Err(_) => return,
            }
        }
    })
}

/// The text of a panic payload.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "a panic without a message".to_string(),
        },
    }
}

/// A signal every background task watches; set once, when the server stops.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown { tx: Arc::new(tx), rx }
    }
}

impl Shutdown {
    /// Tells every task to stop.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether stopping was asked.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once stopping is asked (at once if it already was).
    pub async fn triggered(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_counted_and_started_again() {
        let health = Arc::new(TaskHealth::default());
        let starts = Arc::new(AtomicUsize::new(0));
        let counter = starts.clone();
        let handle = supervise("test", health.clone(), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
            }
        });
        handle.await.unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        assert_eq!(health.restarts(), 2);
        assert_eq!(health.last_panic().unwrap().1, "boom 1");
    }

    #[tokio::test]
    async fn shutdown_resolves_for_every_watcher() {
        let shutdown = Shutdown::default();
        let watcher = shutdown.clone();
        let waiting = tokio::spawn(async move { watcher.triggered().await });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        waiting.await.unwrap();
        shutdown.triggered().await;
        assert!(shutdown.is_triggered());
    }
}
