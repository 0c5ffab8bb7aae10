//! Request counters and latency histograms for `/metrics`, kept in the `metrics` crate's atomic
//! counters and lock-free histogram buckets and rendered by `metrics-exporter-prometheus`.
//!
//! Recording sits on every request's path, so it takes no lock: each route's handles are found
//! in a table built once at start-up (routes are matched paths, a bounded set), and a route's
//! counter for a status is made the first time that status is answered and then read with one
//! atomic load. The recorder is this process's own, not installed globally, so servers that
//! share a process (tests) count apart.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency bucket upper bounds, seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

const REQUESTS: &str = "analytics_http_requests_total";
const LATENCY: &str = "analytics_http_request_duration_seconds";
const ANSWERS: &str = "analytics_answers_total";

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Where an answer came from, for `analytics_answers_total{source}` (the discriminant indexes
/// its counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerSource {
    /// A materialized snapshot.
    Snapshot,
    /// The on-demand cache.
    Hit,
    /// Computed on demand.
    Miss,
}

impl AnswerSource {
    fn label(self) -> &'static str {
        match self {
            AnswerSource::Snapshot => "snapshot",
            AnswerSource::Hit => "hit",
            AnswerSource::Miss => "miss",
        }
    }
}

/// One route's handles: its latency histogram and a counter per answered status (100–599),
/// each made on first use so the exposition lists only what happened.
struct RouteMetrics {
    route: String,
    latency: OnceLock<Histogram>,
    by_status: Box<[OnceLock<Counter>]>,
}

const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

/// The process's request and answer counters.
pub struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    routes: HashMap<String, RouteMetrics>,
    unmatched: RouteMetrics,
    answers: [OnceLock<Counter>; 3],
}

impl Registry {
    /// Counters for `routes` (matched paths); any other route is counted as [`UNMATCHED`].
    pub fn new(routes: impl IntoIterator<Item = String>) -> Registry {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.to_string()), &BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        recorder.describe_counter(REQUESTS.into(), None, "Answered requests by route and status.".into());
        recorder.describe_histogram(LATENCY.into(), None, "Request latency by route.".into());
        recorder.describe_counter(
            ANSWERS.into(),
            None,
            "Dashboard answers by source: snapshot, cache hit, computed (miss).".into(),
        );
        let handle = recorder.handle();
        let routes = routes.into_iter().map(|r| (r.clone(), RouteMetrics::new(r))).collect();
        Registry {
            recorder,
            handle,
            routes,
            unmatched: RouteMetrics::new(UNMATCHED.to_string()),
            answers: Default::default(),
        }
    }

    /// Records one answered request on `route` (a matched path, or `None`).
    pub fn observe(&self, route: Option<&str>, status: u16, elapsed: Duration) {
        let metrics = match route {
            None => &self.unmatched,
            Some(route) => match self.routes.get(route) {
                Some(metrics) => metrics,
                None => return self.observe_unlisted(route, status, elapsed),
            },
        };
        let latency = metrics.latency.get_or_init(|| self.latency(&metrics.route));
        latency.record(elapsed.as_secs_f64());
        let Some(slot) = status.checked_sub(FIRST_STATUS).and_then(|i| metrics.by_status.get(usize::from(i)))
        else {
            return;
        };
        slot.get_or_init(|| self.requests(&metrics.route, status)).increment(1);
    }

    /// A matched route outside the start-up table (the bundled docs pages): found by name in the
    /// recorder's own registry each time, which is fine off the dashboard's paths.
    fn observe_unlisted(&self, route: &str, status: u16, elapsed: Duration) {
        self.latency(route).record(elapsed.as_secs_f64());
        self.requests(route, status).increment(1);
    }

    /// The latency histogram of `route`, from the recorder's registry.
    fn latency(&self, route: &str) -> Histogram {
        let key = Key::from_parts(LATENCY, vec![Label::new("route", route.to_string())]);
        self.recorder.register_histogram(&key, &METADATA)
    }

    /// The request counter of `route` and `status`, from the recorder's registry.
    fn requests(&self, route: &str, status: u16) -> Counter {
        let labels = vec![Label::new("route", route.to_string()), Label::new("status", status.to_string())];
        self.recorder.register_counter(&Key::from_parts(REQUESTS, labels), &METADATA)
    }

    /// Counts an answer by where it came from.
    pub fn answer(&self, source: AnswerSource) {
        self.answers[source as usize]
            .get_or_init(|| {
                let key = Key::from_parts(ANSWERS, vec![Label::new("source", source.label())]);
                self.recorder.register_counter(&key, &METADATA)
            })
            .increment(1);
    }

    /// The exposition text, with `extra` (gauges read from the state at scrape time) appended.
    pub fn render(&self, extra: &str) -> String {
        let mut out = self.handle.render();
        out.push_str(extra);
        out
    }

    /// Folds recorded latencies into the histograms' buckets: the exporter otherwise holds
    /// every sample until the next scrape, so with nobody scraping memory would grow. Called
    /// on a timer.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl RouteMetrics {
    fn new(route: String) -> RouteMetrics {
        RouteMetrics {
            route,
            latency: OnceLock::new(),
            by_status: (0..STATUSES).map(|_| OnceLock::new()).collect(),
        }
    }
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
