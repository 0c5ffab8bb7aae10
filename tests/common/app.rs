//! A real server on 127.0.0.1:0 over a seeded platform, assembled the way `serve` assembles
//! it, with the knobs tests turn (limits, intervals, faults) as options.

use std::sync::Arc;
use std::time::Duration;

use mafita_analytics::api::auth::{mint_token, TokenVerifier, UserCache};
use mafita_analytics::api::days::DayKeeper;
use mafita_analytics::api::ondemand::{Limits, OnDemand};
use mafita_analytics::api::prom::Registry;
use mafita_analytics::api::snapshots::SnapshotCache;
use mafita_analytics::api::{AppState, Application};
use mafita_analytics::config::{cors_origins, CorsOrigins};
use mafita_analytics::db::{ConnectSpec, Db};
use mafita_analytics::materializer::schedule::Cadence;
use mafita_analytics::materializer::{run_once, Faults, Materializer, RunTrigger};
use mafita_analytics::metrics::MetricSettings;
use reqwest::header::AUTHORIZATION;

use super::{Backend, TestDb};

/// The HS256 key test tokens are signed with.
pub const SECRET: &str = "test-signing-key-not-a-real-one";

/// A running server and what it serves.
pub struct App {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// A client that leaves bodies as sent (no automatic decompression).
    pub client: reqwest::Client,
    /// The server's shared state.
    pub state: Arc<AppState>,
    /// The platform (and summary) database.
    pub db: TestDb,
}

impl App {
    /// A valid access token for `user_id`.
    pub fn token(&self, user_id: i64) -> String {
        mint_token(SECRET, "user_id", user_id, Duration::from_secs(3600)).unwrap()
    }

    /// GET `path` with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        req.send().await.unwrap()
    }

    /// GET `path` as the staff user 1.
    pub async fn staff_get(&self, path: &str) -> reqwest::Response {
        self.get(path, Some(&self.token(1))).await
    }

    /// POST `path` as the staff user 1.
    pub async fn staff_post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token(1)))
            .send()
            .await
            .unwrap()
    }
}

/// How to assemble the server.
pub struct AppOptions {
    /// Windows the set-up run computes.
    pub run_windows: Vec<i64>,
    /// Windows the server is configured with (what it serves from snapshots).
    pub windows: Vec<i64>,
    /// Whether the server shares the set-up run's day store (false: like an instance that did
    /// not run the latest run).
    pub shared_days: bool,
    /// On-demand limits.
    pub limits: Limits,
    /// Token checks: flags TTL and stand-in time while the database cannot be reached.
    pub auth_ttl: Duration,
    /// See [`UserCache::new`].
    pub stale_if_unreachable: Duration,
    /// Admin run throttle.
    pub admin_min_interval: Duration,
    /// CORS.
    pub cors: CorsOrigins,
    /// Faults for the server's run worker (the set-up run has none).
    pub faults: Faults,
    /// How tokens are checked.
    pub verifier: TokenVerifier,
    /// How long an on-demand computation's platform reads may take.
    pub statement_timeout: Duration,
    /// Connections reserved for token checks.
    pub auth_pool_size: u32,
    /// A proxy (`host:port`) token checks reach the platform's server through, when not
    /// directly: a server the test can take away.
    pub auth_via: Option<std::net::SocketAddr>,
    /// When runs happen, as the status route reports it.
    pub cadence: Cadence,
}

impl Default for AppOptions {
    fn default() -> AppOptions {
        AppOptions {
            run_windows: vec![7, 30],
            windows: vec![7, 30],
            shared_days: true,
            limits: Limits {
                ttl: Duration::from_secs(300),
                max_entries: 1000,
                max_bytes: 64 << 20,
                concurrency: 2,
                queue_timeout: Duration::from_secs(30),
            },
            auth_ttl: Duration::from_secs(30),
            stale_if_unreachable: Duration::from_secs(600),
            admin_min_interval: Duration::ZERO,
            cors: cors_origins("https://admin.mafitapay.test").unwrap(),
            faults: Faults::default(),
            verifier: TokenVerifier::hs256(SECRET, "user_id"),
            statement_timeout: Duration::from_secs(60),
            auth_pool_size: 2,
            auth_via: None,
            cadence: Cadence::default(),
        }
    }
}

/// The pool token checks use: beside the platform's, or to the same database through `via`.
async fn auth_pool(db: &TestDb, size: u32, via: Option<std::net::SocketAddr>) -> Db {
    let Some(via) = via else { return db.db.sibling(size, Duration::from_secs(3)) };
    let url = super::proxy::through(&db.url, via);
    let direct =
        Db::connect(ConnectSpec { url: &url, setting: "test", max_connections: 1, create_sqlite: false })
            .await
            .unwrap();
    let pool = direct.sibling(size, Duration::from_secs(3));
    direct.pool.close().await;
    pool
}

/// A seeded platform (user 1 is staff; user 2 is not), one materializer run, and the server.
pub async fn spawn_app(backend: Backend) -> App {
    spawn_app_with(backend, AppOptions::default()).await
}

/// [`spawn_app`] assembled with `options`.
pub async fn spawn_app_with(backend: Backend, options: AppOptions) -> App {
    let db = super::seeded(backend, 120, 5).await;
    let ctx = super::run_context(&db, &options.run_windows);
    assert!(run_once(&ctx, RunTrigger::Cli, None, None).await.unwrap().succeeded());
    let slot = if options.shared_days { ctx.days.clone() } else { Default::default() };
    let mut worker_ctx = super::run_context(&db, &options.windows);
    worker_ctx.days = slot.clone();
    worker_ctx.faults = options.faults;
    let state = Arc::new(AppState {
        platform: db.db.clone(),
        summary: db.db.clone(),
        settings: MetricSettings::default(),
        windows: options.windows,
        cadence: options.cadence,
        snapshots: SnapshotCache::default(),
        ondemand: OnDemand::new(options.limits).with_statement_timeout(options.statement_timeout),
        verifier: options.verifier,
        users: UserCache::new(
            auth_pool(&db, options.auth_pool_size, options.auth_via).await,
            options.auth_ttl,
            options.stale_if_unreachable,
        ),
        days: Arc::new(DayKeeper::new(slot, db.db.clone(), MetricSettings::default().tz)),
        materializer: Materializer::start(worker_ctx),
        prom: Registry::new(mafita_analytics::api::matched_paths()),
        admin_min_interval: options.admin_min_interval,
        reloader: Arc::default(),
    });
    state.snapshots.refresh(&state.summary, &state.windows).await.unwrap();
    let app = Application::bind("127.0.0.1:0".parse().unwrap(), state.clone(), &options.cors).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.serve(std::future::pending()));
    let client = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    App { base, client, state, db }
}
