//! Value parsers for the settings: each validates one kind of value and names the variable
//! in its error, so a bad setting stops the program with a message an operator can act on.

use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::{CorsOrigins, Windows};
use crate::time::MAX_DAYS;

/// Parses an IANA zone name, naming the variable when it is not one.
pub fn parse_time_zone(value: &str) -> Result<Tz, String> {
    value.trim().parse::<Tz>().map_err(|_| {
        format!("ANALYTICS_TIME_ZONE must be an IANA time zone name such as Africa/Lagos (got {value:?})")
    })
}

/// A parser for a decimal share in `0..=1` that names `variable` in its error.
pub(crate) fn share(variable: &'static str) -> impl Fn(&str) -> Result<Decimal, String> + Clone {
    move |value: &str| {
        value
            .trim()
            .parse::<Decimal>()
            .ok()
            .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE)
            .ok_or_else(|| format!("{variable} must be a decimal from 0 to 1 such as 0.20 (got {value:?})"))
    }
}

/// Parses `ANALYTICS_SETTLE_DAYS`: whole days, 0..=365.
pub fn settle_days(value: &str) -> Result<u32, String> {
    value.trim().parse::<u32>().ok().filter(|d| *d <= 365).ok_or_else(|| {
        format!("ANALYTICS_SETTLE_DAYS must be a whole number of days in 0..=365 (got {value:?})")
    })
}

/// A parser for an on/off setting (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`) that names
/// `variable` in its error.
pub fn switch(variable: &'static str) -> impl Fn(&str) -> Result<bool, String> + Clone {
    move |value: &str| match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{variable} must be true or false (got {value:?})")),
    }
}

/// Parses `ANALYTICS_WINDOWS` / `--windows`: comma-separated days, each 1..=3650.
pub fn parse_windows(value: &str) -> Result<Windows, String> {
    let mut days = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let d = part.parse::<i64>().ok().filter(|d| (1..=MAX_DAYS).contains(d)).ok_or_else(|| {
            format!(
                "ANALYTICS_WINDOWS must list days from 1 to {MAX_DAYS} separated by commas (got {part:?})"
            )
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
        let bad = || format!("{variable} must be a duration such as 60s, 500ms or 5m (got {value:?})");
        let d = match unit {
            "ms" => std::time::Duration::from_millis(n),
            "s" => std::time::Duration::from_secs(n),
            "m" => std::time::Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => std::time::Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        if d.is_zero() {
            return Err(format!("{variable} must be longer than zero (got {value:?})"));
        }
        Ok(d)
    }
}

/// [`duration`] that also accepts zero (`0`, `0s`): "off" for the limits that can be disabled.
pub fn duration_or_zero(
    variable: &'static str,
) -> impl Fn(&str) -> Result<std::time::Duration, String> + Clone {
    move |value: &str| {
        let v = value.trim();
        if v.trim_end_matches(|c: char| c.is_ascii_alphabetic()).chars().all(|c| c == '0') && !v.is_empty() {
            return Ok(std::time::Duration::ZERO);
        }
        duration(variable)(value)
    }
}

/// A parser for a whole number in `min..=max` that names `variable` (pool sizes, concurrency).
pub fn count_in(variable: &'static str, min: u32, max: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |value: &str| {
        value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("{variable} must be a whole number from {min} to {max} (got {value:?})"))
    }
}

/// A parser for sizes such as `64MiB`, `500MB`, `1GiB` or plain bytes, naming `variable`.
pub fn byte_size(variable: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |value: &str| {
        let v = value.trim();
        let bad = || format!("{variable} must be a size such as 64MiB, 500MB or 1048576 (got {value:?})");
        let (number, unit) = v.find(|c: char| !c.is_ascii_digit()).map_or((v, ""), |i| v.split_at(i));
        let n: u64 = number.parse().map_err(|_| bad())?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "kib" => 1 << 10,
            "mb" => 1_000_000,
            "mib" => 1 << 20,
            "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            _ => return Err(bad()),
        };
        let bytes = n.checked_mul(scale).ok_or_else(bad)?;
        if bytes == 0 {
            return Err(format!("{variable} must be larger than zero (got {value:?})"));
        }
        Ok(bytes)
    }
}

/// Parses `ANALYTICS_CORS_ORIGINS`: empty (no cross-origin access), `*` (any origin: tokens
/// travel in the `Authorization` header, never in cookies, so no credentials are exposed), or
/// comma-separated origins exactly as browsers send them (`https://admin.example.com`,
/// `http://localhost:3000`: a scheme, a host, an optional port, nothing after).
pub fn cors_origins(value: &str) -> Result<CorsOrigins, String> {
    let parts: Vec<&str> = value.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
    if parts == ["*"] {
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::with_capacity(parts.len());
    for origin in parts {
        if origin == "*" {
            return Err(
                "ANALYTICS_CORS_ORIGINS: * allows every origin and cannot be combined with others".into()
            );
        }
        let rest =
            origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).ok_or_else(|| {
                format!("ANALYTICS_CORS_ORIGINS: {origin:?} must start with https:// or http://")
            })?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !rest.ends_with(']') => (h, Some(p)),
            _ => (rest, None),
        };
        let host_ok = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
        if !host_ok || !port_ok {
            return Err(format!(
                "ANALYTICS_CORS_ORIGINS: {origin:?} is not an origin; write it as browsers send it, \
                 scheme://host[:port] with no path or trailing slash (e.g. https://admin.mafitapay.com)"
            ));
        }
        origins.push(origin.to_ascii_lowercase());
    }
    Ok(CorsOrigins::List(origins))
}

pub(crate) fn parse_algorithm(value: &str) -> Result<jsonwebtoken::Algorithm, String> {
    match value.trim().to_ascii_uppercase().as_str() {
        "HS256" => Ok(jsonwebtoken::Algorithm::HS256),
        "RS256" => Ok(jsonwebtoken::Algorithm::RS256),
        _ => Err(format!("ANALYTICS_JWT_ALGORITHM must be HS256 or RS256 (got {value:?})")),
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

#[cfg(test)]
mod serve_tests {
    use super::*;

    #[test]
    fn cors_origins_accept_star_and_exact_origins_and_name_the_variable() {
        assert_eq!(cors_origins("*").unwrap(), CorsOrigins::Any);
        assert_eq!(cors_origins("").unwrap(), CorsOrigins::List(vec![]));
        assert_eq!(
            cors_origins("https://Admin.mafitapay.com, http://localhost:3000").unwrap(),
            CorsOrigins::List(vec!["https://admin.mafitapay.com".into(), "http://localhost:3000".into()])
        );
        for bad in
            ["https://admin.mafitapay.com/", "admin.mafitapay.com", "https://a.com:99999", "*,https://a.com"]
        {
            let e = cors_origins(bad).unwrap_err();
            assert!(e.starts_with("ANALYTICS_CORS_ORIGINS"), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes_counts_and_zero_durations() {
        let size = byte_size("ANALYTICS_CACHE_MAX_BYTES");
        assert_eq!(size("64MiB").unwrap(), 64 << 20);
        assert_eq!(size("500MB").unwrap(), 500_000_000);
        assert_eq!(size("1024").unwrap(), 1024);
        assert!(size("lots").unwrap_err().contains("ANALYTICS_CACHE_MAX_BYTES"));
        assert!(size("0").unwrap_err().contains("larger than zero"));
        let count = count_in("ANALYTICS_PLATFORM_POOL_SIZE", 2, 64);
        assert_eq!(count("8").unwrap(), 8);
        assert!(count("1").unwrap_err().contains("from 2 to 64"));
        let d = duration_or_zero("ANALYTICS_ADMIN_MIN_INTERVAL");
        assert_eq!(d("0").unwrap(), std::time::Duration::ZERO);
        assert_eq!(d("0s").unwrap(), std::time::Duration::ZERO);
        assert_eq!(d("30s").unwrap(), std::time::Duration::from_secs(30));
        assert!(d("-1").unwrap_err().contains("ANALYTICS_ADMIN_MIN_INTERVAL"));
    }
}
