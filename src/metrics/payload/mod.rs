//! The wire shapes of the dashboard payloads and exports (docs/METRICS.md): one `Serialize` struct per
//! payload and list item, so a misspelled or missing field is a compile error, and the same
//! types generate the OpenAPI document's schemas.
//!
//! Field order is the order the JSON is written in; the names are the Django endpoints' and
//! must not change. Money, rates, trends and ratios are [`Fixed2`]; counts are integers.

pub mod export;
pub mod kpis;
pub mod overview;
pub mod revenue;
pub mod services;
pub mod transactions;
pub mod users;

use serde::Serialize;
use utoipa::ToSchema;

pub use super::num::Fixed2;
use super::window::Window;
use crate::time::rfc3339_micros;

/// The fields every dashboard payload ends with.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Stamp {
    /// Days in the window: `days`, or the calendar days of `date_from`..`date_to` before
    /// clipping at now.
    pub period_days: i64,
    /// The instant the payload was computed as of (the window's "now"), RFC 3339 UTC with
    /// microseconds.
    #[schema(example = "2026-06-15T09:59:58.123456Z")]
    pub generated_at: String,
}

impl Stamp {
    /// The stamp of a payload computed for `w`.
    pub fn of(w: &Window) -> Stamp {
        Stamp { period_days: w.period_days, generated_at: rfc3339_micros(w.now) }
    }
}

/// One endpoint's payload, whichever it is; serialises as that payload alone.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    /// `dashboard/overview/`
    Overview(Box<overview::Overview>),
    /// `transactions/`
    Transactions(Box<transactions::Transactions>),
    /// `revenue/`
    Revenue(Box<revenue::Revenue>),
    /// `users/`
    Users(Box<users::Users>),
    /// `services/`
    Services(Box<services::Services>),
    /// `kpis/`
    Kpis(Box<kpis::Kpis>),
}

impl Payload {
    /// The JSON tree snapshots are stored, flattened and compared as (same bytes as the
    /// struct's own serialisation).
    pub fn into_value(self) -> serde_json::Value {
        serde_json::to_value(self).expect("payloads hold only strings, integers and decimals")
    }
}
