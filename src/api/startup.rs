//! Start-up of the API process: the token verifier and shared state from the settings, the
//! snapshots loaded before the first connection, the scheduler, and serving until a signal.

use std::sync::Arc;

use anyhow::Context;

use super::auth::{TokenVerifier, UserCache};
use super::days::DayKeeper;
use super::ondemand::OnDemand;
use super::snapshots::SnapshotCache;
use super::{shutdown_signal, spawn_reloader, AppState, Application};
use crate::config::{AuthArgs, ServeArgs};
use crate::materializer::schedule::{cron_period, refresh_if_stale, schedule_period, start_scheduler};
use crate::materializer::{Materializer, RunContext};

/// Builds the token verifier from the settings, naming the variable that is missing or wrong.
pub fn verifier(auth: &AuthArgs) -> anyhow::Result<TokenVerifier> {
    Ok(match auth.jwt_algorithm {
        jsonwebtoken::Algorithm::RS256 => {
            let pem = auth.jwt_public_key.as_ref().filter(|k| !k.0.is_empty()).ok_or_else(|| {
                anyhow::anyhow!("ANALYTICS_JWT_PUBLIC_KEY must be set when ANALYTICS_JWT_ALGORITHM=RS256")
            })?;
            TokenVerifier::rs256(&pem.0, &auth.user_id_claim).map_err(anyhow::Error::msg)?
        }
        _ => TokenVerifier::hs256(&auth.hs256_secret().map_err(anyhow::Error::msg)?.0, &auth.user_id_claim),
    })
}

/// Everything `serve` (and `demo`) needs, assembled and with snapshots loaded.
pub async fn build_state(
    ctx: RunContext,
    auth: &AuthArgs,
    serve: &ServeArgs,
    schedule: Option<String>,
) -> anyhow::Result<Arc<AppState>> {
    let state = Arc::new(AppState {
        platform: ctx.platform.clone(),
        summary: ctx.summary.clone(),
        settings: ctx.settings.clone(),
        windows: ctx.windows.clone(),
        schedule,
        snapshots: SnapshotCache::default(),
        ondemand: OnDemand::new(serve.cache_ttl, serve.cache_max_entries),
        verifier: verifier(auth)?,
        users: UserCache::new(auth.auth_cache_ttl),
        days: Arc::new(DayKeeper::new(ctx.days.clone(), ctx.summary.clone(), ctx.settings.tz)),
        materializer: Materializer::start(ctx),
        prom: crate::api::prom::Registry::default(),
    });
    // Load before accepting connections: the first answer for a common window is a snapshot.
    if let Err(e) = state.snapshots.refresh(&state.summary).await {
        tracing::warn!(error = %e, "no snapshots loaded at start-up; answering on demand until a run lands");
    }
    // And the stored days, so on-demand windows fold from memory from the first request.
    state.days.load().await;
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
    let state = build_state(ctx, auth, serve, scheduled.then(|| expr.clone())).await?;
    let mut scheduler = None;
    if scheduled {
        refresh_if_stale(&state.materializer, period).await;
        scheduler = Some(
            start_scheduler(state.materializer.clone(), &expr, rebuild)
                .await
                .context("starting the scheduler failed")?,
        );
    }
    spawn_reloader(state.clone(), serve.reload_interval);
    let app = Application::bind(serve.bind, state, &serve.cors_origins)
        .await
        .with_context(|| format!("cannot listen on {} (ANALYTICS_BIND / --bind)", serve.bind))?;
    tracing::info!(addr = %app.local_addr()?, scheduler = scheduled, "serving");
    on_ready(app.local_addr()?);
    app.serve(shutdown_signal()).await?;
    if let Some(mut s) = scheduler {
        let _ = s.shutdown().await;
    }
    Ok(())
}
