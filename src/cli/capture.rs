//! `capture install | status | uninstall | prune`: the platform's change log (see
//! [`crate::capture`]).

use anyhow::Context;
use clap::Subcommand;

use super::context::open_platform;
use super::{run_context, SummaryArgs};
use crate::capture::{self, Capture};
use crate::config::PlatformDb;
use crate::db::{Db, Dialect};
use crate::materializer::days::load_capture_mark;

/// Arguments of `capture`.
#[derive(clap::Args, Debug)]
pub struct CaptureArgs {
    #[command(subcommand)]
    action: CaptureAction,
}

/// What to do with change capture.
#[derive(Subcommand, Debug)]
enum CaptureAction {
    /// Add the change log and its triggers to the platform database (needs the table owner's
    /// rights); installing again renews the log's epoch, so the next run rebuilds once.
    Install {
        #[command(flatten)]
        db: PlatformDb,
        /// Print the SQL (for the platform's DBA or its own migrations) instead of running it.
        #[arg(long)]
        print: bool,
    },
    /// Say whether capture is installed and complete, how big the log is and how far the
    /// stored days have consumed it.
    Status(SummaryArgs),
    /// Remove the triggers, the log and its state from the platform database.
    Uninstall {
        #[command(flatten)]
        db: PlatformDb,
        /// Print the SQL instead of running it.
        #[arg(long)]
        print: bool,
    },
    /// Delete the log rows the stored days include (runs do this themselves when the platform
    /// database is writable; point --database-url at the primary when runs read a standby).
    Prune(SummaryArgs),
}

/// Runs `capture …`.
pub async fn run(args: CaptureArgs) -> anyhow::Result<()> {
    match args.action {
        CaptureAction::Install { db, print } => {
            if print {
                print!("{}", capture::script(&capture::install_sql(dialect_of(&db)?)));
                return Ok(());
            }
            let platform = open_platform(&db.database_url, 1).await?;
            capture::install(&platform).await.context(
                "installing change capture failed (it needs the rights of the platform tables' owner: \
                 `capture install --print` writes the SQL for someone who has them)",
            )?;
            eprintln!(
                "change capture installed in {}: the change log `{}`, its state `{}` and {} tables' triggers; \
                 the next run rebuilds the stored days once, later runs apply the logged changes",
                platform.dialect_name(),
                capture::LOG_TABLE,
                capture::STATE_TABLE,
                capture::CAPTURED.len()
            );
            report(&platform).await
        }
        CaptureAction::Uninstall { db, print } => {
            if print {
                print!("{}", capture::script(&capture::uninstall_sql(dialect_of(&db)?)));
                return Ok(());
            }
            let platform = open_platform(&db.database_url, 1).await?;
            capture::uninstall(&platform).await.context("removing change capture failed")?;
            eprintln!(
                "change capture removed: runs re-read the settle window again, and the scheduled full rebuild \
                 catches what that cannot see"
            );
            Ok(())
        }
        CaptureAction::Status(args) => {
            let ctx = run_context(&args).await?;
            report(&ctx.platform).await?;
            match load_capture_mark(&ctx.summary).await.context("reading the stored days' log position")? {
                Some(mark) => {
                    eprintln!("stored days: consumed up to {} (epoch {})", mark.cursor.as_text(), mark.epoch)
                }
                None => {
                    eprintln!("stored days: read without change capture (the next run rebuilds them with it)")
                }
            }
            Ok(())
        }
        CaptureAction::Prune(args) => {
            let ctx = run_context(&args).await?;
            let mark = load_capture_mark(&ctx.summary)
                .await
                .context("reading the stored days' log position")?
                .context(
                    "the stored days were not read with change capture: nothing of the log is consumed",
                )?;
            let deleted =
                capture::prune(&ctx.platform, &mark.cursor).await.context("pruning the change log failed")?;
            eprintln!("pruned {deleted} consumed change-log rows (up to {})", mark.cursor.as_text());
            Ok(())
        }
    }
}

/// The dialect `--database-url` names, without connecting.
fn dialect_of(db: &PlatformDb) -> anyhow::Result<Dialect> {
    Dialect::from_url(&db.database_url)
        .context("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")
}

/// Prints what `platform` has installed.
async fn report(platform: &Db) -> anyhow::Result<()> {
    let status = capture::status(platform).await.context("reading change capture's state failed")?;
    let (found, expected) = status.triggers;
    match &status.capture {
        Capture::Absent => eprintln!("change capture: not installed (runs re-read the settle window)"),
        Capture::Incomplete(why) => eprintln!("change capture: INCOMPLETE, not used by runs: {why}"),
        Capture::Ready { epoch, .. } => eprintln!(
            "change capture: installed {} (epoch {epoch}), {found} of {expected} triggers, {} log rows",
            status.installed_at.as_deref().unwrap_or("?"),
            status.log_rows
        ),
    }
    Ok(())
}
