//! The operator files under deploy/ are well-formed: every YAML document parses and the systemd
//! unit passes `systemd-analyze verify` (when systemd is installed).

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn deploy_yaml_files_parse() {
    for (file, documents) in [
        ("deploy/render.yaml", 1),
        ("deploy/k8s/deployment.yaml", 2),
        ("deploy/k8s/cronjob.yaml", 1),
        ("deploy/k8s/migrate-job.yaml", 1),
        ("deploy/k8s/config.yaml", 2),
    ] {
        let docs =
            yaml_rust2::YamlLoader::load_from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(docs.len(), documents, "{file}");
    }
    let deployment = &yaml_rust2::YamlLoader::load_from_str(&read("deploy/k8s/deployment.yaml")).unwrap()[0];
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"].as_str(), Some("/readyz"));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"].as_str(), Some("/healthz"));
    let cron = &yaml_rust2::YamlLoader::load_from_str(&read("deploy/k8s/cronjob.yaml")).unwrap()[0];
    assert_eq!(cron["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
}

#[test]
fn systemd_unit_verifies() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("!!! SKIPPED: systemd-analyze is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Point the unit at the binary this test run built, and make the env file optional.
    let unit = read("deploy/mafita-analytics.service")
        .replace("/usr/local/bin/mafita-analytics", env!("CARGO_BIN_EXE_mafita-analytics"))
        .replace("EnvironmentFile=/etc", "EnvironmentFile=-/etc");
    let path = dir.path().join("mafita-analytics.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_django_migration_ships_exactly_the_capture_sql_and_splits_into_its_statements() {
    use mafita_analytics::capture::{install_sql, script, uninstall_sql};
    use mafita_analytics::db::Dialect;
    for (vendor, dialect) in [("postgresql", Dialect::Postgres), ("sqlite", Dialect::Sqlite)] {
        for (action, statements) in [("install", install_sql(dialect)), ("uninstall", uninstall_sql(dialect))]
        {
            let file = format!("deploy/django/analytics_capture/sql/{vendor}_{action}.sql");
            let shipped = read(&file);
            assert_eq!(
                shipped,
                script(&statements),
                "{file} is stale: regenerate it with `capture {action} --print`"
            );
            // What the migration's `statements()` does: split after each statement, drop the
            // script's own BEGIN/COMMIT.
            let split: Vec<&str> = shipped
                .split(";\n\n")
                .map(str::trim)
                .filter(|s| !s.is_empty() && !matches!(*s, "BEGIN" | "COMMIT;" | "COMMIT"))
                .collect();
            assert_eq!(split, statements.iter().map(|s| s.trim()).collect::<Vec<_>>(), "{file}");
        }
    }
}

#[test]
fn the_django_migration_is_valid_python() {
    let Ok(out) = Command::new("python3").arg("--version").output() else {
        panic!("python3 is needed to check deploy/django (the README's set-up installs it)");
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/django/analytics_capture/migrations/0001_change_capture.py");
    let out = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(&path)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
