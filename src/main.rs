//! Entry point: read `.env`, parse the command line, set up logging, run the command.
//! The library holds everything else so tests can drive it directly.

use clap::Parser;
use mafita_analytics::cli::{run, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    mafita_analytics::telemetry::init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
