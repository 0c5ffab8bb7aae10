//! The shared conformance vectors: a small platform database and the values an independent
//! implementation of the spec computes for it at a pinned clock, checked on both backends,
//! plus byte-identical JSON across the two.

mod common;

use chrono::{DateTime, Utc};
use common::{fresh, Backend};
use mafita_analytics::metrics::{compute, Endpoint, MetricSettings, Source, TxFilter, Window};
use serde_json::Value;

const SQLITE_SCRIPT: &str = include_str!("fixtures/conformance/platform.sqlite.sql");
const POSTGRES_SCRIPT: &str = include_str!("fixtures/conformance/platform.postgres.sql");
const EXPECTED: &str = include_str!("fixtures/conformance/expected.json");

fn get<'a>(body: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![body];
    for part in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            if let Some(name) = part.strip_suffix("[]") {
                next.extend(v[name].as_array().expect(path).iter());
            } else if let Some((name, filter)) = part.split_once('[') {
                let (k, want) = filter.trim_end_matches(']').split_once('=').unwrap();
                next.extend(v[name].as_array().expect(path).iter().filter(|e| e[k].as_str() == Some(want)));
            } else {
                next.push(&v[part]);
            }
        }
        current = next;
    }
    current
}

fn same_value(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => (a.as_f64().unwrap() - e.as_f64().unwrap()).abs() < 0.0051,
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(a), Value::Object(e)) => {
            e.iter().all(|(k, v)| a.get(k).is_some_and(|x| same_value(x, v)))
        }
        _ => actual == expected,
    }
}

fn check_case(case: &Value, body: &Value, failures: &mut Vec<String>) {
    let label = format!("{} {}", case["endpoint"].as_str().unwrap(), case["params"]);
    for (path, expected) in case["fields"].as_object().unwrap() {
        let found = get(body, path);
        let actual = if path.contains("[]") {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            found.first().copied().cloned().unwrap_or(Value::Null)
        };
        if !same_value(&actual, expected) {
            failures.push(format!("{label}: {path} = {actual}, expected {expected}"));
        }
    }
    for (path, series) in case["series"].as_object().unwrap() {
        let key = series["key"].as_str().unwrap();
        let month = key.starts_with("month");
        let key_field = if month { "month" } else { key };
        let values: Vec<&str> =
            series["values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let rows = series["rows"].as_object().unwrap();
        let list = get(body, path)[0].as_array().unwrap_or_else(|| panic!("{label}: {path} is not a list"));
        for (k, expected) in rows {
            let row = list.iter().find(|r| {
                let v = r[key_field].as_str().unwrap_or_default();
                if month {
                    v.starts_with(k.as_str())
                } else {
                    v == k
                }
            });
            let Some(row) = row else {
                failures.push(format!("{label}: {path} has no row {k}"));
                continue;
            };
            let expected: Vec<&Value> = match expected {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            for (field, want) in values.iter().zip(expected) {
                if !same_value(&row[*field], want) {
                    failures.push(format!("{label}: {path}[{k}].{field} = {}, expected {want}", row[*field]));
                }
            }
        }
        // Rows absent from the vectors are zero-filled days or groups that must not exist.
        for row in list {
            let k = row[key_field].as_str().unwrap_or_default();
            let listed = rows.keys().any(|r| if month { k.starts_with(r.as_str()) } else { r == k });
            if !listed && key != "date" && !month {
                failures.push(format!("{label}: {path} has unexpected row {k}"));
            }
            if !listed && key == "date" {
                for field in &values {
                    if row[*field].as_f64() != Some(0.0) {
                        failures
                            .push(format!("{label}: {path}[{k}].{field} should be zero, is {}", row[*field]));
                    }
                }
            }
        }
    }
}

async fn run(backend: Backend) -> Vec<String> {
    let script = if backend == Backend::Sqlite { SQLITE_SCRIPT } else { POSTGRES_SCRIPT };
    let t = fresh(backend, script).await;
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let now: DateTime<Utc> = expected["now"].as_str().unwrap().parse().unwrap();
    let settings = MetricSettings::default();
    let mut conn = t.db.pool.acquire().await.unwrap();
    let mut src = Source::new(&mut conn, t.db.dialect, &settings);
    let mut failures = Vec::new();
    let mut bodies = Vec::new();
    for case in expected["cases"].as_array().unwrap() {
        let p = &case["params"];
        let days = p["days"].as_i64().map(|d| d.to_string());
        let window = Window::from_params(
            now,
            settings.tz,
            days.as_deref(),
            p["date_from"].as_str(),
            p["date_to"].as_str(),
        )
        .unwrap();
        let endpoint = Endpoint::parse(case["endpoint"].as_str().unwrap()).unwrap();
        let body = compute(&mut src, endpoint, &window, &TxFilter::default()).await.unwrap().into_value();
        check_case(case, &body, &mut failures);
        bodies.push(serde_json::to_string(&body).unwrap());
    }
    failures.push(format!("BODIES:{}", bodies.join("\n")));
    failures
}

fn assert_clean(mut failures: Vec<String>) -> String {
    let bodies = failures.pop().unwrap();
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    bodies
}

backend_test! {
    async fn conformance_vectors_hold(backend: Backend) {
        assert_clean(run(backend).await);
    }
}

#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn conformance_bodies_are_identical_json_on_sqlite_and_postgres() {
    let lite = assert_clean(run(Backend::Sqlite).await);
    let pg = assert_clean(run(Backend::Postgres).await);
    for (a, b) in lite.lines().zip(pg.lines()) {
        assert_eq!(a, b, "SQLite and PostgreSQL bodies differ");
    }
}
