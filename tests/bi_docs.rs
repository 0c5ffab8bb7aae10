//! Every SQL example in README.md and docs/METRICS.md, run on SQLite and PostgreSQL against a
//! seeded platform after a run, with its answer compared to the API's answer to the same
//! question through the real HTTP server. An example without a check here fails the test, so a
//! new example cannot go unchecked.

mod common;

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use common::app::{spawn_app_with, App, AppOptions};
use common::Backend;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{Column, Row};

/// One documented example: where it is, its name and its SQL.
struct Example {
    file: &'static str,
    id: String,
    sql: String,
}

/// Every ```sql block of the two documents; each must name itself with `-- example: <id>`.
fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for (file, text) in
        [("README.md", include_str!("../README.md")), ("docs/METRICS.md", include_str!("../docs/METRICS.md"))]
    {
        let mut rest = text;
        while let Some(start) = rest.find("```sql\n") {
            let body = &rest[start + 7..];
            let end = body.find("```").unwrap_or_else(|| panic!("{file}: an unterminated sql block"));
            let sql = body[..end].to_string();
            let id = sql
                .lines()
                .find_map(|l| l.trim().strip_prefix("-- example: "))
                .unwrap_or_else(|| panic!("{file}: an sql block without an `-- example: <id>` line:\n{sql}"))
                .trim()
                .to_string();
            out.push(Example { file, id, sql });
            rest = &body[end + 3..];
        }
    }
    out
}

/// A row of an example's answer: column name to value as text (`null` for NULL).
type Answer = Vec<BTreeMap<String, String>>;

/// Runs `sql` as a BI tool would and returns its rows as text. PostgreSQL's `numeric` has no
/// `sqlx::Any` decoding, so there each row comes back as `row_to_json`.
async fn query(app: &App, backend: Backend, sql: &str) -> Answer {
    let sql = sql.trim().trim_end_matches(';');
    let pool = &app.db.db.pool;
    match backend {
        Backend::Postgres => {
            let wrapped = format!("SELECT CAST(row_to_json(x) AS TEXT) FROM ({sql}) x");
            let rows: Vec<String> = sqlx::query_scalar(&wrapped).fetch_all(pool).await.unwrap();
            rows.iter()
                .map(|r| {
                    let Value::Object(o) = serde_json::from_str::<Value>(r).unwrap() else { panic!("{r}") };
                    o.into_iter()
                        .map(|(k, v)| (k, if let Value::String(s) = v { s } else { v.to_string() }))
                        .collect()
                })
                .collect()
        }
        Backend::Sqlite => {
            // The native driver: `sqlx::Any` has no SQLite BOOLEAN.
            let mut conn: sqlx::SqliteConnection = sqlx::Connection::connect(&app.db.url).await.unwrap();
            sqlx::query(sql)
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| {
                    row.columns()
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let v = row
                                .try_get::<i64, _>(i)
                                .map(|v| v.to_string())
                                .or_else(|_| row.try_get::<f64, _>(i).map(|v| v.to_string()))
                                .or_else(|_| row.try_get::<bool, _>(i).map(|v| v.to_string()))
                                .or_else(|_| row.try_get::<String, _>(i))
                                .unwrap_or_else(|_| "null".to_string());
                            (c.name().to_string(), v)
                        })
                        .collect()
                })
                .collect()
        }
    }
}

/// A number as one spelling (`1750.50` and `1750.5` agree; booleans as 1/0).
fn num(text: &str) -> Decimal {
    match text {
        "true" => Decimal::ONE,
        "false" => Decimal::ZERO,
        _ => text.parse::<Decimal>().unwrap_or_else(|_| panic!("not a number: {text}")).normalize(),
    }
}

/// `value` at the dotted `path` of a JSON body, as a number.
fn at(body: &Value, path: &str) -> Decimal {
    let v = path.split('.').fold(body, |v, k| &v[k]);
    num(&v.to_string())
}

async fn api(app: &App, path: &str) -> Value {
    let res = app.staff_get(&format!("/api/analytics/{path}")).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// The reporting zone's date of now (the fixture's platform uses the default zone).
fn today() -> NaiveDate {
    mafita_analytics::time::local_date(chrono_tz::Africa::Lagos, Utc::now())
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d").unwrap()
}

/// A calendar range that ends before today, as query parameters. (A range ending today is the
/// dashboard's "last N days" button to the API, which answers the rolling `days=N` window: see
/// [`summed`].)
fn range(from: NaiveDate, to: NaiveDate) -> String {
    assert!(to < today(), "{from}..{to} ends today: the API would read it as days=N");
    format!("date_from={from}&date_to={to}")
}

/// An additive figure of `route` over the calendar dates `from..=to` (to at most today): the
/// whole days before today as one calendar range, plus today so far (`date_from=date_to=today`).
async fn summed(
    app: &App,
    route: &str,
    from: NaiveDate,
    to: NaiveDate,
    pick: impl Fn(&Value) -> Decimal,
) -> Decimal {
    let (today, mut sum) = (today(), Decimal::ZERO);
    let yesterday = to.min(today - Duration::days(1));
    if from <= yesterday {
        sum += pick(&api(app, &format!("{route}?{}", range(from, yesterday))).await);
    }
    if to >= today {
        sum += pick(&api(app, &format!("{route}?date_from={today}&date_to={today}")).await);
    }
    sum.normalize()
}

async fn first_stored_day(app: &App) -> NaiveDate {
    let first: String = sqlx::query_scalar("SELECT CAST(first_day AS TEXT) FROM analytics_day_store")
        .fetch_one(&app.db.db.pool)
        .await
        .unwrap();
    date(&first)
}

/// The entry of a list of objects whose `key` is `value`.
fn entry<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|e| e[key] == value)
}

backend_test! {
    async fn every_documented_sql_example_agrees_with_the_api(backend: Backend) {
        let options = AppOptions { run_windows: vec![1, 7, 30], windows: vec![1, 7, 30], ..AppOptions::default() };
        let app = spawn_app_with(backend, options).await;
        let examples = examples();
        assert!(examples.len() >= 10, "{} examples", examples.len());
        for ex in &examples {
            let rows = query(&app, backend, &ex.sql).await;
            let label = format!("{backend:?} {} `{}`", ex.file, ex.id);
            match ex.id.as_str() {
                "headline-numbers" => headline_numbers(&app, &rows, &label).await,
                "daily-revenue-and-users" => daily_revenue_and_users(&app, &rows, &label).await,
                "monthly-deposits" => monthly_deposits(&app, &rows, &label).await,
                "month-to-date" => month_to_date(&app, &rows, &label).await,
                "monthly-active-users" => period_users(&app, &rows, &label, Period::Month).await,
                "weekly-active-users" => period_users(&app, &rows, &label, Period::Week).await,
                "kpi-history" => kpi_history(&app, &rows, &label).await,
                "category-volume-day-tables" => category_volume(&app, &rows, &label).await,
                other => panic!("{label}: no check for example `{other}` in tests/bi_docs.rs"),
            }
        }
    }
}

/// Each scalar equals the field of `<endpoint>/?days=30` its dotted name points at.
async fn headline_numbers(app: &App, rows: &Answer, label: &str) {
    assert_eq!(rows.len(), 4, "{label}");
    for row in rows {
        let (endpoint, path) = row["metric"].split_once('.').unwrap();
        let route =
            if endpoint == "overview" { "dashboard/overview/".to_string() } else { format!("{endpoint}/") };
        let body = api(app, &format!("{route}?days=30")).await;
        assert_eq!(num(&row["value"]), at(&body, path), "{label}: {}", row["metric"]);
    }
}

/// Each whole day's revenue, active users and sign-ups equal the daily series of the same
/// calendar range; the busiest day's sources equal `revenue/` over that one day.
async fn daily_revenue_and_users(app: &App, rows: &Answer, label: &str) {
    assert_eq!(rows.len(), 90, "{label}");
    let days: Vec<NaiveDate> = rows.iter().map(|r| date(&r["day"])).collect();
    let (from, to) = (*days.iter().min().unwrap(), *days.iter().max().unwrap());
    assert_eq!(to, today() - Duration::days(1), "{label}: the newest whole day is yesterday");
    let revenue = api(app, &format!("revenue/?{}", range(from, to))).await;
    let users = api(app, &format!("users/?{}", range(from, to))).await;
    for row in rows {
        let day = &row["day"][..10];
        let r = entry(&revenue["revenue_trend"], "date", day).unwrap();
        let u = entry(&users["user_growth"], "date", day).unwrap();
        assert_eq!(num(&row["revenue"]), num(&r["revenue"].to_string()), "{label}: {day}");
        assert_eq!(num(&row["active_users"]), num(&u["active_users"].to_string()), "{label}: {day}");
        assert_eq!(num(&row["signups"]), num(&u["new_users"].to_string()), "{label}: {day}");
    }
    let busiest = rows.iter().max_by_key(|r| num(&r["revenue"])).unwrap();
    assert!(num(&busiest["revenue"]) > Decimal::ZERO, "{label}: the seeded platform has revenue");
    let day = date(&busiest["day"]);
    let one = api(app, &format!("revenue/?{}", range(day, day))).await;
    for source in ["deposits", "p2p", "crypto"] {
        let column = format!("revenue_{source}");
        assert_eq!(
            num(&busiest[&column]),
            at(&one, &format!("by_source.{source}.revenue")),
            "{label}: {day} {source}"
        );
    }
}

/// For every month the stored days hold from its first date: successful deposit volume equals
/// `transactions/`'s `deposit` category, deposit revenue and its count `revenue/`'s deposits.
async fn monthly_deposits(app: &App, rows: &Answer, label: &str) {
    let first = first_stored_day(app).await;
    let mut checked = 0;
    let mut nonzero = false;
    for row in rows {
        let start = date(&format!("{}-01", row["month"]));
        if start < first {
            continue;
        }
        let end = start.checked_add_months(chrono::Months::new(1)).unwrap() - Duration::days(1);
        if start + Duration::days(70) < today() {
            continue; // older months hold no seeded rows; two recent months prove the query
        }
        let end = end.min(today());
        let deposit = |body: &Value| {
            entry(&body["by_category"], "category", "deposit")
                .map_or(Decimal::ZERO, |e| num(&e["total_amount"].to_string()))
        };
        let volume = summed(app, "transactions/", start, end, deposit).await;
        assert_eq!(num(&row["deposit_volume"]), volume, "{label}: {start}");
        let revenue = summed(app, "revenue/", start, end, |b| at(b, "by_source.deposits.revenue")).await;
        assert_eq!(num(&row["deposit_revenue"]), revenue, "{label}: {start}");
        let count = summed(app, "revenue/", start, end, |b| at(b, "by_source.deposits.count")).await;
        assert_eq!(num(&row["deposit_revenue_count"]), count, "{label}: {start}");
        nonzero |= volume > revenue;
        checked += 1;
    }
    assert!(checked >= 2, "{label}: {checked} months checked");
    assert!(nonzero, "{label}: P2P credits make deposit volume exceed deposit revenue in some month");
}

/// Month to date equals the calendar range from the 1st through today on three endpoints.
async fn month_to_date(app: &App, rows: &Answer, label: &str) {
    assert_eq!(rows.len(), 1, "{label}");
    let row = &rows[0];
    let (start, end) = (today().with_day(1).unwrap(), today());
    let revenue = summed(app, "revenue/", start, end, |b| at(b, "total_revenue")).await;
    let successful = summed(app, "transactions/", start, end, |b| at(b, "total_count")).await;
    let all = summed(app, "transactions/", start, end, |b| at(b, "summary.total_transactions")).await;
    let bills = summed(app, "services/", start, end, |b| at(b, "bill_payment_volume")).await;
    assert_eq!(num(&row["revenue"]), revenue, "{label}");
    assert_eq!(num(&row["successful_transactions"]), successful, "{label}");
    assert_eq!(num(&row["transactions"]), all, "{label}");
    assert_eq!(num(&row["bill_payments"]), bills, "{label}");
    assert!(num(&row["transactions"]) > Decimal::ZERO || today().day() == 1, "{label}: the month has rows");
}

#[derive(Clone, Copy, PartialEq)]
enum Period {
    Week,
    Month,
}

/// Each period held from its first date has the active users and sign-ups of `users/` over
/// that calendar range, and is complete exactly when it ended before today.
async fn period_users(app: &App, rows: &Answer, label: &str, period: Period) {
    let first = first_stored_day(app).await;
    let mut active = 0;
    for row in rows {
        let start = date(&row["period_start"]);
        let end = match period {
            Period::Week => start + Duration::days(7),
            Period::Month => start.checked_add_months(chrono::Months::new(1)).unwrap(),
        };
        assert_eq!(
            num(&row["complete"]) == Decimal::ONE,
            start >= first && end <= today(),
            "{label}: {start}"
        );
        if start < first {
            continue;
        }
        let last = end - Duration::days(1);
        if last < today() {
            let users = api(app, &format!("users/?{}", range(start, last))).await;
            assert_eq!(num(&row["active_users"]), at(&users, "active_users"), "{label}: {start}");
            assert_eq!(num(&row["signups"]), at(&users, "new_users"), "{label}: {start}");
        } else {
            // The current period: distinct users up to now have no single API question (a
            // range ending today is the rolling days=N window); sign-ups add up, and the
            // period's users include those of its whole days and of today.
            let signups = summed(app, "users/", start, today(), |b| at(b, "new_users")).await;
            assert_eq!(num(&row["signups"]), signups, "{label}: {start}");
            let today_users =
                at(&api(app, &format!("users/?date_from={0}&date_to={0}", today())).await, "active_users");
            assert!(num(&row["active_users"]) >= today_users, "{label}: {start}");
            if start < today() {
                let before = api(app, &format!("users/?{}", range(start, today() - Duration::days(1)))).await;
                assert!(num(&row["active_users"]) >= at(&before, "active_users"), "{label}: {start}");
            }
        }
        active += usize::from(num(&row["active_users"]) > Decimal::ZERO);
    }
    assert!(active >= 2, "{label}: {active} periods with active users");
}

/// The newest history row is the served `kpis/?days=30` `dau`.
async fn kpi_history(app: &App, rows: &Answer, label: &str) {
    let newest =
        rows.iter().max_by_key(|r| r["computed_at"].clone()).unwrap_or_else(|| panic!("{label}: no rows"));
    assert_eq!(newest["resolution"], "run", "{label}");
    let kpis = api(app, "kpis/?days=30").await;
    assert_eq!(num(&newest["dau"]), at(&kpis, "dau"), "{label}");
}

/// The stored whole days of the newest stored day's month, by category, equal `transactions/`'s
/// `by_category` over those dates.
async fn category_volume(app: &App, rows: &Answer, label: &str) {
    let last: String = sqlx::query_scalar("SELECT CAST(MAX(day) AS TEXT) FROM analytics_day_users")
        .fetch_one(&app.db.db.pool)
        .await
        .unwrap();
    let last = date(&last);
    let from = last.with_day(1).unwrap().max(first_stored_day(app).await);
    let tx = api(app, &format!("transactions/?{}", range(from, last))).await;
    let served: BTreeMap<String, (Decimal, Decimal)> = tx["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["category"].as_str().unwrap().to_string();
            (name, (num(&e["count"].to_string()), num(&e["total_amount"].to_string())))
        })
        .collect();
    let stored: BTreeMap<String, (Decimal, Decimal)> = rows
        .iter()
        .map(|r| {
            (
                r["category"].clone(),
                (num(&r["count"]), (num(&r["amount_kobo"]) / Decimal::ONE_HUNDRED).normalize()),
            )
        })
        .collect();
    assert!(!stored.is_empty(), "{label}");
    assert_eq!(stored, served, "{label}");
}

/// Grafana's PostgreSQL macros and the dashboard's variable, expanded as the data source does.
fn expand(sql: &str, from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>) -> String {
    let (from, to) = (from.format("%Y-%m-%dT%H:%M:%SZ"), to.format("%Y-%m-%dT%H:%M:%SZ"));
    let mut out = sql
        .replace("$window", "30")
        .replace("$__timeFrom()", &format!("'{from}'"))
        .replace("$__timeTo()", &format!("'{to}'"));
    while let Some(start) = out.find("$__timeFilter(") {
        let end = start + out[start..].find(')').unwrap();
        let column = out[start + "$__timeFilter(".len()..end].to_string();
        out.replace_range(start..=end, &format!("{column} BETWEEN '{from}' AND '{to}'"));
    }
    assert!(!out.contains('$'), "an unexpanded macro or variable in:\n{out}");
    out
}

/// Every query of the business dashboard runs against the summary database of a run over a
/// seeded platform, with Grafana's macros expanded, and charts something: a time series has a
/// `time` column, and every panel has rows for the last 90 days.
#[tokio::test]
#[cfg_attr(
    pg_unreachable,
    ignore = "PostgreSQL was unreachable when the tests were built (build.rs); start it and `touch build.rs`"
)]
async fn every_business_dashboard_query_charts_the_summary_tables() {
    let options =
        AppOptions { run_windows: vec![1, 7, 30], windows: vec![1, 7, 30], ..AppOptions::default() };
    let app = spawn_app_with(Backend::Postgres, options).await;
    let dashboard: Value = serde_json::from_str(include_str!("../deploy/grafana/business.json")).unwrap();
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "grafana-postgresql-datasource");
    let panels = dashboard["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 14);
    // Grafana's `to` is the page's now: after the run.
    let (from, to) = (Utc::now() - Duration::days(90), Utc::now() + Duration::minutes(1));
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert_eq!(panel["datasource"]["uid"], "${DS_POSTGRES}", "{title}");
        for target in panel["targets"].as_array().unwrap() {
            let sql = expand(target["rawSql"].as_str().unwrap(), from, to);
            let rows = query(&app, Backend::Postgres, &sql).await;
            assert!(!rows.is_empty(), "{title}: no rows from\n{sql}");
            if target["format"] == "time_series" {
                assert!(rows[0].contains_key("time"), "{title}: no time column in {:?}", rows[0]);
            }
        }
    }
}
