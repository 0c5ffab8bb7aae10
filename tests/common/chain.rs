//! A random platform and what a summary database holds, for the tests of incremental runs with
//! and without change capture: contexts and runs at a fixed clock, dumps of the stored days and
//! snapshots, and the check that a chain of runs stores what a full rebuild stores.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use mafita_analytics::db::Db;
use mafita_analytics::materializer::days::load_into;
use mafita_analytics::materializer::store::migrate;
use mafita_analytics::materializer::{run_once_as, RunContext, RunKind, RunTrigger};
use mafita_analytics::metrics::DaySlot;
use mafita_analytics::time::{django_sqlite_text, local_date, Clock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::fixture::{Fixture, UserFlags};
use super::{fresh, Backend, TestDb};

pub const WINDOWS: [i64; 3] = [1, 7, 30];
pub const SETTLE_DAYS: u32 = 3;
pub const NEW_YORK: Tz = chrono_tz::America::New_York;

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Contexts and runs
// ---------------------------------------------------------------------------------------------

/// A context reading the platform in `platform` and writing the summary tables in `summary`,
/// in zone `tz`, with a day slot of its own (clones share it).
pub fn context(platform: &TestDb, summary: &Db, tz: Tz) -> RunContext {
    let mut ctx = super::run_context(platform, &WINDOWS);
    ctx.summary = summary.clone();
    ctx.settings.tz = tz;
    ctx.settle_days = SETTLE_DAYS;
    ctx
}

/// `ctx` with its clock fixed at `now` (the day slot stays shared).
pub fn at(ctx: &RunContext, now: DateTime<Utc>) -> RunContext {
    RunContext { clock: Clock::fixed(now), ..ctx.clone() }
}

/// One run of `kind` at `now` that must succeed; its id.
pub async fn run(ctx: &RunContext, now: DateTime<Utc>, kind: RunKind) -> i64 {
    let outcome =
        run_once_as(&at(ctx, now), RunTrigger::Cli, None, None, kind).await.expect("waited for the lease");
    assert!(outcome.succeeded(), "run at {now} failed: {outcome:?}");
    outcome.run_id.expect("a recorded run")
}

/// A database holding only summary tables.
pub async fn summary_db(backend: Backend) -> TestDb {
    let t = fresh(backend, "").await;
    migrate(&t.db).await.unwrap();
    t
}

/// `(kind, days_reread)` of run `id`.
pub async fn run_kind(db: &Db, id: i64) -> (Option<String>, Option<i64>) {
    let row = sqlx::query("SELECT kind, CAST(days_reread AS BIGINT) FROM analytics_run WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// `(drift_findings, drift)` of run `id`.
pub async fn run_drift(db: &Db, id: i64) -> (Option<i64>, Option<String>) {
    let row = sqlx::query("SELECT CAST(drift_findings AS BIGINT), drift FROM analytics_run WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

// ---------------------------------------------------------------------------------------------
// Dumps of what a summary database holds
// ---------------------------------------------------------------------------------------------

/// Every stored snapshot as `(endpoint, window, body)`.
pub async fn snapshots(db: &Db) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT endpoint, CAST(window_days AS BIGINT), body FROM analytics_snapshot ORDER BY 1, 2")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Which runs wrote a row: kept when comparing a database with itself over time, left out when
/// comparing two databases whose runs are numbered independently.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    Kept,
    Ignored,
}

/// One line per stored day row and the store row, columns rendered by `kinds`: `t` text, `i`
/// integer, `b` bytes (hex), `r` a run id (integer, dropped with [`Runs::Ignored`]).
pub async fn dump_query(db: &Db, sql: &str, kinds: &str, runs: Runs) -> Vec<String> {
    let render = |row: &AnyRow| -> String {
        kinds
            .chars()
            .enumerate()
            .filter_map(|(i, kind)| match kind {
                't' => Some(row.get::<String, _>(i)),
                'i' => Some(row.get::<i64, _>(i).to_string()),
                'b' => Some(row.get::<Vec<u8>, _>(i).iter().map(|b| format!("{b:02x}")).collect()),
                'r' => (runs == Runs::Kept).then(|| row.get::<i64, _>(i).to_string()),
                other => panic!("unknown column kind {other}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut lines: Vec<String> =
        sqlx::query(sql).fetch_all(&db.pool).await.unwrap().iter().map(render).collect();
    lines.sort();
    lines
}

/// The stored days: every `analytics_day_*` row and the `analytics_day_store` row.
pub async fn days_dump(db: &Db, runs: Runs) -> Vec<String> {
    let read_at = db.dialect.ts_text("read_at");
    let queries = [
        (
            "SELECT CAST(day AS TEXT), CAST(active_users AS BIGINT), active_set, CAST(success_users AS BIGINT), \
             success_set, CAST(signups AS BIGINT), signup_set, CAST(run_id AS BIGINT) FROM analytics_day_users"
                .to_string(),
            "users|tibibibr",
        ),
        (
            "SELECT CAST(day AS TEXT), category, tx_type, status, CAST(CASE WHEN is_p2p THEN 1 ELSE 0 END AS BIGINT), \
             CAST(tx_count AS BIGINT), CAST(amount_kobo AS BIGINT), CAST(run_id AS BIGINT) FROM analytics_day_transaction"
                .to_string(),
            "transaction|ttttiiir",
        ),
        (
            "SELECT CAST(day AS TEXT), kind, status, network, CAST(order_count AS BIGINT), CAST(total_kobo AS BIGINT), \
             CAST(run_id AS BIGINT) FROM analytics_day_order"
                .to_string(),
            "order|ttttiir",
        ),
        (
            "SELECT CAST(day AS TEXT), status, CAST(bonus_count AS BIGINT), CAST(amount_kobo AS BIGINT), \
             CAST(run_id AS BIGINT) FROM analytics_day_bonus"
                .to_string(),
            "bonus|ttiir",
        ),
        (
            "SELECT CAST(day AS TEXT), CAST(referrer_id AS BIGINT), CAST(referrals AS BIGINT), CAST(run_id AS BIGINT) \
             FROM analytics_day_referral"
                .to_string(),
            "referral|tiir",
        ),
        (
            format!(
                "SELECT CAST(version AS BIGINT), time_zone, CAST(first_day AS TEXT), CAST(end_day AS TEXT), {read_at}, \
                 CAST(revenue_before_kobo AS BIGINT), CAST(users_before AS BIGINT), users_before_set, \
                 CAST(transaction_id_max AS BIGINT), CAST(deposit_order_id_max AS BIGINT), \
                 CAST(withdraw_order_id_max AS BIGINT), CAST(crypto_purchase_id_max AS BIGINT), \
                 CAST(bonus_id_max AS BIGINT), CAST(user_id_max AS BIGINT), CAST(generation AS BIGINT), \
                 CAST(run_id AS BIGINT) FROM analytics_day_store"
            ),
            "store|ittttiibiiiiiirr",
        ),
    ];
    let mut out = Vec::new();
    for (sql, spec) in queries {
        let (table, kinds) = spec.split_once('|').unwrap();
        out.extend(dump_query(db, &sql, kinds, runs).await.into_iter().map(|l| format!("{table}: {l}")));
    }
    out
}

/// Brings `replica` (an API instance's day slot) up to what `summary` holds, loading only the
/// days changed since its run, and asserts it then holds the days of `ctx`'s last run.
pub async fn assert_replica_loads_the_run(replica: &DaySlot, ctx: &RunContext, tz: Tz, why: &str) {
    let before = replica.run_id();
    let run = load_into(replica, &ctx.summary, tz).await.unwrap().expect("stored days");
    let (ours, theirs) = (replica.get().unwrap(), ctx.days.get().unwrap());
    assert_eq!(Some(run), ctx.days.run_id(), "{why}");
    assert_eq!((ours.first_date(), ours.end_date()), (theirs.first_date(), theirs.end_date()), "{why}");
    for (a, b) in ours.days().iter().zip(theirs.days()) {
        assert!(a == b, "{why}: a replica at run {before:?} loaded day {} unlike the run's", a.date);
    }
    assert_eq!(ours.base(), theirs.base(), "{why}");
}

/// The first differing line of two dumps, for a readable failure.
pub fn first_difference(a: &[String], b: &[String]) -> String {
    let only_a: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(3).collect();
    let only_b: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(3).collect();
    format!("only in the incremental store: {only_a:#?}\nonly in the full rebuild: {only_b:#?}")
}

/// Rebuilds everything from scratch at `now` into `reference` (a summary database used only
/// for this, with a fresh day slot) and asserts `summary` holds byte-identical snapshots and
/// the same stored days.
pub async fn assert_equals_full_rebuild(
    platform: &TestDb,
    summary: &Db,
    reference: &TestDb,
    tz: Tz,
    now: DateTime<Utc>,
    why: &str,
) {
    // A second consumer of the platform's change log: it leaves the log to the one under test.
    let full = RunContext { prune_log: false, ..context(platform, &reference.db, tz) };
    run(&full, now, RunKind::Full).await;
    let (ours, full) = (snapshots(summary).await, snapshots(&reference.db).await);
    assert_eq!(ours.len(), 6 * WINDOWS.len(), "{why}");
    for (a, b) in ours.iter().zip(&full) {
        assert_eq!((&a.0, a.1), (&b.0, b.1), "{why}");
        assert!(
            a.2 == b.2,
            "{why}: {} days={} differs from a full rebuild\nincremental: {}\nfull:        {}",
            a.0,
            a.1,
            a.2,
            b.2
        );
    }
    let (ours, full) =
        (days_dump(summary, Runs::Ignored).await, days_dump(&reference.db, Runs::Ignored).await);
    assert!(
        ours == full,
        "{why}: stored days differ from a full rebuild\n{}",
        first_difference(&ours, &full)
    );
}

// ---------------------------------------------------------------------------------------------
// A random platform
// ---------------------------------------------------------------------------------------------

/// The platform tables a row can be inserted into, in [`WATERMARK`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Tx,
    DepositOrder,
    WithdrawOrder,
    Purchase,
    Bonus,
    User,
}

pub const TABLES: [Table; 6] =
    [Table::Tx, Table::DepositOrder, Table::WithdrawOrder, Table::Purchase, Table::Bonus, Table::User];

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Tx => "wallet_wallettransaction",
            Table::DepositOrder => "p2p_depositorder",
            Table::WithdrawOrder => "p2p_withdraworder",
            Table::Purchase => "gasfee_cryptopurchase",
            Table::Bonus => "rewards_bonus",
            Table::User => "accounts_user",
        }
    }

    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Table::Tx => &["pending", "success", "failed"],
            Table::DepositOrder | Table::WithdrawOrder => &["pending", "paid", "completed", "cancelled"],
            Table::Purchase => &["pending", "completed", "failed"],
            Table::Bonus => &["locked", "unlocked", "used", "expired", "reversed"],
            Table::User => &[],
        }
    }
}

pub const CATEGORIES: [&str; 15] = [
    "deposit",
    "deposit",
    "deposit",
    "withdrawal",
    "airtime",
    "data",
    "cable_tv",
    "electricity",
    "education",
    "crypto",
    "bonus",
    "referral",
    "sell_order",
    "payment",
    "other",
];

/// PostgreSQL refreshes look this many ids below the stored watermark again (rows committed
/// late); spacing ids by as much, as on a busy platform where the last thousand ids are all
/// recent, keeps a refresh as small there as on SQLite.
pub const ID_STEP: i64 = 1000;

/// A platform written by a seeded RNG: users, wallets, transactions, orders, purchases and
/// bonuses, with every status-bearing row remembered for in-place changes.
pub struct Platform {
    pub rng: ChaCha8Rng,
    pub next: [i64; 6],
    pub users: Vec<i64>,
    pub rows: Vec<(Table, i64, DateTime<Utc>, String)>,
}

impl Platform {
    pub fn new(seed: u64) -> Platform {
        Platform { rng: ChaCha8Rng::seed_from_u64(seed), next: [1; 6], users: Vec::new(), rows: Vec::new() }
    }

    pub fn id(&mut self, table: Table) -> i64 {
        let i = TABLES.iter().position(|t| *t == table).unwrap();
        let id = self.next[i];
        self.next[i] += ID_STEP;
        id
    }

    /// A random instant in `[from, to)`, sometimes with microseconds.
    pub fn instant(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
        let secs = (to - from).num_seconds().max(1);
        let mut t = from + Duration::seconds(self.rng.gen_range(0..secs));
        if self.rng.gen_bool(0.3) {
            t += Duration::microseconds(self.rng.gen_range(1..1_000_000));
        }
        t.min(to - Duration::microseconds(1))
    }

    pub fn amount(&mut self) -> String {
        format!("{}.{:02}", self.rng.gen_range(1..3_000), self.rng.gen_range(0..100))
    }

    pub fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.gen_range(0..items.len())]
    }

    pub fn some_user(&mut self) -> i64 {
        self.users[self.rng.gen_range(0..self.users.len())]
    }

    /// A user (with a wallet) who joined at `at`.
    pub fn user(&mut self, f: Fixture, at: DateTime<Utc>) -> Fixture {
        let id = self.id(Table::User);
        let referred_by = (!self.users.is_empty() && self.rng.gen_bool(0.4)).then(|| self.some_user());
        let flags = UserFlags {
            staff: false,
            inactive: self.rng.gen_bool(0.15),
            merchant: self.rng.gen_bool(0.2),
            verified: self.rng.gen_bool(0.6),
            referred_by,
        };
        self.users.push(id);
        let balance = self.amount();
        f.user(id, django_sqlite_text(at), flags).wallet(id, id, balance, "0")
    }

    /// A random row of `table` created at `at`.
    pub fn row(&mut self, f: Fixture, table: Table, at: DateTime<Utc>) -> Fixture {
        if table == Table::User {
            return self.user(f, at);
        }
        let id = self.id(table);
        self.row_with_id(f, table, at, id)
    }

    /// A random row of `table` (not users) with id `id`, created at `at`.
    pub fn row_with_id(&mut self, f: Fixture, table: Table, at: DateTime<Utc>, id: i64) -> Fixture {
        let status = self.pick(table.statuses());
        self.rows.push((table, id, at, status.to_string()));
        let (user, amount, stamp) = (self.some_user(), self.amount(), django_sqlite_text(at));
        match table {
            Table::Tx => {
                let category = self.pick(&CATEGORIES);
                let tx_type = if matches!(category, "deposit" | "bonus" | "referral" | "refund") {
                    "credit"
                } else {
                    "debit"
                };
                let reference = match self.rng.gen_range(0..4) {
                    0 => Some(format!("p2p-deposit-{id}")),
                    1 => Some(format!("ref-{id}")),
                    _ => None,
                };
                f.tx(id, user, category, tx_type, amount, status, stamp, reference.as_deref())
            }
            Table::DepositOrder => f.deposit_order(id, user, amount, status, stamp),
            Table::WithdrawOrder => f.withdraw_order(id, user, amount, status, stamp),
            Table::Purchase => {
                let crypto = self.rng.gen_range(1..=3);
                f.purchase(id, user, crypto, amount, status, stamp)
            }
            Table::Bonus => f.bonus(id, user, amount, status, stamp),
            Table::User => unreachable!(),
        }
    }

    pub fn any_table(&mut self) -> Table {
        // Mostly transactions, as on the platform.
        match self.rng.gen_range(0..12) {
            0..=5 => Table::Tx,
            6 => Table::DepositOrder,
            7 => Table::WithdrawOrder,
            8 => Table::Purchase,
            9 => Table::Bonus,
            _ => Table::User,
        }
    }

    /// 30 users and ~300 rows: most in the 60 days before `start`, some on the first days of
    /// the span a store keeps, with a success deposit and a sign-up every day or two there (they
    /// leave the stored days, into the base's lifetime totals, as the clock advances), a few
    /// before it. Ids grow with `created_at`, as on the platform.
    pub fn initial(&mut self, start: DateTime<Utc>) -> Fixture {
        let mut f = Fixture::default()
            .crypto(1, "BTC", "BTC")
            .crypto(2, "USDT", "TRON")
            .crypto(3, "ETH", "ETH")
            .deposit_offer(1, 1, true);
        let edge = start - Duration::days(730);
        let mut joins: Vec<DateTime<Utc>> = Vec::new();
        joins.push(self.instant(edge - Duration::days(300), edge - Duration::days(2)));
        for d in 0..5 {
            let day = edge + Duration::days(2 * d);
            joins.push(self.instant(day, day + Duration::days(1)));
        }
        for _ in 0..24 {
            joins.push(self.instant(start - Duration::days(90), start - Duration::hours(1)));
        }
        joins.sort();
        for at in joins {
            f = self.user(f, at);
        }
        // `None`: a success deposit (revenue).
        let mut events: Vec<(DateTime<Utc>, Option<Table>)> = Vec::new();
        for d in 0..10 {
            let day = edge + Duration::days(d);
            events.push((self.instant(day, day + Duration::days(1)), None));
        }
        for i in 0..290 {
            let at = match i % 25 {
                0 => self.instant(edge - Duration::days(200), edge - Duration::days(2)),
                1 | 2 => self.instant(edge - Duration::days(1), edge + Duration::days(9)),
                _ => self.instant(start - Duration::days(60), start),
            };
            let table = match self.any_table() {
                Table::User => Table::Tx,
                t => t,
            };
            events.push((at, Some(table)));
        }
        events.sort_by_key(|e| e.0);
        for (at, table) in events {
            f = match table {
                Some(table) => self.row(f, table, at),
                None => {
                    let (id, user, amount) = (self.id(Table::Tx), self.some_user(), self.amount());
                    self.rows.push((Table::Tx, id, at, "success".into()));
                    f.tx(id, user, "deposit", "credit", amount, "success", django_sqlite_text(at), None)
                }
            };
        }
        f
    }
}

pub async fn execute(db: &Db, script: &str) {
    sqlx::raw_sql(script).execute(&db.pool).await.unwrap_or_else(|e| panic!("{e}: {script}"));
}

/// The test's seed: `INCREMENTAL_SEED` when set (to replay or explore), else a fixed one.
pub fn seed() -> u64 {
    std::env::var("INCREMENTAL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_260_308)
}

/// The distinct local dates of `instants` before `before`.
pub fn dates_before(tz: Tz, instants: &[DateTime<Utc>], before: NaiveDate) -> BTreeSet<NaiveDate> {
    instants.iter().map(|t| local_date(tz, *t)).filter(|d| *d < before).collect()
}
