//! The command line: one subcommand per task an operator or developer runs.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::config::{MetricArgs, PlatformDb};
use crate::db::{redact_url, ConnectSpec, Db};
use crate::metrics::{compute, Endpoint, Source, TxFilter, Window};
use crate::seed::{seed, SeedOptions};

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
    }
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
    let db =
        Db::connect(ConnectSpec { url, setting: "DATABASE_URL", max_connections: 1, create_sqlite: false })
            .await?;
    let settings = args.metrics.settings();
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
            println!("{body}");
        }
    }
    eprintln!("{:<20} {:>8.1} ms", "total", total.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}
