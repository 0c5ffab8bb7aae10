//! `seed`: deterministic, realistic synthetic MafitaPay data for any platform database.
//!
//! The generator walks day by day so memory stays flat whatever the scale: sign-ups follow a
//! growth curve, activity follows the active user base with daily and weekly seasonality, and
//! every table the dashboard reads gets rows (P2P credits reference their orders exactly as the
//! platform writes them). The same `--seed` and `--until` always give the same rows.

mod activity;
mod model;
mod sink;
mod tables;

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::Row;

use crate::db::{create_platform_tables, Db, PlatformSchemaError};
use model::Generator;
use sink::Sink;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Number of users (≥ 1; user 1 is a staff admin).
    pub users: u32,
    /// Days of history ending at `until`.
    pub days: u32,
    /// Random seed.
    pub seed: u64,
    /// Average wallet transactions per user.
    pub tx_per_user: u32,
    /// The instant the history ends (the data's "now").
    pub until: DateTime<Utc>,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Rows per table, in creation order.
    pub rows: Vec<(&'static str, u64)>,
    /// Wall time.
    pub elapsed: StdDuration,
}

impl SeedReport {
    /// Rows written to `table`.
    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows.iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n)
    }
}

/// Why seeding did not happen; in every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// An option is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The tables exist with another shape.
    #[error(transparent)]
    Schema(#[from] PlatformSchemaError),
    /// The database already holds platform data.
    #[error("{table} already holds {rows} rows; seed only fills an empty platform database (use a new database or file)")]
    NotEmpty {
        /// The table found non-empty.
        table: &'static str,
        /// Its row count.
        rows: i64,
    },
    /// The database failed while writing (everything was rolled back).
    #[error("database error while seeding (nothing was kept)")]
    Database(#[from] sqlx::Error),
}

impl SeedOptions {
    fn validate(&self) -> Result<(), SeedError> {
        if self.users == 0 {
            return Err(SeedError::Invalid("--users must be at least 1 (got 0)".into()));
        }
        if !(1..=3650).contains(&self.days) {
            return Err(SeedError::Invalid(format!("--days must be from 1 to 3650 (got {})", self.days)));
        }
        if self.tx_per_user > 10_000 {
            return Err(SeedError::Invalid(format!(
                "--tx-per-user must be at most 10000 (got {})",
                self.tx_per_user
            )));
        }
        Ok(())
    }
}

/// Creates the platform tables if absent and fills them. `url` is the database's URL (the bulk
/// writer opens its own connection for PostgreSQL `COPY`).
pub async fn seed(db: &Db, url: &str, options: &SeedOptions) -> Result<SeedReport, SeedError> {
    options.validate()?;
    let started = Instant::now();
    create_platform_tables(db).await?;
    for table in ["accounts_user", "wallet_wallettransaction"] {
        let rows: i64 = sqlx::query(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"))
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        if rows > 0 {
            return Err(SeedError::NotEmpty { table, rows });
        }
    }

    let bar = progress_bar(options);
    let mut sink = Sink::open(db, url).await?;
    let rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut generator = Generator::new(rng, options);
    let outcome = generator.write_all(&mut sink, &bar).await;
    match outcome {
        Ok(()) => {
            bar.set_message("committing and analysing");
            sink.finish(&tables::ALL).await?;
            bar.finish_and_clear();
            Ok(SeedReport { rows: generator.counts(), elapsed: started.elapsed() })
        }
        Err(e) => {
            bar.abandon();
            sink.abort().await;
            Err(e.into())
        }
    }
}

fn progress_bar(options: &SeedOptions) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(options.days));
    bar.set_style(
        ProgressStyle::with_template("{spinner} seeding {bar:40} day {pos}/{len} {msg} ({elapsed})")
            .expect("static template"),
    );
    bar.enable_steady_tick(StdDuration::from_millis(200));
    bar
}

/// The first instant of the history.
fn history_start(options: &SeedOptions) -> DateTime<Utc> {
    options.until - Duration::days(i64::from(options.days))
}
