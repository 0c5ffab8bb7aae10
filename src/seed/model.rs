//! The synthetic platform: who signs up when, who transacts how much, and what the P2P,
//! crypto and bonus tables look like.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use indicatif::ProgressBar;
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::LogNormal;

use super::sink::{Field, Sink, Table};
use super::tables::*;
use super::{history_start, SeedOptions};

/// Categories with their share of transactions, median amount (NGN) and direction.
const CATEGORIES: &[(&str, f64, f64, &str)] = &[
    ("deposit", 17.0, 25_000.0, "credit"),
    ("withdrawal", 8.0, 20_000.0, "debit"),
    ("airtime", 20.0, 1_000.0, "debit"),
    ("data", 16.0, 2_500.0, "debit"),
    ("cable_tv", 5.0, 7_500.0, "debit"),
    ("cable", 0.5, 7_000.0, "debit"),
    ("electricity", 6.0, 12_000.0, "debit"),
    ("education", 2.0, 25_000.0, "debit"),
    ("airtime_to_cash", 2.0, 5_000.0, "credit"),
    ("crypto", 4.0, 40_000.0, "debit"),
    ("gasfee", 1.0, 1_500.0, "debit"),
    ("sell_order", 2.0, 30_000.0, "credit"),
    ("sell_order_reversal", 0.3, 30_000.0, "credit"),
    ("bonus", 3.0, 1_000.0, "credit"),
    ("payment", 6.0, 10_000.0, "debit"),
    ("refund", 1.0, 5_000.0, "credit"),
    ("referral", 1.2, 500.0, "credit"),
    ("other", 1.0, 3_000.0, "debit"),
];

/// Activity by local hour (Lagos): quiet nights, busy late mornings and evenings.
const HOUR_WEIGHTS: [f64; 24] = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 5.5, 5.5, 5.0, 4.5, 4.5, 5.0, 5.5, 6.0, 6.0, 5.0,
    4.0, 3.0, 2.0,
];

/// The coins users buy, with their networks.
const CRYPTO_ROWS: &[(&str, &str, &str)] = &[
    ("Bitcoin", "BTC", "BTC"),
    ("Ethereum", "ETH", "ETH"),
    ("BNB", "BNB", "BNB"),
    ("Solana", "SOL", "SOL"),
    ("Toncoin", "TON", "TON"),
    ("Tether (TRC20)", "USDT", "TRON"),
    ("USD Coin (Base)", "USDC", "BASE"),
];

const BONUS_TYPE_ROWS: &[(&str, &str, i64)] = &[
    ("welcome", "Welcome bonus", 100_000),
    ("referral", "Referral reward", 50_000),
    ("cashback", "Bill cashback", 20_000),
    ("loyalty", "Loyalty reward", 150_000),
];

/// Orders, purchases and P2P credits per wallet transaction.
const DEPOSIT_ORDER_SHARE: f64 = 0.04;
const WITHDRAW_ORDER_SHARE: f64 = 0.015;
const PURCHASE_SHARE: f64 = 0.02;

/// One wallet transaction before its id is known (ids follow time order within a day).
struct PendingTx {
    at: DateTime<Utc>,
    tx_type: &'static str,
    category: &'static str,
    kobo: i64,
    reference: Option<String>,
    status: &'static str,
    user: i64,
    wallet: i64,
}

/// Generates and writes every table, deterministically for its random generator.
pub struct Generator {
    rng: ChaCha8Rng,
    options: SeedOptions,
    start: DateTime<Utc>,
    counts: Vec<(&'static str, u64)>,
    /// Join instant of user `id` at index `id - 1`.
    joins: Vec<DateTime<Utc>>,
    merchants: Vec<i64>,
    /// Users with a wallet, in join order: (user id, wallet id, join instant).
    wallet_users: Vec<(i64, i64, DateTime<Utc>)>,
    /// Cumulative activity weights over `wallet_users`.
    cumulative: Vec<f64>,
    deposit_offers: Vec<i64>,
    withdraw_offers: Vec<i64>,
    next_tx: i64,
    next_deposit_order: i64,
    next_withdraw_order: i64,
    next_purchase: i64,
    categories: WeightedIndex<f64>,
}

impl Generator {
    /// A generator for `options` drawing from `rng`.
    pub fn new(rng: ChaCha8Rng, options: &SeedOptions) -> Generator {
        Generator {
            rng,
            options: options.clone(),
            start: history_start(options),
            counts: ALL.iter().map(|t| (t.name, 0)).collect(),
            joins: Vec::new(),
            merchants: Vec::new(),
            wallet_users: Vec::new(),
            cumulative: Vec::new(),
            deposit_offers: Vec::new(),
            withdraw_offers: Vec::new(),
            next_tx: 1,
            next_deposit_order: 1,
            next_withdraw_order: 1,
            next_purchase: 1,
            categories: WeightedIndex::new(CATEGORIES.iter().map(|c| c.1)).expect("positive weights"),
        }
    }

    /// Rows written per table.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        self.counts.clone()
    }

    async fn put(&mut self, sink: &mut Sink, table: Table, row: Vec<Field>) -> Result<(), sqlx::Error> {
        if let Some(entry) = self.counts.iter_mut().find(|(t, _)| *t == table.name) {
            entry.1 += 1;
        }
        sink.push(table, row).await
    }

    /// Writes every table.
    pub async fn write_all(&mut self, sink: &mut Sink, bar: &ProgressBar) -> Result<(), sqlx::Error> {
        bar.set_message("users");
        self.users(sink).await?;
        self.wallets(sink).await?;
        self.reference_data(sink).await?;
        self.offers(sink).await?;
        bar.set_message("activity");
        self.activity(sink, bar).await?;
        bar.set_message("bonuses");
        self.bonuses(sink).await
    }

    fn lognormal_kobo(&mut self, median: f64, sigma: f64, cap_naira: f64) -> i64 {
        let naira = LogNormal::new(median.ln(), sigma).expect("valid").sample(&mut self.rng).min(cap_naira);
        ((naira * 100.0).round() as i64).max(1)
    }

    /// An instant in `[from, from + 24h)` (and before `until`) following the daily rhythm.
    fn instant_in_day(&mut self, from: DateTime<Utc>) -> DateTime<Utc> {
        let until = self.options.until;
        loop {
            let offset = Duration::microseconds(self.rng.gen_range(0..86_400_000_000i64));
            let at = from + offset;
            let local_hour = (at + Duration::hours(1)).hour() as usize;
            let keep = HOUR_WEIGHTS[local_hour] / 6.0;
            if at < until && self.rng.gen_bool(keep) {
                return at;
            }
        }
    }

    async fn users(&mut self, sink: &mut Sink) -> Result<(), sqlx::Error> {
        let n = self.options.users as usize;
        let span = (self.options.until - self.start).num_seconds() as f64;
        // Linear growth of sign-ups per day: the fraction of history elapsed is sqrt(uniform).
        let mut joins: Vec<DateTime<Utc>> = (1..n)
            .map(|_| {
                let f: f64 = self.rng.gen::<f64>().sqrt();
                let day = self.start + Duration::seconds((f * span) as i64);
                let day_start = day - Duration::seconds(i64::from(day.num_seconds_from_midnight()));
                self.instant_in_day(day_start.max(self.start))
            })
            .collect();
        joins.sort();
        joins.insert(0, self.start);
        let referrer_pool = (n / 50).max(1) as i64;
        for (i, joined) in joins.iter().enumerate() {
            let id = i as i64 + 1;
            let admin = id == 1;
            let merchant = !admin && self.rng.gen_bool(0.05);
            if merchant {
                self.merchants.push(id);
            }
            let referred_by = if id > 2 && self.rng.gen_bool(0.30) {
                let pool = referrer_pool.min(id - 1);
                Field::Int(if self.rng.gen_bool(0.6) {
                    self.rng.gen_range(1..=pool)
                } else {
                    self.rng.gen_range(1..id)
                })
            } else {
                Field::Null
            };
            let email =
                if admin { "admin@mafitapay.test".to_string() } else { format!("user{id}@mafitapay.test") };
            let row = vec![
                Field::Int(id),
                Field::Str("pbkdf2_sha256$seed$not-a-password"),
                Field::Null,
                Field::Bool(admin),
                Field::Str(""),
                Field::Str(""),
                Field::Bool(admin),
                Field::Bool(admin || self.rng.gen_bool(0.97)),
                Field::Ts(*joined),
                Field::Text(email),
                Field::Bool(merchant),
                Field::Bool(admin || self.rng.gen_bool(0.60)),
                Field::Bool(false),
                Field::Null,
                referred_by,
                Field::Int(0),
                Field::Int(0),
                Field::Bool(false),
                Field::Null,
            ];
            self.put(sink, USERS, row).await?;
        }
        self.joins = joins;
        Ok(())
    }

    async fn wallets(&mut self, sink: &mut Sink) -> Result<(), sqlx::Error> {
        let mut wallet_id = 0;
        let mut total = 0.0;
        for i in 0..self.joins.len() {
            let user = i as i64 + 1;
            if user != 1 && !self.rng.gen_bool(0.95) {
                continue;
            }
            wallet_id += 1;
            let balance = self.lognormal_kobo(15_000.0, 1.5, 50_000_000.0);
            let locked = if self.rng.gen_bool(0.2) { balance * self.rng.gen_range(0..30) / 100 } else { 0 };
            let row = vec![
                Field::Int(wallet_id),
                Field::Money(balance),
                Field::Money(locked),
                Field::Int(user),
                Field::Null,
                Field::Null,
            ];
            self.put(sink, WALLETS, row).await?;
            // Heavy users exist: activity weights are log-normal.
            total += LogNormal::new(0.0, 1.0).expect("valid").sample(&mut self.rng);
            self.wallet_users.push((user, wallet_id, self.joins[i]));
            self.cumulative.push(total);
        }
        Ok(())
    }

    async fn reference_data(&mut self, sink: &mut Sink) -> Result<(), sqlx::Error> {
        for (i, (name, symbol, network)) in CRYPTO_ROWS.iter().enumerate() {
            let row = vec![
                Field::Int(i as i64 + 1),
                Field::Str(name),
                Field::Str(symbol),
                Field::Text(format!("crypto/{}.png", symbol.to_lowercase())),
                Field::Null,
                Field::Str(network),
            ];
            self.put(sink, CRYPTOS, row).await?;
        }
        for (i, (name, display, kobo)) in BONUS_TYPE_ROWS.iter().enumerate() {
            let row = vec![
                Field::Int(i as i64 + 1),
                Field::Str(name),
                Field::Str(display),
                Field::Str(display),
                Field::Bool(true),
                Field::Money(*kobo),
                Field::Int(30),
                Field::Str("{}"),
                Field::Ts(self.start),
                Field::Ts(self.start),
            ];
            self.put(sink, BONUS_TYPES, row).await?;
        }
        Ok(())
    }

    async fn offers(&mut self, sink: &mut Sink) -> Result<(), sqlx::Error> {
        let merchants = if self.merchants.is_empty() { vec![1] } else { self.merchants.clone() };
        for merchant in merchants {
            let created = self.joins[merchant as usize - 1];
            for _ in 0..self.rng.gen_range(1..=2) {
                let id = self.deposit_offers.len() as i64 + 1;
                let row = self.offer_row(id, merchant, created, 0.7);
                self.put(sink, DEPOSIT_OFFERS, row).await?;
                self.deposit_offers.push(id);
            }
            let id = self.withdraw_offers.len() as i64 + 1;
            let row = self.offer_row(id, merchant, created, 0.8);
            self.put(sink, WITHDRAW_OFFERS, row).await?;
            self.withdraw_offers.push(id);
        }
        Ok(())
    }

    fn offer_row(&mut self, id: i64, merchant: i64, created: DateTime<Utc>, open: f64) -> Vec<Field> {
        vec![
            Field::Int(id),
            Field::Money(self.lognormal_kobo(2_000_000.0, 0.8, 90_000_000.0)),
            Field::Money(100_000),
            Field::Money(50_000_000),
            Field::Money(self.rng.gen_range(99_000..101_000)),
            Field::Bool(self.rng.gen_bool(open)),
            Field::Ts(created),
            Field::Int(merchant),
        ]
    }

    /// Picks an active user who joined before `at`: heavy users more often.
    fn pick_user(&mut self, at: DateTime<Utc>) -> Option<(i64, i64)> {
        let n = self.wallet_users.partition_point(|(_, _, joined)| *joined < at);
        if n == 0 {
            return None;
        }
        let r = self.rng.gen::<f64>() * self.cumulative[n - 1];
        let i = self.cumulative[..n].partition_point(|c| *c < r).min(n - 1);
        let (user, wallet, _) = self.wallet_users[i];
        Some((user, wallet))
    }

    fn status(&mut self, at: DateTime<Utc>) -> &'static str {
        // Recent rows are often still pending; older ones settled 90/5/5.
        let recent = self.options.until - at < Duration::minutes(15);
        let r: f64 = self.rng.gen();
        match (recent, r) {
            (true, r) if r < 0.6 => "pending",
            (_, r) if r < 0.90 => "success",
            (_, r) if r < 0.95 => "failed",
            _ => "pending",
        }
    }

    fn order_status(&mut self) -> &'static str {
        match self.rng.gen_range(0..100) {
            0..=74 => "completed",
            75..=82 => "pending",
            83..=87 => "paid",
            _ => "cancelled",
        }
    }

    /// Expected transactions per day: the active base times weekly seasonality.
    fn daily_targets(&self) -> Vec<f64> {
        let days = self.options.days as usize;
        let weights: Vec<f64> = (0..days)
            .map(|d| {
                let day_start = self.start + Duration::days(d as i64);
                let base =
                    self.wallet_users.partition_point(|(_, _, j)| *j < day_start + Duration::hours(12));
                let weekday = match (day_start + Duration::hours(13)).weekday() {
                    Weekday::Fri => 1.15,
                    Weekday::Sat => 0.85,
                    Weekday::Sun => 0.75,
                    _ => 1.0,
                };
                base.max(1) as f64 * weekday
            })
            .collect();
        let total_tx = f64::from(self.options.users) * f64::from(self.options.tx_per_user);
        let sum: f64 = weights.iter().sum();
        weights.iter().map(|w| total_tx * w / sum).collect()
    }

    fn stochastic_round(&mut self, expected: f64) -> usize {
        let whole = expected.floor();
        whole as usize + usize::from(self.rng.gen_bool((expected - whole).clamp(0.0, 1.0)))
    }

    async fn activity(&mut self, sink: &mut Sink, bar: &ProgressBar) -> Result<(), sqlx::Error> {
        let targets = self.daily_targets();
        for (d, expected) in targets.into_iter().enumerate() {
            let day_start = self.start + Duration::days(d as i64);
            let mut day: Vec<PendingTx> = Vec::new();
            let count = self.stochastic_round(expected);
            for _ in 0..count {
                let at = self.instant_in_day(day_start);
                if let Some(tx) = self.wallet_tx(at) {
                    day.push(tx);
                }
            }
            let deposit_orders = self.stochastic_round(expected * DEPOSIT_ORDER_SHARE);
            for _ in 0..deposit_orders {
                self.deposit_order(sink, day_start, &mut day).await?;
            }
            let withdraw_orders = self.stochastic_round(expected * WITHDRAW_ORDER_SHARE);
            for _ in 0..withdraw_orders {
                self.withdraw_order(sink, day_start, &mut day).await?;
            }
            let purchases = self.stochastic_round(expected * PURCHASE_SHARE);
            for _ in 0..purchases {
                self.purchase(sink, day_start).await?;
            }
            day.sort_by_key(|t| t.at);
            for tx in day {
                self.write_tx(sink, tx).await?;
            }
            bar.inc(1);
        }
        Ok(())
    }

    fn wallet_tx(&mut self, at: DateTime<Utc>) -> Option<PendingTx> {
        let (user, wallet) = self.pick_user(at)?;
        let (category, _, median, tx_type) = CATEGORIES[self.categories.sample(&mut self.rng)];
        let kobo = self.lognormal_kobo(median, 0.9, 5_000_000.0);
        let status = self.status(at);
        let reference = match category {
            "deposit" => Some(format!("dep-{:08x}", self.rng.gen::<u32>())),
            "airtime" | "data" | "cable_tv" | "cable" | "electricity" | "education" => {
                Some(format!("bill-{:010}", self.rng.gen::<u32>()))
            }
            // Some legacy rows carry an upper-case reference; it must not count as P2P.
            "refund" if self.rng.gen_bool(0.3) => Some(format!("P2P-REFUND-{}", self.rng.gen::<u16>())),
            _ if self.rng.gen_bool(0.5) => None,
            _ => Some(format!("ref-{:08x}", self.rng.gen::<u32>())),
        };
        Some(PendingTx { at, tx_type, category, kobo, reference, status, user, wallet })
    }

    async fn deposit_order(
        &mut self,
        sink: &mut Sink,
        day_start: DateTime<Utc>,
        day: &mut Vec<PendingTx>,
    ) -> Result<(), sqlx::Error> {
        let at = self.instant_in_day(day_start);
        let Some((buyer, wallet)) = self.pick_user(at) else { return Ok(()) };
        let id = self.next_deposit_order;
        self.next_deposit_order += 1;
        let price = self.lognormal_kobo(30_000.0, 0.9, 5_000_000.0);
        let status = self.order_status();
        let offer = self.deposit_offers[self.rng.gen_range(0..self.deposit_offers.len())];
        let row = vec![
            Field::Int(id),
            Field::Money(price),
            Field::Money(price),
            Field::Str(status),
            Field::Ts(at),
            Field::Int(buyer),
            Field::Int(offer),
        ];
        self.put(sink, DEPOSIT_ORDERS, row).await?;
        if status == "completed" {
            // The platform credits the buyer with a deposit referencing the order.
            let credited = (at + Duration::seconds(self.rng.gen_range(60..1800)))
                .min(self.options.until - Duration::seconds(1));
            day.push(PendingTx {
                at: credited.max(at),
                tx_type: "credit",
                category: "deposit",
                kobo: price,
                reference: Some(format!("p2p-deposit-{id}")),
                status: "success",
                user: buyer,
                wallet,
            });
        }
        Ok(())
    }

    async fn withdraw_order(
        &mut self,
        sink: &mut Sink,
        day_start: DateTime<Utc>,
        day: &mut Vec<PendingTx>,
    ) -> Result<(), sqlx::Error> {
        let at = self.instant_in_day(day_start);
        let Some((seller, wallet)) = self.pick_user(at) else { return Ok(()) };
        let id = self.next_withdraw_order;
        self.next_withdraw_order += 1;
        let price = self.lognormal_kobo(25_000.0, 0.9, 5_000_000.0);
        let status = self.order_status();
        let offer = self.withdraw_offers[self.rng.gen_range(0..self.withdraw_offers.len())];
        let row = vec![
            Field::Int(id),
            Field::Money(price),
            Field::Money(price),
            Field::Str(status),
            Field::Ts(at),
            Field::Int(offer),
            Field::Int(seller),
        ];
        self.put(sink, WITHDRAW_ORDERS, row).await?;
        if status == "completed" {
            day.push(PendingTx {
                at,
                tx_type: "debit",
                category: "withdrawal",
                kobo: price,
                reference: Some(format!("p2p-withdraw-{id}")),
                status: "success",
                user: seller,
                wallet,
            });
        }
        Ok(())
    }

    async fn purchase(&mut self, sink: &mut Sink, day_start: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let at = self.instant_in_day(day_start);
        let Some((user, _)) = self.pick_user(at) else { return Ok(()) };
        let id = self.next_purchase;
        self.next_purchase += 1;
        let price = self.lognormal_kobo(45_000.0, 1.0, 50_000_000.0);
        let status = match self.rng.gen_range(0..100) {
            0..=79 => "completed",
            80..=84 => "pending",
            _ => "failed",
        };
        let crypto = self.rng.gen_range(1..=CRYPTO_ROWS.len() as i64);
        let row = vec![
            Field::Int(id),
            Field::Money(price),
            Field::Str("NGN"),
            Field::Money((price / 1000).max(1)),
            Field::Money(price),
            Field::Text(format!("0x{:016x}{:016x}", self.rng.gen::<u64>(), self.rng.gen::<u64>())),
            Field::Str(status),
            Field::Text(format!("cp-{id}")),
            if status == "completed" {
                Field::Text(format!("0x{:016x}", self.rng.gen::<u64>()))
            } else {
                Field::Null
            },
            Field::Ts(at),
            Field::Int(crypto),
            Field::Int(user),
        ];
        self.put(sink, PURCHASES, row).await
    }

    async fn write_tx(&mut self, sink: &mut Sink, tx: PendingTx) -> Result<(), sqlx::Error> {
        let id = self.next_tx;
        self.next_tx += 1;
        let before = self.lognormal_kobo(20_000.0, 1.2, 50_000_000.0);
        let after = if tx.tx_type == "credit" { before + tx.kobo } else { before - tx.kobo };
        let row = vec![
            Field::Int(id),
            Field::Str(tx.tx_type),
            Field::Str(tx.category),
            Field::Money(tx.kobo),
            Field::Money(before),
            Field::Money(after),
            tx.reference.map_or(Field::Null, Field::Text),
            Field::Text(format!("req-{id}")),
            Field::Str(tx.status),
            Field::Null,
            Field::Ts(tx.at),
            Field::Int(tx.user),
            Field::Int(tx.wallet),
        ];
        self.put(sink, TRANSACTIONS, row).await
    }

    async fn bonuses(&mut self, sink: &mut Sink) -> Result<(), sqlx::Error> {
        let until = self.options.until;
        let mut id = 0;
        for i in 0..self.joins.len() {
            let joined = self.joins[i];
            let n = match self.rng.gen_range(0..10) {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            for _ in 0..n {
                id += 1;
                let room = (until - joined).num_seconds().clamp(1, 30 * 86_400);
                let created = joined + Duration::seconds(self.rng.gen_range(0..room));
                let status = match self.rng.gen_range(0..100) {
                    0..=29 => "locked",
                    30..=54 => "unlocked",
                    55..=79 => "used",
                    80..=94 => "expired",
                    _ => "reversed",
                };
                let bonus_type = self.rng.gen_range(1..=BONUS_TYPE_ROWS.len() as i64);
                let row = vec![
                    Field::Int(id),
                    Field::Money(self.rng.gen_range(5..=50) * 10_000),
                    Field::Str(status),
                    Field::Str("Synthetic bonus"),
                    Field::Str("{}"),
                    Field::Ts(created),
                    if status == "locked" { Field::Null } else { Field::Ts(created) },
                    Field::Ts(created + Duration::days(30)),
                    Field::Ts(created),
                    Field::Int(bonus_type),
                    Field::Int(i as i64 + 1),
                ];
                self.put(sink, BONUSES, row).await?;
            }
        }
        Ok(())
    }
}
