//! How a run ends: its outcome, the errors that fail it, and the words its recorded error
//! starts with, shared by the run itself, its platform read and `verify`.

use super::standby::is_recovery_conflict;
use crate::db::is_unreachable;
use crate::telemetry::error_chain;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// The `analytics_run` id (`None` when the run never started, e.g. the summary DB was down).
    pub run_id: Option<i64>,
    /// `None` on success, else what went wrong (also stored in `analytics_run.error`).
    pub error: Option<String>,
}

impl RunOutcome {
    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Reading the platform database failed or timed out.
    #[error("platform read failed: {0}")]
    Platform(String),
    /// A hot standby cancelled the platform read because replay needed rows it still saw:
    /// retried a few times before the run fails.
    #[error("platform read failed: {0}")]
    RecoveryConflict(String),
    /// Writing the summary database failed.
    #[error("summary write failed: {0}")]
    Write(String),
    /// Another instance took the lease over while this run was computing (it outlived its lease).
    #[error("the run lease was lost before the results were written; nothing was stored")]
    LeaseLost,
}

/// How a run's error starts when the platform database could not be reached.
pub const PLATFORM_UNREACHABLE: &str = "the platform database cannot be reached";

/// How a cancelled run's error starts (`analytics_run.error`); its status is `failed`, the
/// one failure status the run table defines.
pub const CANCELLED: &str = "cancelled:";

/// A platform failure as the run records it; one that means the database is out of reach says
/// so first, so an operator reading `admin/runs/` need not decode "pool timed out".
pub(crate) fn platform_error(e: &(dyn std::error::Error + 'static)) -> RunError {
    let chain = error_chain(e);
    let causes =
        || std::iter::successors(Some(e), |e| e.source()).filter_map(|c| c.downcast_ref::<sqlx::Error>());
    if causes().any(is_recovery_conflict) {
        return RunError::RecoveryConflict(chain);
    }
    let unreachable = causes().any(is_unreachable);
    RunError::Platform(if unreachable { format!("{PLATFORM_UNREACHABLE}: {chain}") } else { chain })
}
