//! Change capture (README, "Change capture") on SQLite and PostgreSQL: with the change log
//! installed, a seeded random chain of platform changes — inserts, statuses changed at any age,
//! accounts deleted with everything they own (and their referrals cleared), referrers set and
//! changed, references, amounts, categories, dates and cryptos edited, rows deleted, rows with
//! low ids and back-dated rows — reaches the stored days at the next run, which re-reads no
//! whole day it had, and stores what a full rebuild stores at the same `now`; a transaction
//! held open across a run is applied by the run after it commits; a run whose platform
//! connection cannot write (a hot standby, a read-only role) still consumes the log; a consumer
//! left behind by pruning, and a reinstall, rebuild once.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::chain::*;
use common::fixture::Fixture;
use common::{fresh, Backend, TestDb};
use mafita_analytics::capture::{self, Capture};
use mafita_analytics::db::{ConnectSpec, Db, Dialect};
use mafita_analytics::materializer::store::migrate;
use mafita_analytics::materializer::RunKind;
use mafita_analytics::metrics::{DaySlot, DayStore};
use mafita_analytics::time::django_sqlite_text;
use rand::seq::SliceRandom;
use rand::Rng;
use sqlx::Row;

/// `(capture, changes_applied)` of run `id`.
async fn run_capture(db: &Db, id: i64) -> (Option<String>, Option<i64>) {
    let row = sqlx::query("SELECT capture, CAST(changes_applied AS BIGINT) FROM analytics_run WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// How many rows the change log holds.
async fn log_rows(db: &Db) -> i64 {
    sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_change_log")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0)
}

/// Log rows the stored days include that are still in the log: everything on SQLite, those of
/// transactions before the days' snapshot's oldest running one on PostgreSQL (a transaction of
/// another test on the same server may hold that back, keeping later rows for a later prune).
async fn unpruned(db: &Db) -> i64 {
    let mark = mafita_analytics::materializer::days::load_capture_mark(db).await.unwrap().unwrap();
    let sql = match &mark.cursor {
        capture::Cursor::Seq(seq) => {
            format!("SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_change_log WHERE seq <= {seq}")
        }
        capture::Cursor::Snapshot(_) => format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM analytics_change_log WHERE txid < CAST('{}' AS XID8)",
            mark.cursor.horizon()
        ),
    };
    sqlx::query(&sql).fetch_one(&db.pool).await.unwrap().get(0)
}

/// An instant as a literal of `backend`'s `created_at` column.
fn stamp(backend: Backend, at: DateTime<Utc>) -> String {
    match backend {
        Backend::Sqlite => format!("'{}'", django_sqlite_text(at)),
        Backend::Postgres => format!("'{}+00'", django_sqlite_text(at)),
    }
}

/// What happens to the platform before a run.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Rows of any table created in the last three hours.
    Insert,
    /// Statuses changed in place on rows of any age, also before the stored days.
    StatusChange,
    /// A user deletes their account: their transactions, orders, purchases, bonuses and wallet
    /// go, and the users they referred lose their referrer (what Django's `user.delete()` does).
    DeleteAccount,
    /// Users' referrers set, changed or cleared in the admin.
    Referrers,
    /// Users' sign-up dates edited, to any age (also before the stored days).
    JoinDates,
    /// A transaction's reference (P2P or not), amount, category or date edited in place.
    EditTransactions,
    /// An order's or bonus's amount, a purchase's crypto, a date edited in place.
    EditOrders,
    /// Single rows deleted.
    DeleteRows,
    /// Rows inserted, changed and deleted in the hours around the windows' edges (a day, a
    /// week, a month back and their previous periods): the days whose hour slots the windows
    /// fold.
    EdgeDays,
    /// Rows inserted with ids below ones already read (a restore, `loaddata`), at any date.
    LowIds,
    /// Rows created weeks ago, inserted now.
    Backdated,
    /// Users' flags and a wallet balance changed (state every run reads whole).
    Flags,
    /// A day or two pass.
    NextDay,
}

const STEPS: [Step; 20] = [
    Step::Insert,
    Step::Insert,
    Step::StatusChange,
    Step::StatusChange,
    Step::DeleteAccount,
    Step::DeleteAccount,
    Step::Referrers,
    Step::JoinDates,
    Step::JoinDates,
    Step::EditTransactions,
    Step::EditTransactions,
    Step::EditOrders,
    Step::DeleteRows,
    Step::EdgeDays,
    Step::EdgeDays,
    Step::LowIds,
    Step::Backdated,
    Step::Flags,
    Step::NextDay,
    Step::NextDay,
];

/// A random row of the platform (any age, any table but users) that still exists.
fn any_row(p: &mut Platform) -> (Table, i64, DateTime<Utc>) {
    let (table, id, at, _) = p.rows[p.rng.gen_range(0..p.rows.len())].clone();
    (table, id, at)
}

/// The statements that delete user `user` the way Django's `user.delete()` does: everything
/// the user owns, the orders on the user's offers, and the referrer of the users they referred.
fn delete_account(user: i64) -> Vec<String> {
    vec![
        format!("DELETE FROM wallet_wallettransaction WHERE user_id = {user}"),
        format!(
            "DELETE FROM p2p_depositorder WHERE buyer_id = {user} OR sell_offer_id IN \
             (SELECT id FROM p2p_deposit_p2p_offer WHERE merchant_id = {user})"
        ),
        format!(
            "DELETE FROM p2p_withdraworder WHERE seller_id = {user} OR buyer_offer_id IN \
             (SELECT id FROM p2p_withdraw_p2p_offer WHERE merchant_id = {user})"
        ),
        format!("DELETE FROM p2p_deposit_p2p_offer WHERE merchant_id = {user}"),
        format!("DELETE FROM p2p_withdraw_p2p_offer WHERE merchant_id = {user}"),
        format!("DELETE FROM gasfee_cryptopurchase WHERE user_id = {user}"),
        format!("DELETE FROM rewards_bonus WHERE user_id = {user}"),
        format!("DELETE FROM wallet_wallet WHERE user_id = {user}"),
        format!("UPDATE accounts_user SET referred_by_id = NULL WHERE referred_by_id = {user}"),
        format!("DELETE FROM accounts_user WHERE id = {user}"),
    ]
}

/// Runs `statements` in one platform transaction.
async fn transaction(db: &Db, statements: &[String]) {
    let mut tx = db.pool.begin().await.unwrap();
    for s in statements {
        sqlx::raw_sql(s).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{e}: {s}"));
    }
    tx.commit().await.unwrap();
}

backend_test! {
    async fn with_capture_every_platform_change_reaches_the_next_run_exactly(backend: Backend) {
        let seed = seed();
        let tz = NEW_YORK;
        let mut p = Platform::new(seed);
        let mut now = utc(2026, 3, 6, 14, 0);
        // Besides the random platform, an account from before the stored days, with a deposit
        // then and one inside them, who referred two users: the first account deleted.
        let mut f = p.initial(now);
        f = p.user(f, now - Duration::days(850));
        let old = *p.users.last().unwrap();
        for (days, amount) in [(800, "120.00"), (20, "45.50")] {
            let at = django_sqlite_text(now - Duration::days(days));
            f = f.tx(p.id(Table::Tx), old, "deposit", "credit", amount, "success", at, None);
        }
        let referred: Vec<i64> = p.users[1..3].to_vec();
        let t = fresh(backend, &f.script(backend)).await;
        for user in referred {
            sqlx::raw_sql(&format!("UPDATE accounts_user SET referred_by_id = {old} WHERE id = {user}"))
                .execute(&t.db.pool)
                .await
                .unwrap();
        }
        migrate(&t.db).await.unwrap();
        capture::install(&t.db).await.unwrap();
        let reference = summary_db(backend).await;
        let a = context(&t, &t.db, tz);

        let first = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, first).await.0.as_deref(), Some("full"), "seed {seed}: nothing stored yet");
        assert_eq!(run_capture(&t.db, first).await, (Some("installed".into()), None));
        assert_equals_full_rebuild(&t, &t.db, &reference, tz, now, &format!("{backend:?} seed {seed}, first run")).await;

        let replica = DaySlot::default();
        assert_replica_loads_the_run(&replica, &a, tz, "first run").await;
        let mut prev_end = DayStore::end_of_whole_days(tz, now);
        let mut history: Vec<String> = Vec::new();
        let mut steps = STEPS.to_vec();
        steps.shuffle(&mut p.rng);
        for (i, step) in steps.iter().enumerate() {
            // Arrange: time passes and the platform changes.
            now += Duration::minutes(p.rng.gen_range(0..240));
            let mut f = Fixture::default();
            let mut sql: Vec<String> = Vec::new();
            match *step {
                Step::Insert => {
                    for _ in 0..p.rng.gen_range(1..=6) {
                        let (table, when) = (p.any_table(), p.instant(now - Duration::hours(3), now));
                        f = p.row(f, table, when);
                    }
                    // A row dated ahead of the clock (a skewed writer): in the open day's later
                    // hours or a day not yet begun, in no window until its time comes.
                    if p.rng.gen_bool(0.5) {
                        let (table, when) = (p.any_table(), p.instant(now + Duration::minutes(1), now + Duration::hours(30)));
                        f = p.row(f, table, when);
                    }
                }
                Step::StatusChange => {
                    for _ in 0..p.rng.gen_range(2..=6) {
                        let (table, id, _) = any_row(&mut p);
                        let status = p.pick(table.statuses()).to_string();
                        sql.push(format!("UPDATE {} SET status = '{status}' WHERE id = {id}", table.name()));
                    }
                }
                Step::DeleteAccount => {
                    // The first deletion takes the account from before the stored days; later
                    // ones any but user 1 (the merchant whose offers the new orders use).
                    let candidates: Vec<i64> = p.users.iter().copied().filter(|u| *u != 1).collect();
                    let user = if p.users.contains(&old) { old } else { candidates[p.rng.gen_range(0..candidates.len())] };
                    p.users.retain(|u| *u != user);
                    sql.extend(delete_account(user));
                }
                Step::JoinDates => {
                    for _ in 0..p.rng.gen_range(1..=3) {
                        let user = p.some_user();
                        let when = p.instant(now - Duration::days(900), now);
                        sql.push(format!("UPDATE accounts_user SET date_joined = {} WHERE id = {user}", stamp(backend, when)));
                    }
                }
                Step::Referrers => {
                    for _ in 0..p.rng.gen_range(1..=4) {
                        let (user, referrer) = (p.some_user(), p.some_user());
                        let value = if p.rng.gen_bool(0.2) { "NULL".to_string() } else { referrer.to_string() };
                        sql.push(format!("UPDATE accounts_user SET referred_by_id = {value} WHERE id = {user}"));
                    }
                }
                Step::EditTransactions => {
                    for _ in 0..p.rng.gen_range(2..=5) {
                        let candidates: Vec<i64> =
                            p.rows.iter().filter(|r| r.0 == Table::Tx).map(|r| r.1).collect();
                        let id = candidates[p.rng.gen_range(0..candidates.len())];
                        let set = match p.rng.gen_range(0..5) {
                            0 => format!("reference = 'p2p-withdraw-{id}'"),
                            1 => "reference = NULL".to_string(),
                            2 => format!("amount = {}", p.amount()),
                            3 => format!("category = '{}'", p.pick(&CATEGORIES)),
                            _ => {
                                let when = p.instant(now - Duration::days(800), now);
                                format!("created_at = {}", stamp(backend, when))
                            }
                        };
                        sql.push(format!("UPDATE wallet_wallettransaction SET {set} WHERE id = {id}"));
                    }
                }
                Step::EditOrders => {
                    for _ in 0..p.rng.gen_range(2..=5) {
                        let (table, id, _) = any_row(&mut p);
                        let set = match (table, p.rng.gen_range(0..3)) {
                            (Table::Purchase, 0) => format!("crypto_id = {}", p.rng.gen_range(1..=3)),
                            (_, 1) => {
                                let when = p.instant(now - Duration::days(60), now);
                                format!("created_at = {}", stamp(backend, when))
                            }
                            (Table::Tx | Table::Bonus, _) => format!("amount = {}", p.amount()),
                            _ => format!("total_price = {}", p.amount()),
                        };
                        sql.push(format!("UPDATE {} SET {set} WHERE id = {id}", table.name()));
                    }
                }
                Step::DeleteRows => {
                    for _ in 0..p.rng.gen_range(1..=4) {
                        let (table, id, _) = any_row(&mut p);
                        sql.push(format!("DELETE FROM {} WHERE id = {id}", table.name()));
                    }
                }
                Step::EdgeDays => {
                    for back in [1, 2, 7, 14, 30, 60] {
                        let edge = now - Duration::days(back);
                        let near = |r: &&(Table, i64, DateTime<Utc>, String)| (r.2 - edge).num_minutes().abs() < 90;
                        let rows: Vec<(Table, i64)> = p.rows.iter().filter(near).map(|r| (r.0, r.1)).collect();
                        if let Some((table, id)) = rows.first() {
                            let status = p.pick(table.statuses()).to_string();
                            sql.push(format!("UPDATE {} SET status = '{status}' WHERE id = {id}", table.name()));
                        }
                        if let Some((table, id)) = rows.get(1) {
                            sql.push(format!("DELETE FROM {} WHERE id = {id}", table.name()));
                        }
                        let when = p.instant(edge - Duration::minutes(80), edge + Duration::minutes(80));
                        let table = p.any_table();
                        f = p.row(f, table, when);
                    }
                }
                Step::LowIds => {
                    // Ids are ID_STEP apart: one just above an old row's id is free and low.
                    for _ in 0..p.rng.gen_range(1..=3) {
                        let (table, id, _) = any_row(&mut p);
                        let low = id + p.rng.gen_range(1..ID_STEP);
                        let when = p.instant(now - Duration::days(900), now);
                        f = p.row_with_id(f, table, when, low);
                    }
                }
                Step::Backdated => {
                    for _ in 0..p.rng.gen_range(1..=3) {
                        let (table, when) = (p.any_table(), p.instant(now - Duration::days(50), now - Duration::days(7)));
                        f = p.row(f, table, when);
                    }
                }
                Step::Flags => {
                    let flag = p.pick(&["is_active", "is_email_verified", "is_merchant"]);
                    let user = p.some_user();
                    sql.push(format!("UPDATE accounts_user SET {flag} = NOT {flag} WHERE id = {user}"));
                    let (user, balance) = (p.some_user(), p.amount());
                    sql.push(format!("UPDATE wallet_wallet SET balance = {balance} WHERE user_id = {user}"));
                }
                Step::NextDay => now += Duration::hours(p.rng.gen_range(20..50)),
            }
            let inserts = f.rows_script(backend);
            history.push(format!("step {i} at {now}: {step:?}: {sql:?} {inserts}"));
            let why = format!("{backend:?} seed {seed} (INCREMENTAL_SEED replays it)\n{}", history.join("\n"));
            if inserts.trim() != ";" {
                sqlx::raw_sql(&inserts).execute(&t.db.pool).await.unwrap_or_else(|e| panic!("{e}: {inserts}"));
            }
            transaction(&t.db, &sql).await;

            // Act: an incremental run.
            let id = run(&a, now, RunKind::Incremental).await;

            // Assert: it applied the log, read only the days that ended since (but the one it
            // kept open), and stored what a full rebuild stores.
            let end = DayStore::end_of_whole_days(tz, now).max(prev_end);
            let (kind, reread) = run_kind(&t.db, id).await;
            assert_eq!(kind.as_deref(), Some("incremental"), "{why}");
            // The day open at the last run was kept by the changes: it ends without a read.
            let ended = (end - prev_end).num_days();
            assert_eq!(reread, Some((ended - 1).max(0)), "only the days that ended since, but the open one: {why}");
            let (mode, applied) = run_capture(&t.db, id).await;
            assert_eq!(mode.as_deref(), Some("installed"), "{why}");
            assert!(applied.is_some(), "{why}");
            assert_eq!(run_drift(&t.db, id).await.0, Some(0), "with capture the drift checks find nothing: {why}");
            assert_equals_full_rebuild(&t, &t.db, &reference, tz, now, &why).await;
            assert_replica_loads_the_run(&replica, &a, tz, &why).await;
            assert_eq!(unpruned(&t.db).await, 0, "the run pruned what it applied: {why}");
            prev_end = end;
        }
    }
}

backend_test! {
    async fn a_transaction_held_open_across_a_run_is_applied_by_the_run_after_its_commit(backend: Backend) {
        // Arrange: a platform with capture and a first run.
        let tz = chrono_tz::Africa::Lagos;
        let mut p = Platform::new(7);
        let mut now = utc(2026, 6, 15, 10, 0);
        let t = fresh(backend, &p.initial(now).script(backend)).await;
        capture::install(&t.db).await.unwrap();
        // The summary tables in their own database: on SQLite the held transaction keeps the
        // platform file's write lock.
        let summary = summary_db(backend).await;
        let reference = summary_db(backend).await;
        let a = context(&t, &summary.db, tz);
        run(&a, now, RunKind::Incremental).await;

        // A long transaction takes a low id and writes a success deposit dated 16 days back,
        // and settles an old row, and stays open.
        let held_id = p.rows.iter().find(|r| r.0 == Table::Tx).unwrap().1 + 1;
        let old_at = django_sqlite_text(now - Duration::days(16));
        let ts = |s: &str| match backend {
            Backend::Sqlite => format!("'{s}'"),
            Backend::Postgres => format!("'{s}+00'"),
        };
        let mut held = t.db.pool.begin().await.unwrap();
        let insert = format!(
            "INSERT INTO wallet_wallettransaction (id, tx_type, category, amount, balance_before, balance_after, \
             reference, request_id, status, metadata, created_at, user_id, wallet_id) VALUES ({held_id}, 'credit', \
             'deposit', 70.00, 0, 0, NULL, NULL, 'success', NULL, {}, 1, 1)",
            ts(&old_at)
        );
        sqlx::raw_sql(&insert).execute(&mut *held).await.unwrap();
        // On PostgreSQL a second transaction takes a higher id and commits first (SQLite has
        // one writer at a time, so there the held transaction is the only writer).
        if backend == Backend::Postgres {
            let newer = Fixture::default().tx(
                p.id(Table::Tx),
                1,
                "deposit",
                "credit",
                "30.00",
                "success",
                django_sqlite_text(now - Duration::hours(1)),
                None,
            );
            sqlx::raw_sql(&newer.rows_script(backend)).execute(&t.db.pool).await.unwrap();
        }

        // Act: a run while it is open, then it commits, then another run.
        now += Duration::minutes(5);
        let during = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&summary.db, during).await.0.as_deref(), Some("incremental"));
        held.commit().await.unwrap();
        now += Duration::minutes(5);
        let after = run(&a, now, RunKind::Incremental).await;

        // Assert: the late commit is in the days, exactly once.
        assert_eq!(run_kind(&summary.db, after).await.0.as_deref(), Some("incremental"));
        assert_eq!(run_capture(&summary.db, after).await.1, Some(1), "the held transaction's one row");
        assert_equals_full_rebuild(&t, &summary.db, &reference, tz, now, &format!("{backend:?}: after the late commit")).await;
    }
}

backend_test! {
    async fn a_run_on_a_platform_it_cannot_write_consumes_the_log_and_leaves_pruning_to_the_primary(
        backend: Backend,
    ) {
        // Arrange: the summary tables in their own database; the platform opened read-only (as a
        // hot standby or a read-only role would be).
        let tz = chrono_tz::Africa::Lagos;
        let mut p = Platform::new(11);
        let mut now = utc(2026, 6, 15, 10, 0);
        let t = fresh(backend, &p.initial(now).script(backend)).await;
        capture::install(&t.db).await.unwrap();
        let summary = summary_db(backend).await;
        let reference = summary_db(backend).await;
        let read_only = read_only_platform(&t).await;
        let a = context(&read_only, &summary.db, tz);
        run(&a, now, RunKind::Incremental).await;

        // Act: the platform changes (through its own writable connection), a run reads it.
        let f = p.row(Fixture::default(), Table::Tx, now - Duration::days(20));
        sqlx::raw_sql(&f.rows_script(backend)).execute(&t.db.pool).await.unwrap();
        transaction(&t.db, &delete_account(p.users[3])).await;
        now += Duration::minutes(10);
        let id = run(&a, now, RunKind::Incremental).await;

        // Assert: applied, exact, and the log kept for the primary to prune.
        assert_eq!(run_kind(&summary.db, id).await.0.as_deref(), Some("incremental"));
        assert_equals_full_rebuild(&t, &summary.db, &reference, tz, now, &format!("{backend:?} read-only")).await;
        let kept = log_rows(&t.db).await;
        assert!(kept > 0, "a read-only platform connection cannot prune");
        let mark = mafita_analytics::materializer::days::load_capture_mark(&summary.db).await.unwrap().unwrap();
        let pruned = capture::prune(&t.db, &mark.cursor).await.unwrap() as i64;
        // `capture prune` on the primary deletes what the days include: on PostgreSQL, the rows
        // of transactions before the days' snapshot's oldest running one (another database's
        // open transaction on the same server can hold that back; the rest waits for later).
        match backend {
            Backend::Sqlite => assert_eq!(pruned, kept),
            Backend::Postgres => assert!(pruned <= kept, "{pruned} > {kept}"),
        }
        // And the next run continues from there.
        now += Duration::minutes(10);
        let next = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&summary.db, next).await.0.as_deref(), Some("incremental"));
    }
}

/// A second pool on `t`'s platform whose sessions cannot write.
async fn read_only_platform(t: &TestDb) -> TestDb {
    let url = match t.db.dialect {
        Dialect::Sqlite => format!("{}?mode=ro", t.url),
        Dialect::Postgres => format!("{}?options=-c%20default_transaction_read_only%3Don", t.url),
    };
    let db =
        Db::connect(ConnectSpec { url: &url, setting: "test", max_connections: 2, create_sqlite: false })
            .await
            .unwrap();
    common::TestDb::alias(db, url)
}

backend_test! {
    async fn a_reinstall_or_a_log_pruned_past_the_stored_days_rebuilds_once(backend: Backend) {
        let tz = chrono_tz::Africa::Lagos;
        let mut p = Platform::new(3);
        let mut now = utc(2026, 6, 15, 10, 0);
        let t = fresh(backend, &p.initial(now).script(backend)).await;
        migrate(&t.db).await.unwrap();
        let a = context(&t, &t.db, tz);
        // Without capture: a run re-reads the settle window.
        let before = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_capture(&t.db, before).await, (Some("absent".into()), None));
        // Installing: the next run rebuilds under the log, the one after applies it.
        capture::install(&t.db).await.unwrap();
        now += Duration::minutes(5);
        let installed = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, installed).await.0.as_deref(), Some("full"));
        now += Duration::minutes(5);
        let applied = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, applied).await, (Some("incremental".into()), Some(0)));
        // Another consumer prunes further than these days have read: they rebuild, not guess.
        let f = p.row(Fixture::default(), Table::Bonus, now - Duration::days(3));
        sqlx::raw_sql(&f.rows_script(backend)).execute(&t.db.pool).await.unwrap();
        let ahead = match backend {
            // Everything logged so far.
            Backend::Sqlite => {
                let mut conn = t.db.pool.acquire().await.unwrap();
                capture::read_cursor(&mut conn, t.db.dialect).await.unwrap()
            }
            // A snapshot in which every transaction up to a new one has ended.
            Backend::Postgres => {
                let row = sqlx::query("SELECT CAST(pg_current_xact_id() AS TEXT)").fetch_one(&t.db.pool).await.unwrap();
                let next: String = row.get(0);
                capture::Cursor::Snapshot(format!("{next}:{next}:"))
            }
        };
        assert!(capture::prune(&t.db, &ahead).await.unwrap() >= 1, "the bonus's log row is gone");
        now += Duration::minutes(5);
        let pruned = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, pruned).await.0.as_deref(), Some("full"), "the log lost rows it had not read");
        // A trigger dropped by hand: capture is incomplete and not trusted.
        let drop_trigger = match backend {
            Backend::Sqlite => "DROP TRIGGER analytics_capture_rewards_bonus_delete",
            Backend::Postgres => "DROP TRIGGER analytics_capture_rewards_bonus_delete ON rewards_bonus",
        };
        sqlx::raw_sql(drop_trigger).execute(&t.db.pool).await.unwrap();
        let mut conn = t.db.pool.acquire().await.unwrap();
        let (state, _) = capture::read_state(&mut conn, t.db.dialect).await.unwrap();
        drop(conn);
        assert!(matches!(state, Capture::Incomplete(ref why) if why.contains("triggers")), "{state:?}");
        now += Duration::minutes(5);
        let incomplete = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_capture(&t.db, incomplete).await.0.as_deref(), Some("incomplete"));
        // Reinstalling renews the epoch: one rebuild, then deltas again.
        capture::install(&t.db).await.unwrap();
        now += Duration::minutes(5);
        let reinstalled = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, reinstalled).await.0.as_deref(), Some("full"));
        capture::uninstall(&t.db).await.unwrap();
        let mut conn = t.db.pool.acquire().await.unwrap();
        assert_eq!(capture::read_state(&mut conn, t.db.dialect).await.unwrap().0, Capture::Absent);
    }
}

/// The stored crypto-purchase groups of `day` as `status/network:count/kobo`.
async fn stored_purchases(db: &Db, day: &str) -> Vec<String> {
    let sql = format!(
        "SELECT status, network, CAST(order_count AS BIGINT), CAST(total_kobo AS BIGINT) FROM analytics_day_order \
         WHERE kind = 'crypto_purchase' AND CAST(day AS TEXT) = '{day}' ORDER BY 1, 2"
    );
    sqlx::query(&sql)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}:{}/{}",
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<i64, _>(2),
                r.get::<i64, _>(3)
            )
        })
        .collect()
}

backend_test! {
    async fn a_crypto_renamed_under_its_purchases_moves_them_exactly(backend: Backend) {
        // Arrange: Lagos; one user, crypto 1 (BTC) with one completed purchase of 06-10, and a
        // first run at 06-15 10:00 UTC.
        let tz = chrono_tz::Africa::Lagos;
        let mut now = utc(2026, 6, 15, 10, 0);
        let platform = Fixture::default()
            .user(1, "2026-01-01 00:00:00", Default::default())
            .wallet(1, 1, "0", "0")
            .crypto(1, "BTC", "BTC")
            .purchase(1, 1, 1, "100.00", "completed", "2026-06-10 12:00:00");
        let t = fresh(backend, &platform.script(backend)).await;
        migrate(&t.db).await.unwrap();
        capture::install(&t.db).await.unwrap();
        let reference = summary_db(backend).await;
        let a = context(&t, &t.db, tz);
        run(&a, now, RunKind::Incremental).await;
        let step = |n: i64| utc(2026, 6, 15, 10, 0) + Duration::minutes(5 * n);

        // A new crypto (9, SOL) and, in the next batch, a purchase of it while it moves to TON.
        sqlx::raw_sql(&Fixture::default().crypto(9, "NEW", "SOL").rows_script(backend)).execute(&t.db.pool).await.unwrap();
        now = step(1);
        let id = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, id).await.0.as_deref(), Some("incremental"), "nothing was bought with it");
        let bought = Fixture::default().purchase(2, 1, 9, "40.00", "pending", "2026-06-12 09:00:00");
        transaction(&t.db, &[bought.rows_script(backend), "UPDATE gasfee_crypto SET network = 'TON' WHERE id = 9".into()]).await;
        now = step(2);
        let id = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, id).await.0.as_deref(), Some("incremental"), "its only purchase is in the batch");
        assert_eq!(stored_purchases(&t.db, "2026-06-12").await, vec!["pending/TON:1/4000"]);

        // Act 1: it moves again (TON → ETH) in the batch that completes its purchase: the pending
        // one leaves TON, the completed one lands in ETH.
        transaction(&t.db, &[
            "UPDATE gasfee_crypto SET network = 'ETH' WHERE id = 9".into(),
            "UPDATE gasfee_cryptopurchase SET status = 'completed' WHERE id = 2".into(),
        ]).await;
        now = step(3);
        let id = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, id).await.0.as_deref(), Some("incremental"));
        assert_eq!(stored_purchases(&t.db, "2026-06-12").await, vec!["completed/ETH:1/4000"]);
        assert_equals_full_rebuild(&t, &t.db, &reference, tz, now, "crypto 9 moved with its purchase").await;

        // Act 2: BTC is renamed under a purchase the batch does not hold: the run rebuilds.
        transaction(&t.db, &["UPDATE gasfee_crypto SET network = 'BTC-L2' WHERE id = 1".into()]).await;
        now = step(4);
        let id = run(&a, now, RunKind::Incremental).await;
        assert_eq!(run_kind(&t.db, id).await.0.as_deref(), Some("full"));
        assert_eq!(stored_purchases(&t.db, "2026-06-10").await, vec!["completed/BTC-L2:1/10000"]);
        assert_equals_full_rebuild(&t, &t.db, &reference, tz, now, "BTC renamed").await;
    }
}

backend_test! {
    async fn verify_on_a_live_platform_with_capture_lists_moves_and_fails_only_on_real_disagreement(
        backend: Backend,
    ) {
        use mafita_analytics::materializer::verify::verify_platform;
        // Arrange: a platform with capture, runs, then the platform keeps changing: statuses at
        // every age, a deleted account, a balance and a flag.
        let tz = chrono_tz::Africa::Lagos;
        let mut p = Platform::new(21);
        let now = utc(2026, 6, 15, 10, 0);
        let t = fresh(backend, &p.initial(now).script(backend)).await;
        migrate(&t.db).await.unwrap();
        capture::install(&t.db).await.unwrap();
        let a = context(&t, &t.db, tz);
        run(&a, now, RunKind::Incremental).await;
        let ctx = mafita_analytics::materializer::RunContext { clock: mafita_analytics::time::Clock::fixed(now), ..a.clone() };
        let quiet = verify_platform(&ctx).await.unwrap();
        assert!(quiet.agrees() && quiet.fields.is_empty() && quiet.differing_days.is_empty(), "{:#?}", quiet.fields);
        assert_eq!(quiet.changes_since, Some(0));
        let mut sql = Vec::new();
        for _ in 0..8 {
            let (table, id, _) = any_row(&mut p);
            let status = p.pick(table.statuses()).to_string();
            sql.push(format!("UPDATE {} SET status = '{status}' WHERE id = {id}", table.name()));
        }
        sql.extend(delete_account(p.users[4]));
        sql.push(format!("UPDATE accounts_user SET is_merchant = NOT is_merchant WHERE id = {}", p.users[5]));
        sql.push(format!("UPDATE wallet_wallet SET balance = 123456.78 WHERE user_id = {}", p.users[6]));
        transaction(&t.db, &sql).await;

        // Act + assert: every difference is a move since the run, none a disagreement.
        let live = verify_platform(&ctx).await.unwrap();
        assert!(live.changes_since.unwrap() > 0);
        assert!(!live.fields.is_empty(), "the platform moved under the snapshots");
        assert!(live.agrees(), "{:#?}", live.fields.iter().filter(|m| m.moved.is_none()).collect::<Vec<_>>());
        assert!(live.differing_days.is_empty(), "with the logged changes applied the days agree: {:#?}", live.differing_days);
        assert!(live.fields.iter().any(|m| m.field == "wallet.total_balance"
            && m.moved.as_deref().is_some_and(|w| w.starts_with("current state"))));

        // A stored day corrupted by hand (what a broken log would leave): a disagreement.
        let corrupt = "UPDATE analytics_day_transaction SET tx_count = tx_count + 1 WHERE day = (SELECT MIN(day) FROM analytics_day_transaction)";
        sqlx::raw_sql(corrupt).execute(&t.db.pool).await.unwrap();
        let broken = verify_platform(&ctx).await.unwrap();
        assert!(!broken.agrees());
        let bad: Vec<_> = broken.differing_days.iter().filter(|d| d.moved.is_none()).collect();
        assert_eq!(bad.len(), 1, "{bad:#?}");
        assert!(bad[0].facts.iter().any(|f| f.starts_with("transactions ")), "{bad:#?}");
    }
}

/// A TRUNCATE removes rows without firing a row trigger: the next run rebuilds.
#[cfg_attr(pg_unreachable, ignore = "PostgreSQL was unreachable when the tests were built (build.rs)")]
#[tokio::test]
async fn a_truncated_table_makes_the_next_run_rebuild() {
    let tz = chrono_tz::Africa::Lagos;
    let mut p = Platform::new(5);
    let now = utc(2026, 6, 15, 10, 0);
    let t = fresh(Backend::Postgres, &p.initial(now).script(Backend::Postgres)).await;
    migrate(&t.db).await.unwrap();
    capture::install(&t.db).await.unwrap();
    let reference = summary_db(Backend::Postgres).await;
    let a = context(&t, &t.db, tz);
    run(&a, now, RunKind::Incremental).await;
    sqlx::raw_sql("TRUNCATE rewards_bonus").execute(&t.db.pool).await.unwrap();
    let later = now + Duration::minutes(5);
    let id = run(&a, later, RunKind::Incremental).await;
    assert_eq!(run_kind(&t.db, id).await.0.as_deref(), Some("full"));
    assert_equals_full_rebuild(&t, &t.db, &reference, tz, later, "after a TRUNCATE").await;
}

/// With capture, the drift checks watch for writes that bypassed its triggers (a restore with
/// triggers disabled); the users, whose count walks every user's index entry, are counted only
/// at the first step of the day rotation, not every run.
#[cfg_attr(pg_unreachable, ignore = "PostgreSQL was unreachable when the tests were built (build.rs)")]
#[tokio::test]
async fn with_capture_a_user_deleted_behind_its_triggers_is_found_when_the_rotation_comes_round() {
    // Arrange: a stored-days rebuild with capture, then a user who joined 10 days ago deleted
    // with the triggers disabled.
    let tz = chrono_tz::Africa::Lagos;
    let mut p = Platform::new(11);
    let now = utc(2026, 6, 15, 10, 0);
    let f = p.initial(now);
    let f = p.user(f, now - Duration::days(10));
    let gone = *p.users.last().unwrap();
    let t = fresh(Backend::Postgres, &f.script(Backend::Postgres)).await;
    migrate(&t.db).await.unwrap();
    capture::install(&t.db).await.unwrap();
    let a = context(&t, &t.db, tz);
    assert_eq!(run(&a, now, RunKind::Incremental).await, 1);
    let bypass = [
        "ALTER TABLE accounts_user DISABLE TRIGGER USER".to_string(),
        format!("DELETE FROM wallet_wallet WHERE user_id = {gone}"),
        format!("DELETE FROM accounts_user WHERE id = {gone}"),
        "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tgname FROM pg_trigger WHERE tgrelid = 'accounts_user'::regclass \
         AND tgname LIKE 'analytics_capture%' LOOP EXECUTE format('ALTER TABLE accounts_user ENABLE ALWAYS TRIGGER %I', t); \
         END LOOP; END $$"
            .to_string(),
    ];
    for statement in bypass {
        sqlx::raw_sql(&statement).execute(&t.db.pool).await.unwrap();
    }
    assert!(matches!(capture::status(&t.db).await.unwrap().capture, Capture::Ready { .. }));

    // Act / assert: run 2 checks its seven days (rotation step 2) but not the users.
    let second = run(&a, now + Duration::minutes(5), RunKind::Incremental).await;
    assert_eq!(run_drift(&t.db, second).await, (Some(0), None));
    // The 730 stored days rotate in 105 steps of seven: run 210 is at step 0 and counts them.
    sqlx::raw_sql("ALTER SEQUENCE analytics_run_id_seq RESTART WITH 210").execute(&t.db.pool).await.unwrap();
    let at_step_0 = run(&a, now + Duration::minutes(10), RunKind::Incremental).await;
    assert_eq!(at_step_0, 210);
    let (count, text) = run_drift(&t.db, at_step_0).await;
    assert_eq!(count, Some(1), "{text:?}");
    assert!(text.as_deref().unwrap().starts_with("users who joined on the stored days"), "{text:?}");
}
