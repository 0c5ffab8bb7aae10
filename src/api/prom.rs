//! Prometheus text exposition for `/metrics`: requests and latency by route and status, cache
//! hits and misses, snapshot age and run outcomes. Kept in process memory with plain mutexes;
//! the label sets are small and bounded (routes are matched paths, not raw URLs).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket upper bounds, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

/// The process's counters.
#[derive(Default)]
pub struct Registry {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    cache: Mutex<BTreeMap<&'static str, u64>>,
}

impl Registry {
    /// Records one answered request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        *self.requests.lock().expect("not poisoned").entry((route.to_string(), status)).or_default() += 1;
        let mut latency = self.latency.lock().expect("not poisoned");
        let h = latency.entry(route.to_string()).or_default();
        let s = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if s <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += s;
        h.total += 1;
    }

    /// Counts an answer by where it came from: `snapshot`, `hit` or `miss` (computed).
    pub fn cache(&self, outcome: &'static str) {
        *self.cache.lock().expect("not poisoned").entry(outcome).or_default() += 1;
    }

    /// The exposition text, with `extra` gauges appended.
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        out.push_str("# HELP analytics_http_requests_total Answered requests by route and status.\n");
        out.push_str("# TYPE analytics_http_requests_total counter\n");
        for ((route, status), n) in self.requests.lock().expect("not poisoned").iter() {
            let _ =
                writeln!(out, "analytics_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP analytics_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE analytics_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().expect("not poisoned").iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "analytics_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "analytics_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ =
                writeln!(out, "analytics_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "analytics_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.total
            );
        }
        out.push_str("# HELP analytics_answers_total Dashboard answers by source: snapshot, cache hit, computed (miss).\n");
        out.push_str("# TYPE analytics_answers_total counter\n");
        for (outcome, n) in self.cache.lock().expect("not poisoned").iter() {
            let _ = writeln!(out, "analytics_answers_total{{source=\"{outcome}\"}} {n}");
        }
        out.push_str(extra);
        out
    }
}
