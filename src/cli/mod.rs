//! The command line: one subcommand per task an operator or developer runs.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::api::auth::{mint_signed, SigningKey};
use crate::api::shutdown_signal;
use crate::api::startup::serve_with;
use crate::config::{AuthArgs, MaterializerArgs, MetricArgs, PlatformDb, Secret, ServeArgs};
use crate::db::{redact_url, ConnectSpec, Db};
use crate::materializer::indexes::create_indexes;
use crate::materializer::run::cancel;
use crate::materializer::schedule::rebuild_due;
use crate::materializer::store::{migrate, pending_migrations};
use crate::materializer::verify::verify_platform;
use crate::materializer::{run_once_as, RunContext, RunKind, RunTrigger};
use crate::metrics::{compute, Endpoint, MetricSettings, Source, TxFilter, Window};
use crate::seed::{seed, SeedOptions};

mod capture;
mod context;
mod demo;

use context::{context_for, open_platform};
pub use demo::DemoArgs;

/// MafitaPay's CEO-dashboard analytics, precomputed and served from memory.
#[derive(Parser, Debug)]
#[command(name = "mafita-analytics", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fill an empty platform database with deterministic, realistic synthetic data.
    Seed(SeedArgs),
    /// Compute one or all endpoint payloads for a window and print them (timings on stderr).
    Compute(ComputeArgs),
    /// Create or upgrade the summary tables (never touches platform tables).
    Migrate(SummaryArgs),
    /// Run the materializer once; the exit status tells whether the run succeeded.
    Recompute(RecomputeArgs),
    /// Recompute every stored snapshot and list every field that differs; non-zero when any does.
    Verify(SummaryArgs),
    /// Create the platform indexes the metric queries need (idempotent; reports each).
    CreateIndexes(PlatformOnlyArgs),
    /// Change capture on the platform database: install, status, uninstall, prune.
    Capture(capture::CaptureArgs),
    /// Serve the API (and run the scheduler unless --no-scheduler).
    Serve(Box<ServeCommand>),
    /// Mint a SimpleJWT-compatible access token with the configured key.
    Token(TokenArgs),
    /// Build (or reuse) a demo SQLite platform, materialize it and serve it, printing a token.
    Demo(Box<DemoArgs>),
}

/// Arguments of `recompute`.
#[derive(clap::Args, Debug)]
pub struct RecomputeArgs {
    /// The databases and settings.
    #[command(flatten)]
    pub(crate) summary: SummaryArgs,
    /// Rebuild the stored days from the platform instead of refreshing them.
    #[arg(long)]
    pub(crate) full: bool,
}

/// Arguments of `serve`.
#[derive(clap::Args, Debug)]
pub struct ServeCommand {
    #[command(flatten)]
    common: SummaryArgs,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Arguments of `token`.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// Platform database, needed only to look up --email.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<Secret>,
    #[command(flatten)]
    auth: AuthArgs,
    /// RSA private key (PEM) that signs tokens when ANALYTICS_JWT_ALGORITHM=RS256; its public
    /// half is ANALYTICS_JWT_PUBLIC_KEY.
    #[arg(long, env = "ANALYTICS_JWT_PRIVATE_KEY", hide_env_values = true)]
    private_key: Option<Secret>,
    /// The user's id.
    #[arg(long, conflicts_with = "email", required_unless_present = "email")]
    user_id: Option<i64>,
    /// The user's email (looked up in the platform database).
    #[arg(long)]
    email: Option<String>,
    /// Lifetime, e.g. 1h, 30m.
    #[arg(long, default_value = "1h", value_parser = crate::config::duration("--ttl"))]
    ttl: std::time::Duration,
}

/// Arguments of commands that use both databases.
#[derive(clap::Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    db: PlatformDb,
    #[command(flatten)]
    materializer: MaterializerArgs,
    #[command(flatten)]
    metrics: MetricArgs,
}

/// Arguments of commands that only touch the platform database.
#[derive(clap::Args, Debug)]
pub struct PlatformOnlyArgs {
    #[command(flatten)]
    db: PlatformDb,
}

/// Arguments of `seed`.
#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    #[command(flatten)]
    db: PlatformDb,
    /// Number of users (user 1 is a staff admin, admin@mafitapay.test).
    #[arg(long, default_value_t = 20_000)]
    users: u32,
    /// Days of history, ending at --until.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Random seed: the same seed and --until give the same rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Average wallet transactions per user.
    #[arg(long, default_value_t = 20)]
    tx_per_user: u32,
    /// End of the history (RFC 3339); default now.
    #[arg(long)]
    until: Option<DateTime<Utc>>,
}

/// Arguments of `compute`.
#[derive(clap::Args, Debug)]
pub struct ComputeArgs {
    #[command(flatten)]
    db: PlatformDb,
    #[command(flatten)]
    metrics: MetricArgs,
    /// Endpoint (overview, transactions, revenue, users, services, kpis); all six when omitted.
    #[arg(long)]
    endpoint: Option<String>,
    /// Rolling window in days.
    #[arg(long)]
    days: Option<String>,
    /// First date of a calendar range (YYYY-MM-DD).
    #[arg(long)]
    date_from: Option<String>,
    /// Last date of a calendar range (YYYY-MM-DD).
    #[arg(long)]
    date_to: Option<String>,
    /// Compute "as of" this instant instead of now (RFC 3339).
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    /// Print only timings and query counts, not the payloads.
    #[arg(long)]
    quiet: bool,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Seed(args) => run_seed(args).await,
        Command::Compute(args) => run_compute(args).await,
        Command::Migrate(args) => {
            let ctx = run_context(&args).await?;
            migrate(&ctx.summary).await.context("migrating the summary tables failed")?;
            eprintln!("summary tables are up to date in {}", ctx.summary.dialect_name());
            Ok(())
        }
        Command::Recompute(args) => run_recompute(args).await,
        Command::Serve(args) => run_serve(*args).await,
        Command::Token(args) => run_token(args).await,
        Command::Demo(args) => demo::run(*args).await,
        Command::Verify(args) => run_verify(args).await,
        Command::Capture(args) => capture::run(args).await,
        Command::CreateIndexes(args) => {
            let url = args.db.database_url.as_str();
            let db = open_platform(url, 1).await?;
            for index in create_indexes(&db).await.context("creating platform indexes failed")? {
                eprintln!("{:<44} {}", index.name, if index.created { "created" } else { "already exists" });
            }
            Ok(())
        }
    }
}

/// Opens both databases and assembles the run context from the settings.
pub async fn run_context(args: &SummaryArgs) -> anyhow::Result<RunContext> {
    context_for(&args.db.database_url, &args.materializer, &args.metrics).await
}

/// Refuses to start on a summary database without the tables, or behind this build's
/// migrations (a binary upgraded without `migrate` would fail every run on a missing table).
async fn require_summary_tables(ctx: &RunContext) -> anyhow::Result<()> {
    let probe = sqlx::query("SELECT 1 FROM analytics_run WHERE 1 = 0").execute(&ctx.summary.pool).await;
    probe.map_err(|_| {
        anyhow::anyhow!(
            "the summary tables do not exist in the summary database; run `mafita-analytics migrate` first"
        )
    })?;
    let pending = pending_migrations(&ctx.summary).await.context("reading the applied migrations")?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the summary tables are older than this version (not applied: {}); run `mafita-analytics migrate` first",
            pending.join(", ")
        );
    }
    Ok(())
}

async fn run_recompute(args: RecomputeArgs) -> anyhow::Result<()> {
    let ctx = run_context(&args.summary).await?;
    require_summary_tables(&ctx).await?;
    // A `recompute` from cron performs the scheduled rebuilds too (`ANALYTICS_REBUILD_SCHEDULE`).
    let rebuild = &args.summary.materializer.rebuild_schedule;
    crate::materializer::schedule::cron_period(rebuild, "ANALYTICS_REBUILD_SCHEDULE")
        .map_err(anyhow::Error::msg)?;
    let due = !args.full && rebuild_due(&ctx.summary, rebuild, Utc::now()).await?;
    if due {
        eprintln!("a full rebuild is due by ANALYTICS_REBUILD_SCHEDULE ({rebuild}): this run rebuilds the stored days");
    }
    let kind = if args.full || due { RunKind::Full } else { RunKind::Incremental };
    // SIGTERM (a CronJob stopped, a deploy) cancels the run cleanly: recorded, lease released.
    let outcome = tokio::select! {
        outcome = run_once_as(&ctx, RunTrigger::Cli, None, None, kind) => {
            outcome.expect("waits for the lease without a deadline")
        }
        _ = shutdown_signal() => cancel(&ctx).await,
    };
    match (&outcome.error, outcome.run_id) {
        (None, Some(id)) => {
            eprintln!("run {id} succeeded: {} windows × 6 endpoints", ctx.windows.len());
            Ok(())
        }
        (Some(e), id) => {
            anyhow::bail!("run {} failed: {e}", id.map_or("(unrecorded)".into(), |i| i.to_string()))
        }
        (None, None) => anyhow::bail!("run finished without a record"),
    }
}

async fn run_verify(args: SummaryArgs) -> anyhow::Result<()> {
    let ctx = run_context(&args).await?;
    require_summary_tables(&ctx).await?;
    let v = verify_platform(&ctx).await?;
    let verdict = |moved: &Option<String>| match moved {
        Some(why) => format!("moved: {why}"),
        None => "DIFFERS".to_string(),
    };
    for m in &v.fields {
        println!(
            "{} days={} {}: stored {} recomputed {} ({})",
            m.endpoint,
            m.window_days,
            m.field,
            m.stored,
            m.recomputed,
            verdict(&m.moved)
        );
    }
    for d in &v.differing_days {
        let day = d.day.map_or("before the first stored day".to_string(), |d| format!("day {d}"));
        let why = match (&d.moved, v.changes_since) {
            (Some(why), _) => format!("moved: {why}"),
            (None, Some(_)) => {
                "DIFFERS even with the changes logged since the run applied: run `mafita-analytics \
                 recompute --full` and check that nothing writes with capture's triggers disabled"
                    .to_string()
            }
            (None, None) => "DIFFERS: older than the settle window, the incremental runs cannot see it; run \
                 `mafita-analytics recompute --full` (change capture would have applied it)"
                .to_string(),
        };
        println!("{day} ({why}): {}", d.facts.join("; "));
    }
    let moved = v.fields.iter().filter(|m| m.moved.is_some()).count()
        + v.differing_days.iter().filter(|d| d.moved.is_some()).count();
    let since = v.changes_since.map_or("no change capture".to_string(), |n| {
        format!("{n} rows changed since the run, from the change log")
    });
    if v.agrees() {
        eprintln!(
            "all {} stored snapshots and {} stored days agree with the platform database ({moved} differences are \
             changes since the run; {since})",
            v.snapshots, v.days
        );
        return Ok(());
    }
    anyhow::bail!(
        "{} fields of {} stored snapshots and {} of {} stored days disagree with the platform ({moved} more \
         differences are changes since the run; {since})",
        v.fields.iter().filter(|m| m.moved.is_none()).count(),
        v.snapshots,
        v.differing_days.iter().filter(|d| d.moved.is_none()).count(),
        v.days
    )
}

async fn run_seed(args: SeedArgs) -> anyhow::Result<()> {
    let url = args.db.database_url.as_str();
    let db =
        Db::connect(ConnectSpec { url, setting: "--database-url", max_connections: 2, create_sqlite: true })
            .await?;
    let options = SeedOptions {
        users: args.users,
        days: args.days,
        seed: args.seed,
        tx_per_user: args.tx_per_user,
        until: args.until.unwrap_or_else(Utc::now),
        progress: std::io::stderr().is_terminal(),
    };
    let report = seed(&db, url, &options).await?;
    let tx = report.rows_of("wallet_wallettransaction");
    let secs = report.elapsed.as_secs_f64();
    eprintln!(
        "seeded {} in {:.1} s ({:.0} wallet transactions/min)",
        redact_url(url),
        secs,
        tx as f64 / secs * 60.0
    );
    for (table, rows) in &report.rows {
        eprintln!("  {table:<28} {rows:>10}");
    }
    Ok(())
}

async fn run_compute(args: ComputeArgs) -> anyhow::Result<()> {
    let url = args.db.database_url.as_str();
    let db = open_platform(url, 1).await?;
    let settings = MetricSettings::from(&args.metrics);
    let now = args.now.unwrap_or_else(Utc::now);
    let window = Window::from_params(
        now,
        settings.tz,
        args.days.as_deref(),
        args.date_from.as_deref(),
        args.date_to.as_deref(),
    )?;
    let endpoints = match &args.endpoint {
        None => Endpoint::ALL.to_vec(),
        Some(name) => vec![Endpoint::parse(name).with_context(|| {
            format!("--endpoint must be one of overview, transactions, revenue, users, services, kpis (got {name:?})")
        })?],
    };
    let mut conn = db.pool.acquire().await?;
    let total = Instant::now();
    for endpoint in endpoints {
        let mut src = Source::new(&mut conn, db.dialect, &settings);
        let started = Instant::now();
        let body = compute(&mut src, endpoint, &window, &TxFilter::default()).await?;
        eprintln!(
            "{:<20} {:>8.1} ms {:>3} queries",
            endpoint.path(),
            started.elapsed().as_secs_f64() * 1000.0,
            src.query_count()
        );
        if !args.quiet {
            println!("{}", serde_json::to_string(&body)?);
        }
    }
    eprintln!("{:<20} {:>8.1} ms", "total", total.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

async fn run_serve(args: ServeCommand) -> anyhow::Result<()> {
    let ctx = run_context(&args.common).await?;
    require_summary_tables(&ctx).await?;
    let m = &args.common.materializer;
    serve_with(ctx, &args.auth, &args.serve, &m.schedule, &m.rebuild_schedule, |_| {}).await
}

async fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    // Sign with the algorithm the service verifies with, or the token would be refused.
    let secret = match args.auth.jwt_algorithm {
        jsonwebtoken::Algorithm::RS256 => None,
        _ => Some(args.auth.hs256_secret().map_err(anyhow::Error::msg)?),
    };
    let key = match (&secret, &args.private_key) {
        (Some(secret), _) => SigningKey::Hs256(secret.expose()),
        (None, Some(pem)) if !pem.expose().is_empty() => SigningKey::Rs256(pem.expose()),
        (None, _) => anyhow::bail!(
            "ANALYTICS_JWT_ALGORITHM=RS256: set ANALYTICS_JWT_PRIVATE_KEY (or --private-key) to the PEM private \
             key whose public half is ANALYTICS_JWT_PUBLIC_KEY, or use a token from the platform's login"
        ),
    };
    let user_id = match (args.user_id, &args.email) {
        (Some(id), _) => id,
        (None, Some(email)) => {
            let url =
                args.database_url.as_ref().context("DATABASE_URL must be set to look up --email")?.expose();
            let db = open_platform(url, 1).await?;
            let mut q = crate::db::Sql::new(db.dialect);
            let p = q.text(email.as_str());
            q.push(&format!("SELECT id FROM accounts_user WHERE email = {p}"));
            let mut conn = db.pool.acquire().await?;
            let rows = q.fetch_all(&mut conn).await?;
            let row = rows.first().with_context(|| format!("no user has the email {email:?}"))?;
            sqlx::Row::try_get::<i64, _>(row, 0)?
        }
        (None, None) => anyhow::bail!("give --user-id or --email"),
    };
    println!(
        "{}",
        mint_signed(key, &args.auth.user_id_claim, user_id, args.ttl).map_err(anyhow::Error::msg)?
    );
    Ok(())
}
