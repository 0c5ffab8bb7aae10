//! mafita-analytics: MafitaPay's CEO-dashboard metrics, precomputed and served from memory.
//!
//! Layers, bottom to top (a module imports only from those below it): [`time`], [`task`],
//! [`telemetry`], [`memory`] → [`db`] → [`capture`] → [`config`], [`seed`] → [`metrics`] → [`materializer`]
//! → [`api`] → [`cli`]. `main.rs` only parses the command line and dispatches.

pub mod api;
pub mod capture;
pub mod cli;
pub mod config;
pub mod db;
pub mod materializer;
pub mod memory;
pub mod metrics;
pub mod seed;
pub mod task;
pub mod telemetry;
pub mod time;
