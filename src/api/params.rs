//! Query strings parsed once, at the edge, into the types the metric layer takes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::error::ApiError;
use crate::metrics::{TxFilter, TxKind, TxStatus, Window};

/// Query parameters by name (the first value wins; unknown names are ignored, so cache
/// busters such as `_=1718000000` do no harm).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// From the decoded pairs of a query string.
    pub fn new(pairs: Vec<(String, String)>) -> Params {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
        Params(map)
    }

    /// A parameter's value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether a parameter was given.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The window (`days`, or `date_from` / `date_to`; docs/METRICS.md, "Windows").
    pub fn window(&self, now: DateTime<Utc>, tz: Tz) -> Result<Window, ApiError> {
        Ok(Window::from_params(now, tz, self.get("days"), self.get("date_from"), self.get("date_to"))?)
    }

    /// The transactions filters; empty values and `all` mean no filter.
    pub fn tx_filter(&self) -> Result<TxFilter, ApiError> {
        let given = |name: &str| self.get(name).map(str::trim).filter(|v| !v.is_empty() && *v != "all");
        let status = given("status")
            .map(|v| {
                TxStatus::parse(v).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "status must be one of success, completed, pending, failed (got {v:?})"
                    ))
                })
            })
            .transpose()?;
        let kind = given("type")
            .map(|v| {
                TxKind::parse(v).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "type must be a transaction category (deposit, withdrawal, airtime, data, cable_tv, \
                         electricity, education, …) or one of bills, crypto, p2p (got {v:?})"
                    ))
                })
            })
            .transpose()?;
        Ok(TxFilter { status, kind })
    }
}
