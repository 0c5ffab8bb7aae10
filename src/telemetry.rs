//! Logging set-up: human-readable by default, JSON lines with `ANALYTICS_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `mafita_analytics=info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("mafita_analytics=info"));
    let json = std::env::var("ANALYTICS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
