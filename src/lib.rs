//! mafita-analytics: MafitaPay's CEO-dashboard metrics, precomputed and served from memory.
//!
//! Layers, top to bottom (arrows only point down): [`config`] → [`db`] → [`metrics`] →
//! [`materializer`] → [`api`] → [`seed`] → [`cli`]. Beside them, used by any layer: [`task`]
//! (supervised background tasks and the shutdown signal), [`time`], [`memory`], [`telemetry`].
//! `main.rs` only parses the command line and dispatches.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod materializer;
pub mod memory;
pub mod metrics;
pub mod seed;
pub mod task;
pub mod telemetry;
pub mod time;
