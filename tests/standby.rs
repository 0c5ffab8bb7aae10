//! Reading the platform from a hot standby: every run records how far behind its platform
//! read was (0 on a primary; also the `analytics_platform_lag_seconds` gauge), and a read the
//! standby cancels for a recovery conflict is retried.
//! A real streaming standby with replay paused is exercised by `bench/scale-out.sh` (SCALING.md);
//! the arithmetic that bounds a run's `now` is unit-tested in `materializer::standby`.

mod common;

use std::time::Instant;

use common::app::spawn_app;
use common::{run_context, seeded, Backend};
use mafita_analytics::materializer::standby::{read_replay, Replay, CONFLICT_ATTEMPTS};
use mafita_analytics::materializer::{run_once, RunTrigger};
use serde_json::Value;

backend_test! {
    /// A primary (or SQLite) is never behind: runs record a platform lag of 0 ms and the status
    /// reports the newest successful run's.
    async fn runs_on_a_primary_record_no_platform_lag(backend: Backend) {
        let app = spawn_app(backend).await;
        assert_eq!(read_replay(&app.db.db).await.unwrap(), Replay::PRIMARY);
        let run: Value = app.staff_post("/api/analytics/admin/recompute/?wait=true").await.json().await.unwrap();
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["platform_lag_ms"], 0);
        let runs: Value = app.staff_get("/api/analytics/admin/runs/").await.json().await.unwrap();
        assert!(runs["runs"].as_array().unwrap().iter().all(|r| r["platform_lag_ms"] == 0), "{runs}");
        let status: Value = app.staff_get("/api/analytics/admin/status/").await.json().await.unwrap();
        assert_eq!(status["platform_lag_ms"], 0);
        let scrape = app.get("/metrics", None).await.text().await.unwrap();
        assert!(scrape.lines().any(|l| l == "analytics_platform_lag_seconds 0"), "{scrape}");
    }
}

/// Makes every read of `wallet_wallettransaction` fail the way a hot standby cancels a query
/// that conflicts with replay (SQLSTATE 40001, "conflict with recovery") until `seconds` from
/// now. The table becomes a view over its rows; nothing is written while runs read.
async fn conflict_for(db: &mafita_analytics::db::Db, seconds: f64) {
    let script = format!(
        "ALTER TABLE wallet_wallettransaction RENAME TO wallet_wallettransaction_rows;
         CREATE TABLE conflict_until (t TIMESTAMPTZ NOT NULL);
         INSERT INTO conflict_until SELECT clock_timestamp() + make_interval(secs => {seconds});
         CREATE FUNCTION replay_conflict() RETURNS BOOLEAN LANGUAGE plpgsql STABLE AS $$
         BEGIN
           IF clock_timestamp() < (SELECT t FROM conflict_until) THEN
             RAISE EXCEPTION 'canceling statement due to conflict with recovery'
               USING ERRCODE = '40001', DETAIL = 'User query might have needed to see row versions that must be removed.';
           END IF;
           RETURN TRUE;
         END $$;
         CREATE VIEW wallet_wallettransaction AS SELECT * FROM wallet_wallettransaction_rows WHERE replay_conflict();"
    );
    sqlx::raw_sql(&script).execute(&db.pool).await.unwrap();
}

#[tokio::test]
#[cfg_attr(pg_unreachable, ignore = "PostgreSQL was unreachable when the tests were built (build.rs)")]
async fn a_read_cancelled_by_a_recovery_conflict_is_retried_and_then_reported() {
    // Conflicts for 0.9 s: the first attempt is cancelled, the retry a second later succeeds.
    let t = seeded(Backend::Postgres, 60, 3).await;
    conflict_for(&t.db, 0.9).await;
    let outcome = run_once(&run_context(&t, &[7, 30]), RunTrigger::Cli, None, None).await.unwrap();
    assert!(outcome.succeeded(), "{:?}", outcome.error);

    // Conflicts that outlast every attempt: the run fails and says what to change.
    let t = seeded(Backend::Postgres, 60, 3).await;
    conflict_for(&t.db, 60.0).await;
    let started = Instant::now();
    let outcome = run_once(&run_context(&t, &[7, 30]), RunTrigger::Cli, None, None).await.unwrap();
    let error = outcome.error.expect("the run fails");
    assert!(error.starts_with("platform read failed: "), "{error}");
    assert!(error.contains("canceling statement due to conflict with recovery"), "{error}");
    assert!(
        error.contains(&format!("cancelled by a recovery conflict on each of {CONFLICT_ATTEMPTS} attempts")),
        "{error}"
    );
    assert!(error.contains("hot_standby_feedback"), "{error}");
    // It waited 1 s and 2 s between its three attempts.
    assert!(started.elapsed().as_secs_f64() >= 3.0, "{:?}", started.elapsed());
}
