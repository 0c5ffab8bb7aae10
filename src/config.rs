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
