//! Payloads flattened for BI tools: every scalar number as one `analytics_metric` row, every
//! daily series as `analytics_daily_metric` rows, so nobody has to parse JSON in SQL.

use serde_json::Value;

use crate::metrics::Endpoint;

/// One daily value: `(day, metric, dimension, value)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyValue {
    /// Local date, `YYYY-MM-DD`.
    pub day: String,
    /// `<endpoint>.<series>.<field>`, e.g. `revenue.revenue_trend.revenue`.
    pub metric: String,
    /// A breakdown label; `''` for none.
    pub dimension: String,
    /// The number as written in the payload.
    pub value: String,
}

/// Series that repeat another one under a second name, for the dashboard's convenience.
const DUPLICATE_SERIES: &[&str] = &["volume_over_time"];

/// Every number in `payload` outside lists, as `(dotted name, value)`, names prefixed with the
/// endpoint's short name (`overview.users.total`, `kpis.dau`).
pub fn scalars(endpoint: Endpoint, payload: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(endpoint.name(), payload, &mut out);
    out
}

fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::Object(map) => {
            for (key, child) in map {
                walk(&format!("{prefix}.{key}"), child, out);
            }
        }
        _ => {}
    }
}

/// The rows of every date-keyed list in `payload` (daily series), one per numeric field.
pub fn daily(endpoint: Endpoint, payload: &Value) -> Vec<DailyValue> {
    let mut out = Vec::new();
    let Value::Object(map) = payload else { return out };
    for (series, list) in map {
        let Value::Array(rows) = list else { continue };
        if DUPLICATE_SERIES.contains(&series.as_str()) {
            continue;
        }
        for row in rows {
            let Some(day) = row.get("date").and_then(Value::as_str) else { continue };
            let Value::Object(fields) = row else { continue };
            for (field, v) in fields {
                if let Value::Number(n) = v {
                    out.push(DailyValue {
                        day: day.to_string(),
                        metric: format!("{}.{series}.{field}", endpoint.name()),
                        dimension: String::new(),
                        value: n.to_string(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_are_dotted_and_lists_are_left_out() {
        let payload = json!({ "total": 3, "users": { "new": 1, "rate": 12.50 }, "list": [{ "x": 1 }], "generated_at": "t" });
        let names: Vec<(String, String)> = scalars(Endpoint::Overview, &payload);
        assert_eq!(
            names,
            vec![
                ("overview.total".to_string(), "3".to_string()),
                ("overview.users.new".to_string(), "1".to_string()),
                ("overview.users.rate".to_string(), "12.5".to_string()),
            ]
        );
    }

    #[test]
    fn daily_series_become_rows_per_field() {
        let payload = json!({
            "daily_trend": [{ "date": "2026-06-14", "count": 2, "volume": 10.50 }],
            "volume_over_time": [{ "date": "2026-06-14", "count": 2, "volume": 10.50 }],
            "by_category": [{ "category": "airtime", "count": 1 }],
        });
        let rows = daily(Endpoint::Transactions, &payload);
        let metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
        assert_eq!(metrics, ["transactions.daily_trend.count", "transactions.daily_trend.volume"]);
        assert_eq!(rows[0].day, "2026-06-14");
    }
}
