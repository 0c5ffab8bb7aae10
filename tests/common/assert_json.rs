//! Comparing a payload with a hand-written expectation, field by field.
#![allow(dead_code)]

use serde_json::Value;

/// Asserts `actual` has exactly the fields of `expected` with equal values. Integers in the
/// expectation must be integers in the payload (counts are never `12.0`); decimals compare by
/// value and must be written as decimals (money and rates).
pub fn assert_payload(actual: &Value, expected: &Value) {
    let mut diffs = Vec::new();
    compare("", actual, expected, &mut diffs);
    assert!(diffs.is_empty(), "{} differences:\n{}\nactual: {actual}", diffs.len(), diffs.join("\n"));
}

fn compare(path: &str, actual: &Value, expected: &Value, diffs: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(x) => compare(&format!("{path}.{k}"), x, v, diffs),
                    None => diffs.push(format!("{path}.{k}: missing")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                diffs.push(format!("{path}.{k}: unexpected field"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                diffs.push(format!("{path}: {} items, expected {}", a.len(), e.len()));
            }
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                compare(&format!("{path}[{i}]"), x, y, diffs);
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            let text = a.to_string();
            if e.is_i64() || e.is_u64() {
                if text.contains('.') || a.as_i64() != e.as_i64() {
                    diffs.push(format!("{path}: {text}, expected integer {e}"));
                }
            } else if !text.contains('.') || (a.as_f64().unwrap() - e.as_f64().unwrap()).abs() > 1e-9 {
                diffs.push(format!("{path}: {text}, expected {e}"));
            }
        }
        _ if actual == expected => {}
        _ => diffs.push(format!("{path}: {actual}, expected {expected}")),
    }
}
