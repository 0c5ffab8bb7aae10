//! The observability kit under deploy/ against the real service: every metric the Grafana
//! dashboard and the Prometheus alert rules query is one `/metrics` exports, and the rules pass
//! `promtool check rules` and their unit tests (`promtool test rules`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::app::spawn_app;
use common::Backend;

fn deploy_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)).unwrap()
}

/// Every `analytics_…` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("analytics_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        names.insert(name);
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_the_alerts_query_only_metrics_the_service_exports() {
    let app = spawn_app(Backend::Sqlite).await;
    // Change capture, a rebuild under it and an incremental run: the capture and drift gauges.
    mafita_analytics::capture::install(&app.db.db).await.unwrap();
    for _ in 0..2 {
        assert!(app.staff_post("/api/analytics/admin/recompute/?wait=true").await.status().is_success());
    }
    let status: serde_json::Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
    assert_eq!(status["capture"]["mode"], "installed", "{status}");
    assert_eq!(status["capture"]["changes_applied"], 0, "{status}");
    assert_eq!(status["capture"]["log_rows"], 0, "{status}");
    assert_eq!(status["drift"]["findings"], 0, "{status}");
    // Answers of every source, so every labelled series exists.
    assert!(app.staff_get("/api/analytics/kpis/?days=7").await.status().is_success());
    assert!(app.staff_get("/api/analytics/kpis/?days=9").await.status().is_success());
    assert!(app.staff_get("/api/analytics/kpis/?days=9").await.status().is_success());
    let scrape = app.get("/metrics", None).await.text().await.unwrap();
    let (mut exported, mut families) = (BTreeSet::new(), BTreeSet::new());
    for line in scrape.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        exported.insert(name.to_string());
        families.insert(name.to_string());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                exported.insert(format!("{name}{suffix}"));
            }
        }
    }

    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy_file("grafana/mafita-analytics.json")).unwrap();
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap()))
        .collect();
    assert_eq!(exprs.len(), 17);
    let in_dashboard = metric_names(&exprs.join("\n"));
    let rules = yaml_rust2::YamlLoader::load_from_str(&deploy_file("prometheus/alerts.yml")).unwrap();
    let rule_exprs: Vec<&str> = rules[0]["groups"][0]["rules"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    assert_eq!(rule_exprs.len(), 10);
    let in_rules = metric_names(&rule_exprs.join("\n"));

    for name in in_dashboard.iter().chain(&in_rules) {
        assert!(exported.contains(name), "{name} is queried but /metrics does not export it:\n{scrape}");
    }
    // Every family the service exports is on the dashboard (a histogram through its buckets).
    assert_eq!(families.len(), 14, "{families:?}");
    for name in &families {
        let shown = in_dashboard.contains(name) || in_dashboard.contains(&format!("{name}_bucket"));
        assert!(shown, "{name} is exported but not on the dashboard");
    }
}

/// The gauge's value in a scrape, if present.
fn last_full_rebuild(scrape: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix("analytics_last_full_rebuild_timestamp_seconds "))
        .map(|v| v.parse().unwrap())
}

/// `finished_at` of a run answer, as Unix seconds.
fn finished_at(run: &serde_json::Value) -> f64 {
    let at: chrono::DateTime<chrono::Utc> = run["finished_at"].as_str().unwrap().parse().unwrap();
    at.timestamp_micros() as f64 / 1e6
}

backend_test! {
    async fn the_last_full_rebuild_gauge_follows_full_runs_only(backend: Backend) {
        let app = spawn_app(backend).await;
        // The set-up run found no stored days: it rebuilt them all.
        let first: serde_json::Value = app.staff_get("/api/analytics/admin/runs/1/").await.json().await.unwrap();
        assert_eq!(first["kind"], "full");
        let scrape = app.get("/metrics", None).await.text().await.unwrap();
        let gauge = last_full_rebuild(&scrape).expect("the gauge is exported");
        assert!((gauge - finished_at(&first)).abs() < 1e-6, "{gauge} vs {}", first["finished_at"]);

        // An incremental run leaves it where it was.
        let res = app.staff_post("/api/analytics/admin/recompute/?wait=true").await;
        let second: serde_json::Value = res.json().await.unwrap();
        assert_eq!((second["kind"].as_str(), second["status"].as_str()), (Some("incremental"), Some("succeeded")));
        let scrape = app.get("/metrics", None).await.text().await.unwrap();
        assert_eq!(last_full_rebuild(&scrape), Some(gauge));

        // A full rebuild moves it to its own end.
        let res = app.staff_post("/api/analytics/admin/recompute/?wait=true&full=true").await;
        let third: serde_json::Value = res.json().await.unwrap();
        assert_eq!((third["kind"].as_str(), third["status"].as_str()), (Some("full"), Some("succeeded")));
        let scrape = app.get("/metrics", None).await.text().await.unwrap();
        let moved = last_full_rebuild(&scrape).unwrap();
        assert!((moved - finished_at(&third)).abs() < 1e-6, "{moved} vs {}", third["finished_at"]);
        assert!(moved > gauge);
    }
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    if Command::new("promtool").arg("--version").output().is_err() {
        // CI installs Debian's prometheus package; elsewhere say loudly what did not run.
        assert!(std::env::var_os("CI").is_none(), "promtool is required under CI");
        eprintln!("!!! SKIPPED: promtool is not installed (apt-get install prometheus)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    for args in [&["check", "rules", "alerts.yml"][..], &["test", "rules", "alerts.test.yml"][..]] {
        let out = Command::new("promtool").args(args).current_dir(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
