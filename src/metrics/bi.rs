//! The typed rows of the BI relations: one local day's facts (`analytics_daily`) and a week's
//! or month's exact distinct users (`analytics_period_users`), with the endpoints' definitions
//! and units, so a chart drawn from them agrees with the dashboard.
//!
//! Both come from the day store's days plus today so far, folded here rather than in SQL: a
//! BI tool then needs no bitmap extension to count a month's users, and no self-join or unit
//! conversion to chart a day's revenue.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use roaring::RoaringBitmap;
use serde_json::{json, Value};

use super::days::Day;
use super::fold::{total, Agg};
use crate::db::Cast;
use crate::metrics::rows::{OrderGroup, TxGroup};
use crate::time::{month_start, week_start};

/// The wallet categories with a successful-volume column of their own in `analytics_daily`,
/// with the stored categories each sums (the legacy `cable` joins `cable_tv`, as on the
/// `services/` endpoint). Every other category, `other` included, is summed in `volume_other`,
/// so the columns add up to `tx_success_volume`.
pub const CATEGORY_COLUMNS: [(&str, &[&str]); 16] = [
    ("volume_deposit", &["deposit"]),
    ("volume_withdrawal", &["withdrawal"]),
    ("volume_airtime", &["airtime"]),
    ("volume_data", &["data"]),
    ("volume_cable_tv", &["cable_tv", "cable"]),
    ("volume_electricity", &["electricity"]),
    ("volume_education", &["education"]),
    ("volume_airtime_to_cash", &["airtime_to_cash"]),
    ("volume_crypto", &["crypto"]),
    ("volume_gasfee", &["gasfee"]),
    ("volume_sell_order", &["sell_order"]),
    ("volume_sell_order_reversal", &["sell_order_reversal"]),
    ("volume_bonus", &["bonus"]),
    ("volume_payment", &["payment"]),
    ("volume_refund", &["refund"]),
    ("volume_referral", &["referral"]),
];

/// One row of `analytics_daily`: `(column, kind, value)` in column order (without the run's
/// `computed_at` and `run_id`, which the writer adds).
pub type Row = Vec<(&'static str, Cast, Value)>;

/// The `analytics_daily` row of `day`: `complete` is false for a day read only in part (today).
pub fn daily_row(day: &Day, complete: bool) -> Row {
    let tx = &day.activity.tx;
    let revenue = day.activity.revenue();
    let status = |s: &str| total(tx, |g| g.status == s);
    let success = |g: &TxGroup| g.status == "success";
    let named = |g: &TxGroup| CATEGORY_COLUMNS.iter().any(|(_, cats)| cats.contains(&g.category.as_str()));
    let completed = |groups: &[OrderGroup]| total(groups, |g| g.status == "completed");
    let everything = |groups: &[OrderGroup]| total(groups, |_| true);
    let rewards = total(&day.bonuses, |g| g.status != "reversed");
    let (all, ok, pending, failed) =
        (day.activity.all_tx(), status("success"), status("pending"), status("failed"));
    let mut row: Row = vec![
        ("day", Cast::Date, json!(day.key())),
        ("complete", Cast::Bool, json!(complete)),
        naira("revenue", revenue.total()),
        naira("revenue_deposits", revenue.deposits),
        naira("revenue_p2p", revenue.p2p),
        naira("revenue_crypto", revenue.crypto),
        count("revenue_deposits_count", revenue.deposits),
        count("revenue_p2p_count", revenue.p2p),
        count("revenue_crypto_count", revenue.crypto),
        count("tx_count", all),
        count("tx_success", ok),
        count("tx_pending", pending),
        count("tx_failed", failed),
        naira("tx_volume", all),
        naira("tx_success_volume", ok),
        naira("tx_pending_volume", pending),
        naira("tx_failed_volume", failed),
    ];
    for (column, categories) in CATEGORY_COLUMNS {
        row.push(naira(column, total(tx, |g| success(g) && categories.contains(&g.category.as_str()))));
    }
    row.extend([
        naira("volume_other", total(tx, |g| success(g) && !named(g))),
        naira("volume_bills", total(tx, |g| g.is_bill_success())),
        count("p2p_orders", everything(&day.activity.p2p)),
        count("crypto_purchases", everything(&day.activity.crypto)),
        naira("p2p_withdraw_volume", completed(&day.withdrawals)),
        count("p2p_withdraw_count", completed(&day.withdrawals)),
        naira("rewards_distributed", rewards),
        count("bonuses", total(&day.bonuses, |_| true)),
        ("active_users", Cast::Int, json!(day.active.len())),
        ("success_users", Cast::Int, json!(day.active_success.len())),
        ("signups", Cast::Int, json!(day.joined.len())),
    ]);
    row
}

fn naira(column: &'static str, agg: Agg) -> (&'static str, Cast, Value) {
    (column, Cast::Numeric, json!(agg.money().to_string()))
}

fn count(column: &'static str, agg: Agg) -> (&'static str, Cast, Value) {
    (column, Cast::Int, json!(agg.count))
}

/// A calendar period of `analytics_period_users`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Period {
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl Period {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The first date of the period holding `date`.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => week_start(date),
            Period::Month => month_start(date),
        }
    }

    /// The first date after the period starting at `start`.
    pub fn end_of(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => start + Duration::days(7),
            Period::Month => {
                start.checked_add_months(chrono::Months::new(1)).expect("dates far from the end of time")
            }
        }
    }
}

/// Distinct users of one period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeriodUsers {
    /// Every date of the period lies within the days given and before `today`.
    pub complete: bool,
    /// Users with any transaction in the period.
    pub active: u64,
    /// Users with a `success` transaction in the period.
    pub success: u64,
    /// Users who joined in the period.
    pub signups: u64,
}

/// Every week and month that `days` (consecutive local dates, ending with `today` so far)
/// touch, with the exact distinct users of the dates it holds: the union of the days' sets. A
/// period is complete when all its dates are among `days` and it ended before `today`.
pub fn period_users(days: &[&Day], today: NaiveDate) -> BTreeMap<(Period, NaiveDate), PeriodUsers> {
    let first = days.first().map(|d| d.date);
    let mut sets: BTreeMap<(Period, NaiveDate), [RoaringBitmap; 3]> = BTreeMap::new();
    for day in days {
        for period in [Period::Week, Period::Month] {
            let [active, success, joined] = sets.entry((period, period.start_of(day.date))).or_default();
            *active |= &day.active;
            *success |= &day.active_success;
            *joined |= &day.joined;
        }
    }
    sets.into_iter()
        .map(|((period, start), [active, success, joined])| {
            let complete = first.is_some_and(|f| start >= f) && period.end_of(start) <= today;
            let users =
                PeriodUsers { complete, active: active.len(), success: success.len(), signups: joined.len() };
            ((period, start), users)
        })
        .collect()
}

/// The `analytics_period_users` rows of [`period_users`].
pub fn period_rows(periods: &BTreeMap<(Period, NaiveDate), PeriodUsers>) -> Vec<Row> {
    periods
        .iter()
        .map(|((period, start), users)| {
            vec![
                ("period", Cast::Text, json!(period.as_str())),
                ("period_start", Cast::Date, json!(start.format("%Y-%m-%d").to_string())),
                ("complete", Cast::Bool, json!(users.complete)),
                ("active_users", Cast::Int, json!(users.active)),
                ("success_users", Cast::Int, json!(users.success)),
                ("signups", Cast::Int, json!(users.signups)),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::facts::tx::{BILL_CATEGORIES, CATEGORIES};
    use crate::metrics::rows::BonusGroup;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn tx(category: &str, status: &str, p2p: bool, count: i64, kobo: i64) -> TxGroup {
        TxGroup {
            key: String::new(),
            category: category.into(),
            tx_type: "credit".into(),
            status: status.into(),
            p2p,
            count,
            kobo,
        }
    }

    fn order(status: &str, count: i64, kobo: i64) -> OrderGroup {
        OrderGroup { key: String::new(), status: status.into(), network: String::new(), count, kobo }
    }

    fn value<'a>(row: &'a Row, column: &str) -> &'a Value {
        &row.iter().find(|(c, _, _)| *c == column).unwrap_or_else(|| panic!("no column {column}")).2
    }

    #[test]
    fn a_day_row_splits_revenue_statuses_and_categories_as_the_endpoints_do() {
        let mut day = Day::empty(date(2026, 11, 3));
        day.activity.tx = vec![
            tx("deposit", "success", false, 2, 150_000), // revenue deposits ₦1,500.00
            tx("deposit", "success", true, 1, 70_050),   // a P2P credit: deposit volume, not revenue
            tx("airtime", "success", false, 3, 30_000),  // bills
            tx("cable", "success", false, 1, 5_025),     // legacy cable joins cable_tv
            tx("other", "success", false, 1, 100),       // other
            tx("mystery", "success", false, 1, 1),       // unknown category: other too
            tx("withdrawal", "pending", false, 4, 400_000),
            tx("airtime", "failed", false, 2, 2_000),
        ];
        day.activity.p2p = vec![order("completed", 1, 70_050), order("cancelled", 2, 9_900)];
        day.activity.crypto = vec![order("completed", 2, 1_234_567), order("failed", 1, 5)];
        day.withdrawals = vec![order("completed", 1, 33_333), order("pending", 1, 1)];
        day.bonuses = vec![
            BonusGroup { key: String::new(), status: "unlocked".into(), count: 2, kobo: 1_000 },
            BonusGroup { key: String::new(), status: "reversed".into(), count: 1, kobo: 500 },
        ];
        day.active = [1, 2, 3].into_iter().collect();
        day.active_success = [1, 2].into_iter().collect();
        day.joined = [3].into_iter().collect();
        let row = daily_row(&day, true);
        // 1,500.00 + 700.50 + 12,345.67
        assert_eq!(value(&row, "revenue"), &json!("14546.17"));
        assert_eq!(value(&row, "revenue_deposits"), &json!("1500.00"));
        assert_eq!(value(&row, "revenue_deposits_count"), &json!(2));
        assert_eq!(value(&row, "revenue_p2p"), &json!("700.50"));
        assert_eq!(value(&row, "revenue_crypto_count"), &json!(2));
        assert_eq!(value(&row, "tx_count"), &json!(15));
        assert_eq!(value(&row, "tx_success"), &json!(9));
        assert_eq!(value(&row, "tx_pending"), &json!(4));
        assert_eq!(value(&row, "tx_failed"), &json!(2));
        // 150,000 + 70,050 + 30,000 + 5,025 + 100 + 1 kobo
        assert_eq!(value(&row, "tx_success_volume"), &json!("2551.76"));
        assert_eq!(value(&row, "tx_pending_volume"), &json!("4000.00"));
        assert_eq!(value(&row, "volume_deposit"), &json!("2200.50"));
        assert_eq!(value(&row, "volume_cable_tv"), &json!("50.25"));
        assert_eq!(value(&row, "volume_airtime"), &json!("300.00"));
        assert_eq!(value(&row, "volume_other"), &json!("1.01"));
        assert_eq!(value(&row, "volume_bills"), &json!("350.25"));
        assert_eq!(value(&row, "volume_withdrawal"), &json!("0.00"));
        assert_eq!(value(&row, "p2p_orders"), &json!(3));
        assert_eq!(value(&row, "crypto_purchases"), &json!(3));
        assert_eq!(value(&row, "p2p_withdraw_volume"), &json!("333.33"));
        assert_eq!(value(&row, "rewards_distributed"), &json!("10.00"));
        assert_eq!(value(&row, "bonuses"), &json!(3));
        assert_eq!(value(&row, "active_users"), &json!(3));
        assert_eq!(value(&row, "success_users"), &json!(2));
        assert_eq!(value(&row, "signups"), &json!(1));
        assert_eq!(value(&row, "complete"), &json!(true));
        // The category columns add up to the successful volume.
        let categories: rust_decimal::Decimal = CATEGORY_COLUMNS
            .iter()
            .map(|(c, _)| *c)
            .chain(["volume_other"])
            .map(|c| value(&row, c).as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(categories.to_string(), "2551.76");
    }

    #[test]
    fn periods_count_each_user_once_and_are_complete_only_when_whole_and_ended() {
        // Tue 2026-09-29 .. Tue 2026-10-06 (today, partial).
        let users = |ids: &[u32]| ids.iter().copied().collect::<RoaringBitmap>();
        let days: Vec<Day> = (0..8)
            .map(|i| {
                let mut d = Day::empty(date(2026, 9, 29) + Duration::days(i));
                d.active = users(&[1, 2 + i as u32]);
                d.active_success = users(&[1]);
                d.joined = users(&[100 + i as u32]);
                d
            })
            .collect();
        let refs: Vec<&Day> = days.iter().collect();
        let periods = period_users(&refs, date(2026, 10, 6));
        let get = |p: Period, y, m, d| periods[&(p, date(y, m, d))].clone();
        // Week of Mon 09-28: its Monday is not held → incomplete; Tue..Sun = 6 days.
        assert_eq!(
            get(Period::Week, 2026, 9, 28),
            PeriodUsers { complete: false, active: 7, success: 1, signups: 6 }
        );
        // Week of Mon 10-05: Monday and today (partial) → incomplete; users 1, 8, 9.
        assert_eq!(
            get(Period::Week, 2026, 10, 5),
            PeriodUsers { complete: false, active: 3, success: 1, signups: 2 }
        );
        // September from the 29th only → incomplete; October 1..6 → incomplete (not ended).
        assert_eq!(get(Period::Month, 2026, 9, 1).active, 3);
        assert_eq!(
            get(Period::Month, 2026, 10, 1),
            PeriodUsers { complete: false, active: 7, success: 1, signups: 6 }
        );
        assert_eq!(periods.len(), 4);
        // A week wholly held that ended before today is complete; today's week is not.
        let week: Vec<Day> = (0..8).map(|i| Day::empty(date(2026, 10, 5) + Duration::days(i))).collect();
        let refs: Vec<&Day> = week.iter().collect();
        let periods = period_users(&refs, date(2026, 10, 12));
        assert!(periods[&(Period::Week, date(2026, 10, 5))].complete);
        assert!(!periods[&(Period::Week, date(2026, 10, 12))].complete);
    }

    #[test]
    fn every_bill_category_has_a_volume_column_and_only_other_is_left_to_volume_other() {
        let named = |c: &str| CATEGORY_COLUMNS.iter().any(|(_, cats)| cats.contains(&c));
        assert!(BILL_CATEGORIES.iter().all(|c| named(c)));
        let unnamed: Vec<&str> = CATEGORIES.iter().copied().filter(|c| !named(c)).collect();
        assert_eq!(unnamed, ["other"]);
    }

    #[test]
    fn months_and_iso_weeks_start_where_the_calendar_says() {
        assert_eq!(Period::Week.start_of(date(2027, 1, 1)), date(2026, 12, 28));
        assert_eq!(Period::Week.end_of(date(2026, 12, 28)), date(2027, 1, 4));
        assert_eq!(Period::Month.start_of(date(2026, 2, 28)), date(2026, 2, 1));
        assert_eq!(Period::Month.end_of(date(2026, 12, 1)), date(2027, 1, 1));
    }
}
