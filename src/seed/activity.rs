//! The platform's daily activity: wallet transactions, P2P orders (with the credits they cause)
//! and crypto purchases, day by day so memory stays flat at any scale.

use chrono::Utc;
use chrono::{DateTime, Datelike, Duration, Weekday};
use indicatif::ProgressBar;
use rand::distributions::Distribution;
use rand::Rng;

use super::model::{Generator, CATEGORIES, CRYPTO_ROWS};
use super::sink::{Field, Sink};
use super::tables::*;

/// Orders, purchases and P2P credits per wallet transaction.
const DEPOSIT_ORDER_SHARE: f64 = 0.04;
const WITHDRAW_ORDER_SHARE: f64 = 0.015;
const PURCHASE_SHARE: f64 = 0.02;

/// Which P2P order book an order belongs to.
#[derive(Clone, Copy)]
enum Side {
    /// Users buying naira credit from merchants.
    Deposit,
    /// Users selling to merchants.
    Withdraw,
}

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

impl Generator {
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

    pub(super) async fn activity(&mut self, sink: &mut Sink, bar: &ProgressBar) -> Result<(), sqlx::Error> {
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
                self.p2p_order(sink, day_start, &mut day, Side::Deposit).await?;
            }
            let withdraw_orders = self.stochastic_round(expected * WITHDRAW_ORDER_SHARE);
            for _ in 0..withdraw_orders {
                self.p2p_order(sink, day_start, &mut day, Side::Withdraw).await?;
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

    /// One P2P order of `side`; a completed one also writes the wallet transaction the
    /// platform makes for it (a `p2p-deposit-<id>` credit to the buyer a little later, or a
    /// `p2p-withdraw-<id>` debit of the seller).
    async fn p2p_order(
        &mut self,
        sink: &mut Sink,
        day_start: DateTime<Utc>,
        day: &mut Vec<PendingTx>,
        side: Side,
    ) -> Result<(), sqlx::Error> {
        let at = self.instant_in_day(day_start);
        let Some((user, wallet)) = self.pick_user(at) else { return Ok(()) };
        let (id, median) = match side {
            Side::Deposit => (&mut self.next_deposit_order, 30_000.0),
            Side::Withdraw => (&mut self.next_withdraw_order, 25_000.0),
        };
        let id = std::mem::replace(id, *id + 1);
        let price = self.lognormal_kobo(median, 0.9, 5_000_000.0);
        let status = self.order_status();
        let offers = match side {
            Side::Deposit => &self.deposit_offers,
            Side::Withdraw => &self.withdraw_offers,
        };
        let offer = offers[self.rng.gen_range(0..offers.len())];
        let (table, parties) = match side {
            Side::Deposit => (DEPOSIT_ORDERS, [Field::Int(user), Field::Int(offer)]),
            Side::Withdraw => (WITHDRAW_ORDERS, [Field::Int(offer), Field::Int(user)]),
        };
        let mut row =
            vec![Field::Int(id), Field::Money(price), Field::Money(price), Field::Str(status), Field::Ts(at)];
        row.extend(parties);
        self.put(sink, table, row).await?;
        if status != "completed" {
            return Ok(());
        }
        let tx = match side {
            Side::Deposit => {
                let credited = (at + Duration::seconds(self.rng.gen_range(60..1800)))
                    .min(self.options.until - Duration::seconds(1));
                PendingTx {
                    at: credited.max(at),
                    tx_type: "credit",
                    category: "deposit",
                    kobo: price,
                    reference: Some(format!("p2p-deposit-{id}")),
                    status: "success",
                    user,
                    wallet,
                }
            }
            Side::Withdraw => PendingTx {
                at,
                tx_type: "debit",
                category: "withdrawal",
                kobo: price,
                reference: Some(format!("p2p-withdraw-{id}")),
                status: "success",
                user,
                wallet,
            },
        };
        day.push(tx);
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
}
