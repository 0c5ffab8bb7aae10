//! Start-up of the API process: the token verifier and shared state from the settings, the
//! snapshots loaded before the first connection, the scheduler, and serving until a signal.

use std::sync::Arc;

use anyhow::Context;

use super::auth::{TokenVerifier, UserCache};
use super::days::DayKeeper;
use super::ondemand::{Limits, OnDemand};
use super::snapshots::SnapshotCache;
use super::{shutdown_signal, spawn_reloader, AppState, Application};
use crate::config::{AuthArgs, ServeArgs};
use crate::materializer::schedule::{
    cron_period, refresh_if_stale, schedule_period, start_scheduler, Cadence,
};
use crate::materializer::{Materializer, RunContext};
use crate::task::Shutdown;

/// How long a token check waits for a connection of its own pool: short, so an unreachable
/// platform database is noticed quickly (see [`UserCache`]).
const AUTH_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Builds the token verifier from the settings, naming the variable that is missing or wrong.
pub fn verifier(auth: &AuthArgs) -> anyhow::Result<TokenVerifier> {
    Ok(match auth.jwt_algorithm {
        jsonwebtoken::Algorithm::RS256 => {
            let pem = auth.jwt_public_key.as_ref().filter(|k| !k.0.is_empty()).ok_or_else(|| {
                anyhow::anyhow!("ANALYTICS_JWT_PUBLIC_KEY must be set when ANALYTICS_JWT_ALGORITHM=RS256")
            })?;
            TokenVerifier::rs256(pem.expose(), &auth.user_id_claim).map_err(anyhow::Error::msg)?
        }
        _ => TokenVerifier::hs256(
            auth.hs256_secret().map_err(anyhow::Error::msg)?.expose(),
            &auth.user_id_claim,
        ),
    })
}

/// Everything `serve` (and `demo`) needs, assembled and with snapshots loaded.
pub async fn build_state(
    ctx: RunContext,
    auth: &AuthArgs,
    serve: &ServeArgs,
    cadence: Cadence,
) -> anyhow::Result<Arc<AppState>> {
    let state = Arc::new(AppState {
        platform: ctx.platform.clone(),
        summary: ctx.summary.clone(),
        settings: ctx.settings.clone(),
        windows: ctx.windows.clone(),
        cadence,
        snapshots: SnapshotCache::default(),
        ondemand: OnDemand::new(Limits {
            ttl: serve.cache_ttl,
            max_entries: serve.cache_max_entries,
            max_bytes: serve.cache_max_bytes,
            concurrency: serve.ondemand_concurrency,
            queue_timeout: serve.ondemand_queue_timeout,
        })
        .with_statement_timeout(ctx.statement_timeout),
        verifier: verifier(auth)?,
        users: UserCache::new(
            ctx.platform.sibling(auth.auth_pool_size, AUTH_ACQUIRE_TIMEOUT),
            auth.auth_cache_ttl,
            auth.auth_stale_if_unreachable,
        ),
        days: Arc::new(DayKeeper::new(ctx.days.clone(), ctx.summary.clone(), ctx.settings.tz)),
        materializer: Materializer::start(ctx),
        prom: crate::api::prom::Registry::new(crate::api::matched_paths()),
        admin_min_interval: serve.admin_min_interval,
        reloader: Arc::default(),
    });
    // Load before accepting connections: the first answer for a common window is a snapshot.
    if let Err(e) = state.snapshots.refresh(&state.summary, &state.windows).await {
        tracing::warn!(error = %e, "no snapshots loaded at start-up; answering on demand until a run lands");
    }
    // And the stored days, so on-demand windows fold from memory from the first request.
    state.days.load().await;
    state.ondemand.warm(&state.platform, &state.settings).await;
    Ok(state)
}

/// Serves `ctx` until Ctrl-C / SIGTERM; `on_ready` is called with the bound address.
pub async fn serve_with(
    ctx: RunContext,
    auth: &AuthArgs,
    serve: &ServeArgs,
    schedule: &str,
    rebuild: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let expr = schedule.to_string();
    let period = schedule_period(&expr).map_err(anyhow::Error::msg)?;
    cron_period(rebuild, "ANALYTICS_REBUILD_SCHEDULE").map_err(anyhow::Error::msg)?;
    let scheduled = !serve.no_scheduler && period.is_some();
    let state = build_state(ctx, auth, serve, Cadence::new(&expr, rebuild, scheduled)).await?;
    let mut scheduler = None;
    if scheduled {
        refresh_if_stale(&state.materializer, period).await;
        scheduler = Some(
            start_scheduler(state.materializer.clone(), &expr, rebuild)
                .await
                .context("starting the scheduler failed")?,
        );
    }
    let shutdown = Shutdown::default();
    let reloader = spawn_reloader(state.clone(), serve.reload_interval, shutdown.clone());
    let app = Application::bind(serve.bind, state.clone(), &serve.cors_origins)
        .await
        .with_context(|| format!("cannot listen on {} (ANALYTICS_BIND / --bind)", serve.bind))?;
    tracing::info!(addr = %app.local_addr()?, scheduler = scheduled, "serving");
    on_ready(app.local_addr()?);
    // On the signal, background work stops at once (a run in progress is cancelled and its
    // lease released) while in-flight requests are allowed to finish.
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.trigger();
    });
    let materializer = state.materializer.clone();
    let background = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.triggered().await;
            if let Some(mut s) = scheduler {
                let _ = s.shutdown().await;
            }
            materializer.stop().await;
        }
    });
    let served = app.serve(async move { shutdown.triggered().await }).await;
    let _ = background.await;
    let _ = reloader.await;
    tracing::info!("stopped");
    Ok(served?)
}
