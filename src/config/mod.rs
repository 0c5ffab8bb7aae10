//! Settings: every one is an environment variable (12-factor, `.env` read if present) and the
//! main ones also a flag. Values are validated when parsed, and a bad one stops the program
//! with a message naming the variable.

mod parse;

use chrono_tz::Tz;
use clap::Args;
use rust_decimal::Decimal;

pub use parse::{
    byte_size, cors_origins, count_in, duration, duration_or_zero, parse_time_zone, parse_windows,
    settle_days, switch,
};
use parse::{parse_algorithm, share};

/// Where the platform's Django tables live.
#[derive(Args, Clone)]
pub struct PlatformDb {
    /// Platform database URL, `postgres://…` or `sqlite://path` (Django's database).
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

/// Shows where the database is, never who connects or with what password.
impl std::fmt::Debug for PlatformDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformDb")
            .field("database_url", &crate::db::redact_url(&self.database_url))
            .finish()
    }
}

/// Settings that change computed numbers (defaults in docs/METRICS.md).
#[derive(Args, Clone, Debug)]
pub struct MetricArgs {
    /// Reporting time zone (IANA name) for days, weeks, months and "today".
    #[arg(long, env = "ANALYTICS_TIME_ZONE", default_value = "Africa/Lagos", value_parser = parse_time_zone)]
    pub time_zone: Tz,
    /// Share of revenue reported as net profit.
    #[arg(long, env = "ANALYTICS_PROFIT_MARGIN", default_value = "0.80", value_parser = share("ANALYTICS_PROFIT_MARGIN"))]
    pub profit_margin: Decimal,
    /// Share of revenue reported as expenses.
    #[arg(long, env = "ANALYTICS_EXPENSE_RATIO", default_value = "0.20", value_parser = share("ANALYTICS_EXPENSE_RATIO"))]
    pub expense_ratio: Decimal,
    /// Share of all-time revenue counted as acquisition spend in CAC.
    #[arg(long, env = "ANALYTICS_CAC_EXPENSE_RATIO", default_value = "0.20", value_parser = share("ANALYTICS_CAC_EXPENSE_RATIO"))]
    pub cac_expense_ratio: Decimal,
    /// DAU target as a share of users.
    #[arg(long, env = "ANALYTICS_DAU_TARGET", default_value = "0.30", value_parser = share("ANALYTICS_DAU_TARGET"))]
    pub dau_target: Decimal,
    /// MAU target as a share of users.
    #[arg(long, env = "ANALYTICS_MAU_TARGET", default_value = "0.70", value_parser = share("ANALYTICS_MAU_TARGET"))]
    pub mau_target: Decimal,
}

/// Settings of the materializer: where summaries go, which windows, when, and how patiently.
#[derive(Args, Clone)]
pub struct MaterializerArgs {
    /// Summary database URL (the `analytics_*` tables); defaults to DATABASE_URL.
    #[arg(long = "analytics-database-url", env = "ANALYTICS_DATABASE_URL", hide_env_values = true)]
    pub analytics_database_url: Option<String>,
    /// Common windows precomputed by every run, comma-separated days.
    #[arg(long, env = "ANALYTICS_WINDOWS", default_value = "1,7,30,90,365", value_parser = parse_windows)]
    pub windows: Windows,
    /// Cron schedule with seconds for runs; empty disables scheduled runs.
    #[arg(long, env = "ANALYTICS_SCHEDULE", default_value = "0 */5 * * * *")]
    pub schedule: String,
    /// How long a run's lease lasts without renewal (a crashed instance blocks runs at most this long).
    #[arg(long, env = "ANALYTICS_LEASE_TTL", default_value = "60s", value_parser = duration("ANALYTICS_LEASE_TTL"))]
    pub lease_ttl: std::time::Duration,
    /// Longest a platform query may run before it is cancelled.
    #[arg(long, env = "ANALYTICS_STATEMENT_TIMEOUT", default_value = "60s", value_parser = duration("ANALYTICS_STATEMENT_TIMEOUT"))]
    pub statement_timeout: std::time::Duration,
    /// Whole local days every incremental run re-reads (besides the days ended since the last
    /// run): how long a pending status may take to settle and still be counted before the
    /// next full rebuild.
    #[arg(long, env = "ANALYTICS_SETTLE_DAYS", default_value = "3", value_parser = settle_days)]
    pub settle_days: u32,
    /// Whether runs delete the change-log rows they have applied (when the platform connection
    /// can write). Turn it off on every consumer but one when several summary databases read
    /// one platform's log: a consumer whose unread rows another pruned must rebuild.
    #[arg(long, env = "ANALYTICS_CAPTURE_PRUNE", default_value = "true", value_parser = switch("ANALYTICS_CAPTURE_PRUNE"))]
    pub capture_prune: bool,
    /// Cron schedule with seconds for full rebuilds of the stored days; empty disables them.
    #[arg(long, env = "ANALYTICS_REBUILD_SCHEDULE", default_value = "0 30 3 * * *")]
    pub rebuild_schedule: String,
    /// How many local days `analytics_metric_history` keeps (every run's values for the last
    /// week, then each day's last run); 0 keeps none.
    #[arg(long, env = "ANALYTICS_METRIC_HISTORY_DAYS", default_value = "400", value_parser = count_in("ANALYTICS_METRIC_HISTORY_DAYS", 0, 3650))]
    pub metric_history_days: u32,
    /// Connections to the platform database: one for a run, the rest for on-demand windows,
    /// exports and day-store reads (token checks have a pool of their own).
    #[arg(long, env = "ANALYTICS_PLATFORM_POOL_SIZE", default_value = "5", value_parser = count_in("ANALYTICS_PLATFORM_POOL_SIZE", 2, 256))]
    pub platform_pool_size: u32,
    /// Connections to the summary database (run writes, snapshot reloads, admin routes).
    #[arg(long, env = "ANALYTICS_SUMMARY_POOL_SIZE", default_value = "4", value_parser = count_in("ANALYTICS_SUMMARY_POOL_SIZE", 2, 256))]
    pub summary_pool_size: u32,
}

/// Every field, with the summary database URL shown without credentials.
impl std::fmt::Debug for MaterializerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaterializerArgs")
            .field(
                "analytics_database_url",
                &self.analytics_database_url.as_deref().map(crate::db::redact_url),
            )
            .field("windows", &self.windows)
            .field("schedule", &self.schedule)
            .field("lease_ttl", &self.lease_ttl)
            .field("statement_timeout", &self.statement_timeout)
            .field("settle_days", &self.settle_days)
            .field("capture_prune", &self.capture_prune)
            .field("rebuild_schedule", &self.rebuild_schedule)
            .field("metric_history_days", &self.metric_history_days)
            .field("platform_pool_size", &self.platform_pool_size)
            .field("summary_pool_size", &self.summary_pool_size)
            .finish()
    }
}

/// A validated, sorted, de-duplicated list of common windows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Windows(pub Vec<i64>);

impl Windows {
    /// The largest window (whose daily series go to `analytics_daily_metric`).
    pub fn largest(&self) -> i64 {
        self.0.iter().copied().max().unwrap_or(0)
    }
}

/// A secret that never prints: `Debug` shows `***`, so it cannot leak into logs.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "(unset)" } else { "***" })
    }
}

/// `Display` too: a secret formatted into a message by mistake prints `***`.
impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Secret {
    /// The secret itself, for the one place that needs it (a key, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Token verification settings (Django SimpleJWT compatible).
#[derive(Args, Clone, Debug)]
pub struct AuthArgs {
    /// HS256 signing key; falls back to DJANGO_SECRET_KEY, SimpleJWT's default.
    #[arg(long, env = "ANALYTICS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Django's SECRET_KEY (used when ANALYTICS_JWT_SECRET is unset).
    #[arg(long, env = "DJANGO_SECRET_KEY", hide_env_values = true)]
    pub django_secret_key: Option<Secret>,
    /// HS256 (default) or RS256.
    #[arg(long, env = "ANALYTICS_JWT_ALGORITHM", default_value = "HS256", value_parser = parse_algorithm)]
    pub jwt_algorithm: jsonwebtoken::Algorithm,
    /// PEM public key for RS256.
    #[arg(long, env = "ANALYTICS_JWT_PUBLIC_KEY", hide_env_values = true)]
    pub jwt_public_key: Option<Secret>,
    /// The claim carrying the user id (SimpleJWT's USER_ID_CLAIM).
    #[arg(long, env = "ANALYTICS_USER_ID_CLAIM", default_value = "user_id")]
    pub user_id_claim: String,
    /// How long a user's active/staff flags may be reused without asking the database.
    #[arg(long, env = "ANALYTICS_AUTH_CACHE_TTL", default_value = "30s", value_parser = duration("ANALYTICS_AUTH_CACHE_TTL"))]
    pub auth_cache_ttl: std::time::Duration,
    /// How long a user's last flags may stand in while the platform database cannot be
    /// connected to at all (connection refused, reset, closed); 0 disables. Any answer from
    /// the database, an error included, ends it.
    #[arg(long, env = "ANALYTICS_AUTH_STALE_IF_UNREACHABLE", default_value = "10m", value_parser = duration_or_zero("ANALYTICS_AUTH_STALE_IF_UNREACHABLE"))]
    pub auth_stale_if_unreachable: std::time::Duration,
    /// Connections reserved for token checks, so a busy platform pool never starves them.
    #[arg(long, env = "ANALYTICS_AUTH_POOL_SIZE", default_value = "2", value_parser = count_in("ANALYTICS_AUTH_POOL_SIZE", 1, 64))]
    pub auth_pool_size: u32,
}

impl AuthArgs {
    /// The HS256 key in force, naming the variables when none is set.
    pub fn hs256_secret(&self) -> Result<Secret, String> {
        self.jwt_secret
            .clone()
            .or_else(|| self.django_secret_key.clone())
            .filter(|s| !s.0.is_empty())
            .ok_or_else(|| {
                "ANALYTICS_JWT_SECRET (or DJANGO_SECRET_KEY) must be set to verify tokens".to_string()
            })
    }
}

/// HTTP serving settings.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "ANALYTICS_BIND", default_value = "0.0.0.0:8000")]
    pub bind: std::net::SocketAddr,
    /// Serve only: no scheduled runs in this instance (extra API replicas).
    #[arg(long)]
    pub no_scheduler: bool,
    /// How often stored snapshots are checked for a newer run.
    #[arg(long, env = "ANALYTICS_RELOAD_INTERVAL", default_value = "5s", value_parser = duration("ANALYTICS_RELOAD_INTERVAL"))]
    pub reload_interval: std::time::Duration,
    /// How long an on-demand answer is reused.
    #[arg(long, env = "ANALYTICS_CACHE_TTL", default_value = "300s", value_parser = duration("ANALYTICS_CACHE_TTL"))]
    pub cache_ttl: std::time::Duration,
    /// Most on-demand answers kept.
    #[arg(long, env = "ANALYTICS_CACHE_MAX_ENTRIES", default_value = "1000", value_parser = count_in("ANALYTICS_CACHE_MAX_ENTRIES", 1, 10_000_000))]
    pub cache_max_entries: u32,
    /// Most bytes of on-demand answers kept (their plain and compressed bodies).
    #[arg(long, env = "ANALYTICS_CACHE_MAX_BYTES", default_value = "64MiB", value_parser = byte_size("ANALYTICS_CACHE_MAX_BYTES"))]
    pub cache_max_bytes: u64,
    /// Most on-demand computations (uncommon windows, exports) running at once; others wait.
    #[arg(long, env = "ANALYTICS_ONDEMAND_CONCURRENCY", default_value = "2", value_parser = count_in("ANALYTICS_ONDEMAND_CONCURRENCY", 1, 256))]
    pub ondemand_concurrency: u32,
    /// How long a request waits for an on-demand slot before a 503 with `Retry-After`.
    #[arg(long, env = "ANALYTICS_ONDEMAND_QUEUE_TIMEOUT", default_value = "30s", value_parser = duration("ANALYTICS_ONDEMAND_QUEUE_TIMEOUT"))]
    pub ondemand_queue_timeout: std::time::Duration,
    /// Shortest gap between admin-triggered runs across every instance (429 with
    /// `Retry-After` inside it); 0 disables.
    #[arg(long, env = "ANALYTICS_ADMIN_MIN_INTERVAL", default_value = "30s", value_parser = duration_or_zero("ANALYTICS_ADMIN_MIN_INTERVAL"))]
    pub admin_min_interval: std::time::Duration,
    /// Origins allowed by CORS: comma-separated (e.g. `https://admin.mafitapay.com`), or `*`.
    #[arg(long, env = "ANALYTICS_CORS_ORIGINS", default_value = "", value_parser = cors_origins)]
    pub cors_origins: CorsOrigins,
}

/// Which browser origins may call the API (`ANALYTICS_CORS_ORIGINS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin.
    Any,
    /// Exactly these origins, lower-cased (none: same-origin only).
    List(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_credentials() {
        let db = PlatformDb { database_url: "postgres://app:s3cret@db.internal/mafita".into() };
        let shown = format!("{db:?}");
        assert!(
            shown.contains("db.internal") && !shown.contains("s3cret") && !shown.contains("app:"),
            "{shown}"
        );
        let key = Secret("hunter2".into());
        assert_eq!(format!("{key:?} {key}"), "*** ***");
    }
}
