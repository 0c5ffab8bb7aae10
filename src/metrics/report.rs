//! The metric report of `reports/export/` (docs/METRICS.md): chosen metric groups per local day,
//! week or month of a calendar range, as JSON or CSV.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::facts::active::distinct_users_by;
use super::facts::platform::bonuses;
use super::facts::users::signups_by;
use super::fold::{per_key, Agg};
use super::num::{dec, num, quotient, rate};
use super::payload::export::*;
use super::source::Source;
use super::window::{Window, WindowError, MAX_DAYS};
use super::MetricError;
use crate::db::Bucket;
use crate::metrics::rows::Activity;
use crate::time::{local_date, month_start, week_start};

pub use super::payload::export::{MetricGroup, ReportType};

impl ReportType {
    fn bucket(self) -> Bucket {
        match self {
            ReportType::Daily => Bucket::Day,
            ReportType::Weekly => Bucket::Week,
            ReportType::Monthly => Bucket::Month,
            ReportType::Custom => Bucket::Whole,
        }
    }
}

impl MetricGroup {
    const ALL: [MetricGroup; 5] = [
        MetricGroup::Transactions,
        MetricGroup::Revenue,
        MetricGroup::Users,
        MetricGroup::Services,
        MetricGroup::Kpis,
    ];

    /// Columns the group contributes.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            MetricGroup::Transactions => {
                &["transactions", "successful_transactions", "transaction_volume", "success_rate"]
            }
            MetricGroup::Revenue => &["revenue_total", "revenue_deposits", "revenue_p2p", "revenue_crypto"],
            MetricGroup::Users => &["new_users", "active_users"],
            MetricGroup::Services => &["bill_payment_volume", "p2p_volume", "crypto_volume"],
            MetricGroup::Kpis => &["arpu", "rewards_distributed"],
        }
    }
}

/// A validated report request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    /// Granularity.
    pub report_type: ReportType,
    /// Selected groups, deduplicated, in column order.
    pub metrics: Vec<MetricGroup>,
    /// First date of the range.
    pub date_from: NaiveDate,
    /// Last date of the range.
    pub date_to: NaiveDate,
}

impl ReportRequest {
    /// Parses `report_type`, `metrics` and the range parameters (`date_from`/`date_to`, or
    /// `days=N` meaning today − N .. today; default the last 30 days).
    pub fn parse(
        now: DateTime<Utc>,
        tz: Tz,
        report_type: &str,
        metrics: Option<&str>,
        days: Option<&str>,
        date_from: Option<&str>,
        date_to: Option<&str>,
    ) -> Result<ReportRequest, WindowError> {
        let report_type: ReportType = report_type.parse().map_err(|_| {
            WindowError(format!(
                "report_type must be one of daily, weekly, monthly, custom (got {report_type:?})"
            ))
        })?;
        let metrics = parse_metrics(metrics)?;
        let today = local_date(tz, now);
        let (from, to) = if date_from.is_none() && date_to.is_none() {
            let n = match days {
                None => 30,
                Some(text) => text
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or_else(|| {
                        WindowError(format!("days must be an integer from 1 to {MAX_DAYS} (got {text:?})"))
                    })?,
            };
            (today - Duration::days(n), today)
        } else {
            if days.is_some() {
                return Err(WindowError("use either days or date_from/date_to, not both".into()));
            }
            let w = Window::from_params(now, tz, None, date_from, date_to)?;
            match w.kind {
                super::WindowKind::Calendar { from, to } => (from, to),
                // The "last N days" pattern: the report is always a calendar range.
                super::WindowKind::Rolling { days } => (today - Duration::days(days), today),
            }
        };
        Ok(ReportRequest { report_type, metrics, date_from: from, date_to: to })
    }

    /// Every column of the report, `period` first.
    pub fn columns(&self) -> Vec<&'static str> {
        let mut cols = vec!["period"];
        for group in &self.metrics {
            cols.extend_from_slice(group.columns());
        }
        cols
    }

    /// The download name, `analytics_report_<from>_to_<to>.<format>`.
    pub fn filename(&self, format: ExportFormat) -> String {
        format!("analytics_report_{}_to_{}.{}", self.date_from, self.date_to, format.as_str())
    }
}

/// Parses `metrics=`: a comma list of groups (default all), deduplicated, in column order; an
/// unknown group or an empty list is an error naming the parameter.
pub fn parse_metrics(value: Option<&str>) -> Result<Vec<MetricGroup>, WindowError> {
    let Some(text) = value else { return Ok(MetricGroup::ALL.to_vec()) };
    let mut groups = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let group: MetricGroup = name.parse().map_err(|_| {
            WindowError(format!(
                "metrics: unknown metric {name:?}; choose from transactions, revenue, users, services, kpis"
            ))
        })?;
        groups.push(group);
    }
    if groups.is_empty() {
        return Err(WindowError(
            "metrics must name at least one of transactions, revenue, users, services, kpis".into(),
        ));
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// A computed report: column names and one row of values per bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// What was asked.
    pub request: ReportRequest,
    /// One row per bucket, in bucket order.
    pub rows: Vec<ReportRow>,
}

/// Computes a report (at most 6 queries, whatever its length or granularity).
pub async fn report(
    src: &mut Source<'_>,
    now: DateTime<Utc>,
    request: ReportRequest,
) -> Result<Report, MetricError> {
    let tz = src.settings().tz;
    let window = Window::calendar_within(now, tz, request.date_from, request.date_to, MAX_DAYS + 1)
        .expect("a parsed request is a valid range");
    let range = window.current;
    let bucket = request.report_type.bucket();
    let wants = |g: MetricGroup| request.metrics.contains(&g);
    let needs_activity = wants(MetricGroup::Transactions)
        || wants(MetricGroup::Revenue)
        || wants(MetricGroup::Services)
        || wants(MetricGroup::Kpis);
    let activity = if needs_activity {
        Activity::load(src, range, bucket).await?
    } else {
        Arc::new(Activity::default())
    };
    let needs_active = wants(MetricGroup::Users) || wants(MetricGroup::Kpis);
    let active: BTreeMap<String, i64> = if needs_active {
        distinct_users_by(src, range, bucket).await?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let joins: BTreeMap<String, i64> = if wants(MetricGroup::Users) {
        signups_by(src, range, bucket).await?.into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let bonuses = if wants(MetricGroup::Kpis) {
        per_key(&bonuses(src, range, bucket).await?, |g| g.status != "reversed")
    } else {
        BTreeMap::new()
    };

    // Every figure grouped by bucket key once, so the rows cost one pass over the groups
    // however many buckets there are (a daily report of ten years has 3,650 rows).
    let all = per_key(&activity.tx, |_| true);
    let success = per_key(&activity.tx, |g| g.status == "success");
    let bills = per_key(&activity.tx, |g| g.is_bill_success());
    let revenue_by_key = activity.revenue_by_key();
    let mut rows = Vec::new();
    for period in periods(&window, request.report_type) {
        let key = if bucket == Bucket::Whole { String::new() } else { period.format("%Y-%m-%d").to_string() };
        let of = |map: &BTreeMap<String, Agg>| map.get(&key).copied().unwrap_or_default();
        let (all, success, bills) = (of(&all), of(&success), of(&bills));
        let revenue = revenue_by_key.get(&key).copied().unwrap_or_default();
        let active_users = active.get(&key).copied().unwrap_or(0);
        let row = ReportRow {
            period: period.format("%Y-%m-%d").to_string(),
            transactions: wants(MetricGroup::Transactions).then(|| TransactionColumns {
                transactions: all.count,
                successful_transactions: success.count,
                transaction_volume: num(success.money()),
                success_rate: num(rate(dec(success.count), dec(all.count))),
            }),
            revenue: wants(MetricGroup::Revenue).then(|| RevenueColumns {
                revenue_total: num(revenue.total().money()),
                revenue_deposits: num(revenue.deposits.money()),
                revenue_p2p: num(revenue.p2p.money()),
                revenue_crypto: num(revenue.crypto.money()),
            }),
            users: wants(MetricGroup::Users)
                .then(|| UserColumns { new_users: joins.get(&key).copied().unwrap_or(0), active_users }),
            services: wants(MetricGroup::Services).then(|| ServiceColumns {
                bill_payment_volume: num(bills.money()),
                p2p_volume: num(revenue.p2p.money()),
                crypto_volume: num(revenue.crypto.money()),
            }),
            kpis: wants(MetricGroup::Kpis).then(|| KpiColumns {
                arpu: num(quotient(revenue.total().money(), dec(active_users))),
                rewards_distributed: num(bonuses.get(&key).copied().unwrap_or_default().money()),
            }),
        };
        rows.push(row);
    }
    Ok(Report { request, rows })
}

/// The start date of every bucket touching the window, ascending.
fn periods(window: &Window, report_type: ReportType) -> Vec<NaiveDate> {
    let dates = window.dates();
    let start_of = |d: NaiveDate| match report_type {
        ReportType::Daily => d,
        ReportType::Weekly => week_start(d),
        ReportType::Monthly => month_start(d),
        ReportType::Custom => window.first_date,
    };
    let mut periods: Vec<NaiveDate> = dates.into_iter().map(start_of).collect();
    periods.dedup();
    periods
}

impl Report {
    /// The typed JSON body: `{"report_type", "date_from", "date_to", "metrics", "rows"}`.
    pub fn body(&self) -> MetricReport {
        MetricReport {
            report_type: self.request.report_type,
            date_from: self.request.date_from.to_string(),
            date_to: self.request.date_to.to_string(),
            metrics: self.request.metrics.clone(),
            rows: self.rows.clone(),
        }
    }

    /// The JSON body as a tree.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.body()).expect("a report holds only strings, integers and decimals")
    }

    /// One header row, then one line per bucket.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        super::export::csv_table(&self.request.columns(), &self.rows)
    }
}
