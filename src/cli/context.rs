//! Opening the databases and assembling a run's context from the settings: shared by every
//! command that computes (`recompute`, `verify`, `serve`, `demo`).

use crate::config::{parse_windows, MaterializerArgs, MetricArgs};
use crate::db::{ConnectSpec, Db};
use crate::materializer::{instance_name, Faults, RunContext};
use crate::metrics::MetricSettings;
use crate::time::Clock;

/// Opens the platform database named by `DATABASE_URL` / `--database-url`.
pub async fn open_platform(url: &str, max_connections: u32) -> Result<Db, crate::db::ConnectError> {
    Db::connect(ConnectSpec { url, setting: "DATABASE_URL", max_connections, create_sqlite: false }).await
}

/// Opens the platform at `platform_url` and the summary database the settings name (the
/// platform's own when they name none or the same), and assembles the run context.
pub async fn context_for(
    platform_url: &str,
    materializer: &MaterializerArgs,
    metrics: &MetricArgs,
) -> anyhow::Result<RunContext> {
    let platform = open_platform(platform_url, materializer.platform_pool_size).await?;
    let summary = match materializer.analytics_database_url.as_deref() {
        Some(url) if url != platform_url => {
            Db::connect(ConnectSpec {
                url,
                setting: "ANALYTICS_DATABASE_URL",
                max_connections: materializer.summary_pool_size,
                create_sqlite: true,
            })
            .await?
        }
        _ => platform.clone(),
    };
    // `--windows` narrows one run; the daily series always come from the largest window
    // configured in the environment, so a narrow run leaves them alone.
    let configured = std::env::var("ANALYTICS_WINDOWS")
        .ok()
        .and_then(|v| parse_windows(&v).ok())
        .unwrap_or_else(|| materializer.windows.clone());
    Ok(RunContext {
        platform,
        summary,
        settings: MetricSettings::from(metrics),
        windows: materializer.windows.0.clone(),
        daily_window: configured.largest().max(materializer.windows.largest()),
        lease_ttl: materializer.lease_ttl,
        statement_timeout: materializer.statement_timeout,
        instance: instance_name(),
        faults: Faults::default(),
        days: Default::default(),
        settle_days: materializer.settle_days,
        prune_log: materializer.capture_prune,
        history_days: materializer.metric_history_days,
        clock: Clock::default(),
    })
}
