//! Logging set-up: human-readable by default, JSON lines with `ANALYTICS_LOG_FORMAT=json`,
//! filtered by `RUST_LOG` (default `mafita_analytics=info`); and how an error is written for
//! operators (logs, `analytics_run.error`), whichever layer it comes from.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests call it freely).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("mafita_analytics=info"));
    let json = std::env::var("ANALYTICS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// An error and its causes on one line, for `analytics_run.error` and logs. Never contains
/// credentials: connection errors name hosts, not URLs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
