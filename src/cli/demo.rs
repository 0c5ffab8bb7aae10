//! `demo`: from a fresh clone to a dashboard API answering with realistic numbers — build (or
//! reuse) a SQLite platform, materialize it, serve it, and print a token with curl lines.

use std::io::IsTerminal;

use anyhow::Context;
use chrono::Utc;
use sqlx::Row;

use super::context::context_for;
use crate::api::auth::mint_token;
use crate::api::startup::serve_with;
use crate::config::Secret;
use crate::config::{AuthArgs, MaterializerArgs, MetricArgs, ServeArgs};
use crate::db::{ConnectSpec, Db, Sql};
use crate::materializer::store::migrate;
use crate::materializer::{run_once, RunTrigger};
use crate::seed::{seed, SeedOptions};

/// Arguments of `demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Users in a newly built demo database.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) users: u32,
    /// The demo platform database file (reused when it exists).
    #[arg(long, default_value = "mafita-demo.sqlite3")]
    pub(crate) db: std::path::PathBuf,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
    #[command(flatten)]
    pub(crate) materializer: MaterializerArgs,
    #[command(flatten)]
    pub(crate) metrics: MetricArgs,
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
}

/// Runs the demo until Ctrl-C.
pub async fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", args.db.display());
    let db = Db::connect(ConnectSpec { url: &url, setting: "--db", max_connections: 2, create_sqlite: true })
        .await?;
    // WAL lets the scheduled runs read while anything else writes; it persists in the file.
    sqlx::query("PRAGMA journal_mode = WAL").execute(&db.pool).await?;
    if staff_user(&db).await.is_none() {
        eprintln!(
            "building the demo platform in {} ({} users, a year of activity)…",
            args.db.display(),
            args.users
        );
        let options = SeedOptions {
            users: args.users,
            days: 365,
            seed: 42,
            tx_per_user: 20,
            until: Utc::now(),
            progress: std::io::stderr().is_terminal(),
        };
        let report = seed(&db, &url, &options).await.context("building the demo database failed")?;
        eprintln!(
            "  {} transactions in {:.1} s",
            report.rows_of("wallet_wallettransaction"),
            report.elapsed.as_secs_f64()
        );
    } else {
        eprintln!("reusing the demo platform in {}", args.db.display());
    }
    let admin = staff_user(&db).await.context("the demo database has no active staff user")?;
    let ctx = context_for(&url, &args.materializer, &args.metrics).await?;
    migrate(&ctx.summary).await.context("creating the summary tables failed")?;
    // Change capture, so every run after the first applies exactly what the platform changed.
    let (installed, _) = {
        let mut conn = db.pool.acquire().await?;
        crate::capture::read_state(&mut conn, db.dialect).await?
    };
    if !matches!(installed, crate::capture::Capture::Ready { .. }) {
        crate::capture::install(&db)
            .await
            .context("installing change capture on the demo platform failed")?;
        eprintln!(
            "change capture installed on the demo platform (`mafita-analytics capture status` shows it)"
        );
    }
    eprintln!("materializing {} windows × 6 endpoints…", ctx.windows.len());
    let outcome = run_once(&ctx, RunTrigger::Cli, None, None).await.expect("waits for the lease");
    if let Some(e) = outcome.error {
        anyhow::bail!("the first run failed: {e}");
    }
    let secret = match args.auth.hs256_secret() {
        Ok(s) => s,
        Err(_) => {
            // No key configured: a random one for this demo process only.
            let key = Secret(format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>()));
            args.auth.jwt_secret = Some(key.clone());
            key
        }
    };
    let token = mint_token(
        secret.expose(),
        &args.auth.user_id_claim,
        admin,
        std::time::Duration::from_secs(12 * 3600),
    )
    .map_err(anyhow::Error::msg)?;
    let schedule = args.materializer.schedule.clone();
    let rebuild = args.materializer.rebuild_schedule.clone();
    serve_with(ctx, &args.auth, &args.serve, &schedule, &rebuild, |addr| banner(addr, &token)).await
}

/// The first active staff user (the seeded admin).
async fn staff_user(db: &Db) -> Option<i64> {
    let mut q = Sql::new(db.dialect);
    q.push("SELECT id FROM accounts_user WHERE is_staff AND is_active ORDER BY id LIMIT 1");
    let mut conn = db.pool.acquire().await.ok()?;
    let rows = q.fetch_all(&mut conn).await.ok()?;
    rows.first().and_then(|r| r.try_get::<i64, _>(0).ok())
}

/// Prints the token and curl lines. Write errors (a closed pipe) are ignored: the banner is a
/// courtesy and must never take the server down.
fn banner(addr: std::net::SocketAddr, token: &str) {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut text = String::new();
    let host =
        if addr.ip().is_unspecified() { format!("localhost:{}", addr.port()) } else { addr.to_string() };
    let base = format!("http://{host}/api/analytics");
    let _ = writeln!(text, "\nmafita-analytics demo is serving on http://{host}  (Ctrl-C to stop)\n");
    let _ = writeln!(text, "export TOKEN={token}\n");
    for path in [
        "dashboard/overview/?days=30",
        "transactions/?days=7",
        "transactions/?days=30&status=failed&type=bills",
        "revenue/?days=90",
        "users/?days=365",
        "services/?days=30",
        "kpis/?days=30",
        "kpis/?days=45",
        "reports/export/?type=transactions&format=csv&days=7",
        "reports/export/?report_type=weekly&metrics=transactions,revenue&days=30",
        "admin/status/",
        "admin/runs/",
    ] {
        let _ = writeln!(text, "curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/{path}'");
    }
    let _ = writeln!(
        text,
        "curl -s -X POST -H \"Authorization: Bearer $TOKEN\" '{base}/admin/recompute/?wait=true'"
    );
    let _ = writeln!(text, "curl -s http://{host}/metrics\n");
    let _ = writeln!(text, "Operator console: {base}/admin/  (sign in by pasting the token above)");
    let _ = writeln!(text, "API documentation: {base}/docs/\n");
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
