//! `demo` from nothing: the built binary builds a small platform in a temporary file, serves it,
//! prints a token, and every endpoint answers 200 with non-zero numbers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn demo_builds_serves_and_answers_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mafita-analytics"))
        .args(["demo", "--users", "300", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(dir.path().join("demo.sqlite3"))
        .env_remove("ANALYTICS_JWT_SECRET")
        .env_remove("DJANGO_SECRET_KEY")
        .env_remove("ANALYTICS_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Killed(child);
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining stdout so the demo never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(token) = line.strip_prefix("export TOKEN=") {
                let _ = tx.send(token.to_string());
            }
        }
    });
    let token = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("demo printed a token");
    assert!(started.elapsed() < Duration::from_secs(120));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/analytics");
    let get = |path: &str| {
        client.get(format!("{base}/{path}")).header("Authorization", format!("Bearer {token}")).send()
    };
    let checks = [
        ("dashboard/overview/?days=30", "total_transactions"),
        ("transactions/?days=30", "total_count"),
        ("revenue/?days=30", "total_revenue"),
        ("users/?days=365", "total_users"),
        ("services/?days=30", "total_service_transactions"),
        ("kpis/?days=30", "mau"),
    ];
    for (path, field) in checks {
        let res = get(path).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["x-analytics-source"], "snapshot", "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body[field].as_f64().unwrap() > 0.0, "{path}: {field} is zero");
    }
    let res = get("reports/export/?type=transactions&format=csv&days=7").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().lines().count() > 1);
    // The demo platform has change capture, and its first run was read under it.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", dir.path().join("demo.sqlite3").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT capture FROM analytics_run ORDER BY id LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<Option<String>, _>(&row, 0).as_deref(), Some("installed"));
}
