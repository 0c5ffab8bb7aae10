//! Settings: every one is an environment variable (12-factor, `.env` read if present) and the
//! main ones also a flag. Values are validated when parsed, and a bad one stops the program
//! with a message naming the variable.

use chrono_tz::Tz;
use clap::Args;
use rust_decimal::Decimal;

use crate::metrics::MetricSettings;

/// Where the platform's Django tables live.
#[derive(Args, Clone, Debug)]
pub struct PlatformDb {
    /// Platform database URL, `postgres://…` or `sqlite://path` (Django's database).
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

/// Settings that change computed numbers (SPEC §4 defaults).
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

impl MetricArgs {
    /// The settings the metric layer takes.
    pub fn settings(&self) -> MetricSettings {
        MetricSettings {
            tz: self.time_zone,
            profit_margin: self.profit_margin,
            expense_ratio: self.expense_ratio,
            cac_expense_ratio: self.cac_expense_ratio,
            dau_target: self.dau_target,
            mau_target: self.mau_target,
        }
    }
}

/// Parses an IANA zone name, naming the variable when it is not one.
pub fn parse_time_zone(value: &str) -> Result<Tz, String> {
    value.trim().parse::<Tz>().map_err(|_| {
        format!("ANALYTICS_TIME_ZONE must be an IANA time zone name such as Africa/Lagos (got {value:?})")
    })
}

/// A parser for a decimal share in `0..=1` that names `variable` in its error.
fn share(variable: &'static str) -> impl Fn(&str) -> Result<Decimal, String> + Clone {
    move |value: &str| {
        value
            .trim()
            .parse::<Decimal>()
            .ok()
            .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE)
            .ok_or_else(|| format!("{variable} must be a decimal from 0 to 1 such as 0.20 (got {value:?})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_variable() {
        assert!(parse_time_zone("Mars/Olympus").unwrap_err().contains("ANALYTICS_TIME_ZONE"));
        assert!(share("ANALYTICS_PROFIT_MARGIN")("1.5").unwrap_err().contains("ANALYTICS_PROFIT_MARGIN"));
        assert_eq!(share("X")("0.25").unwrap(), Decimal::new(25, 2));
        assert_eq!(parse_time_zone("America/New_York").unwrap(), chrono_tz::America::New_York);
    }
}

/// Settings of the materializer: where summaries go, which windows, when, and how patiently.
#[derive(Args, Clone, Debug)]
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
    /// Cron schedule with seconds for full rebuilds of the stored days; empty disables them.
    #[arg(long, env = "ANALYTICS_REBUILD_SCHEDULE", default_value = "0 30 3 * * *")]
    pub rebuild_schedule: String,
}

/// Parses `ANALYTICS_SETTLE_DAYS`: whole days, 0..=365.
pub fn settle_days(value: &str) -> Result<u32, String> {
    value.trim().parse::<u32>().ok().filter(|d| *d <= 365).ok_or_else(|| {
        format!("ANALYTICS_SETTLE_DAYS must be a whole number of days in 0..=365 (got {value:?})")
    })
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

/// Parses `ANALYTICS_WINDOWS` / `--windows`: comma-separated days, each 1..=3650.
pub fn parse_windows(value: &str) -> Result<Windows, String> {
    let mut days = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let d = part
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=crate::metrics::window::MAX_DAYS).contains(d))
            .ok_or_else(|| {
                format!("ANALYTICS_WINDOWS must list days from 1 to 3650 separated by commas (got {part:?})")
            })?;
        days.push(d);
    }
    if days.is_empty() {
        return Err("ANALYTICS_WINDOWS must list at least one window, such as 1,7,30,90,365".into());
    }
    days.sort_unstable();
    days.dedup();
    Ok(Windows(days))
}

/// A parser for durations such as `60s`, `500ms`, `5m`, `1h` or plain seconds, naming `variable`.
pub fn duration(variable: &'static str) -> impl Fn(&str) -> Result<std::time::Duration, String> + Clone {
    move |value: &str| {
        let v = value.trim();
        let (number, unit) = v.find(|c: char| !c.is_ascii_digit()).map_or((v, "s"), |i| v.split_at(i));
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{variable} must be a duration such as 60s, 500ms or 5m (got {value:?})"))?;
        let d = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n * 60),
            "h" => std::time::Duration::from_secs(n * 3600),
            _ => {
                return Err(format!("{variable} must be a duration such as 60s, 500ms or 5m (got {value:?})"))
            }
        };
        if d.is_zero() {
            return Err(format!("{variable} must be longer than zero (got {value:?})"));
        }
        Ok(d)
    }
}

#[cfg(test)]
mod materializer_tests {
    use super::*;

    #[test]
    fn windows_are_sorted_deduplicated_and_bounded() {
        assert_eq!(parse_windows("30, 7,7,365").unwrap(), Windows(vec![7, 30, 365]));
        assert!(parse_windows("0").unwrap_err().contains("ANALYTICS_WINDOWS"));
        assert!(parse_windows("").unwrap_err().contains("ANALYTICS_WINDOWS"));
        assert!(parse_windows("7,x").unwrap_err().contains("\"x\""));
    }

    #[test]
    fn durations_accept_units_and_name_the_variable() {
        let p = duration("ANALYTICS_LEASE_TTL");
        assert_eq!(p("60s").unwrap(), std::time::Duration::from_secs(60));
        assert_eq!(p("250ms").unwrap(), std::time::Duration::from_millis(250));
        assert_eq!(p("5m").unwrap(), std::time::Duration::from_secs(300));
        assert_eq!(p("90").unwrap(), std::time::Duration::from_secs(90));
        assert!(p("soon").unwrap_err().contains("ANALYTICS_LEASE_TTL"));
        assert!(p("0s").unwrap_err().contains("ANALYTICS_LEASE_TTL"));
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

fn parse_algorithm(value: &str) -> Result<jsonwebtoken::Algorithm, String> {
    match value.trim().to_ascii_uppercase().as_str() {
        "HS256" => Ok(jsonwebtoken::Algorithm::HS256),
        "RS256" => Ok(jsonwebtoken::Algorithm::RS256),
        _ => Err(format!("ANALYTICS_JWT_ALGORITHM must be HS256 or RS256 (got {value:?})")),
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
    #[arg(long, env = "ANALYTICS_CACHE_MAX_ENTRIES", default_value_t = 1000)]
    pub cache_max_entries: u64,
    /// Origins allowed by CORS (comma-separated, e.g. https://admin.mafitapay.com).
    #[arg(long, env = "ANALYTICS_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
}
