//! Platform totals that have no window (every wallet's balance, every user's flags), carried
//! from one on-demand computation to the next for a short while.
//!
//! Both are reads of a whole table: at a million users each takes ~85 ms, more than the rest
//! of a calendar window's answer. An API instance therefore keeps the newest pair it read
//! (at start-up, then whenever a computation reads them again) and seeds later computations
//! with it for [`REUSE_FOR`]. Users who joined since are still counted exactly (a small index
//! read of their flags is added to the remembered totals); what may be up to `REUSE_FOR` old
//! is a balance or a flag of an existing row, the same kind of lag the answer cache
//! (`ANALYTICS_CACHE_TTL`) already allows.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::facts::platform::wallet_totals;
use super::facts::users::user_flags;
use super::rows::{UserFlags, WalletTotals};
use super::source::Source;

/// How long remembered totals seed new computations.
pub const REUSE_FOR: Duration = Duration::from_secs(30);

/// Wallet totals and users' flags as read at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentTotals {
    /// When they were read (the computation's `now`).
    pub at: DateTime<Utc>,
    /// Sums over every wallet.
    pub wallets: WalletTotals,
    /// Users joined before `at`, with their flags.
    pub flags: UserFlags,
}

impl CurrentTotals {
    /// Whether these may seed a computation at `now`: read at or before it, and recently.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.at <= now && (now - self.at).to_std().is_ok_and(|age| age <= REUSE_FOR)
    }
}

/// Reads both totals at `now` through `src` (start-up warming).
pub async fn read(src: &mut Source<'_>, now: DateTime<Utc>) -> Result<CurrentTotals, sqlx::Error> {
    Ok(CurrentTotals { at: now, wallets: wallet_totals(src).await?, flags: user_flags(src, now).await? })
}

impl Source<'_> {
    /// Starts this source from `totals` (when given): its wallet totals are used as read, and
    /// its flags plus those of the users who joined since.
    pub fn with_current(mut self, totals: Option<CurrentTotals>) -> Self {
        if let Some(totals) = totals {
            let memo = self.memo();
            memo.wallets = Some(totals.wallets);
            memo.flags_base = Some((totals.at, totals.flags));
        }
        self
    }

    /// The totals this source read whole from the platform at `now`, if it read both (not
    /// seeded ones): what the next computations may start from.
    pub fn current_read(&mut self, now: DateTime<Utc>) -> Option<CurrentTotals> {
        let memo = self.memo();
        if memo.flags_base.is_some() {
            return None;
        }
        Some(CurrentTotals { at: now, wallets: memo.wallets?, flags: *memo.flags.get(&now)? })
    }
}
