//! Users: totals at cutoffs, sign-ups per bucket, and the top referrers.

use chrono::{DateTime, Utc};

use super::{bucket_key, in_range, int, text, NO_INDEX};
use crate::db::Bucket;
use crate::metrics::source::Source;
use crate::metrics::window::Range;

/// User totals as of `now`, plus how many had joined before each extra cutoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCounts {
    /// Users that exist at `now` (joined before it).
    pub total: i64,
    /// Of those, with a verified email.
    pub verified: i64,
    /// Of those, merchants.
    pub merchants: i64,
    /// Users joined before each cutoff, in the order asked.
    pub joined_before: Vec<i64>,
}

/// Counts users at `now` and before each of `cutoffs`, in one query.
pub async fn user_counts(
    src: &mut Source<'_>,
    now: DateTime<Utc>,
    cutoffs: &[DateTime<Utc>],
) -> Result<UserCounts, sqlx::Error> {
    let mut q = src.sql();
    let now_p = q.ts(now);
    let mut cols = vec![
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} THEN 1 END) AS BIGINT)"),
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} AND is_email_verified THEN 1 END) AS BIGINT)"),
        format!("CAST(COUNT(CASE WHEN date_joined < {now_p} AND is_merchant THEN 1 END) AS BIGINT)"),
    ];
    for cutoff in cutoffs {
        let p = q.ts(*cutoff);
        cols.push(format!("CAST(COUNT(CASE WHEN date_joined < {p} THEN 1 END) AS BIGINT)"));
    }
    q.push(&format!("SELECT {} FROM accounts_user", cols.join(", ")));
    let row = src.one(&q).await?;
    Ok(UserCounts {
        total: int(&row, 0)?,
        verified: int(&row, 1)?,
        merchants: int(&row, 2)?,
        joined_before: (0..cutoffs.len()).map(|i| int(&row, 3 + i)).collect::<Result<_, _>>()?,
    })
}

/// Sign-ups in `range` per local bucket.
pub async fn joins_by(
    src: &mut Source<'_>,
    range: Range,
    bucket: Bucket,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut q = src.sql();
    let key = bucket_key(src, &mut q, "date_joined", bucket, range);
    let (key, group) = (key.select, key.group);
    let window = in_range(&mut q, "date_joined", range);
    q.push(&format!(
        "SELECT {key}, CAST(COUNT(*) AS BIGINT) FROM accounts_user WHERE {window} GROUP BY {group}"
    ));
    src.all(&q).await?.iter().map(|row| Ok((text(row, 0)?, int(row, 1)?))).collect()
}

/// A referrer with the users it referred who joined in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referrer {
    /// The referrer's id.
    pub id: i64,
    /// The referrer's email (the dashboard's "username").
    pub email: String,
    /// Referred users who joined in the window.
    pub referral_count: i64,
    /// Of those, still active.
    pub active_referrals: i64,
}

/// The `limit` referrers with most referred sign-ups in `range` (ties: lower id first).
pub async fn top_referrers(
    src: &mut Source<'_>,
    range: Range,
    limit: i64,
) -> Result<Vec<Referrer>, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "u.date_joined", range);
    let limit = q.int(limit);
    // Rank the referrers among the window's sign-ups first, then look up only the winners'
    // emails: joining every referred sign-up to the whole user table cost ~0.9 s at 1M users.
    q.push(&format!(
        "SELECT r.id, r.email, c.n, c.active FROM (SELECT {NO_INDEX}u.referred_by_id AS id, \
         CAST(COUNT(*) AS BIGINT) AS n, CAST(COUNT(CASE WHEN u.is_active THEN 1 END) AS BIGINT) AS active \
         FROM accounts_user u WHERE u.referred_by_id IS NOT NULL AND {window} \
         GROUP BY 1 ORDER BY 2 DESC, 1 ASC LIMIT {limit}) c \
         JOIN accounts_user r ON r.id = c.id ORDER BY c.n DESC, r.id ASC"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            Ok(Referrer {
                id: int(row, 0)?,
                email: text(row, 1)?,
                referral_count: int(row, 2)?,
                active_referrals: int(row, 3)?,
            })
        })
        .collect()
}

/// A user as listed by the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Merchant account.
    pub is_merchant: bool,
    /// Email verified.
    pub is_email_verified: bool,
    /// When the user joined.
    pub date_joined: DateTime<Utc>,
}

/// The newest `limit` users who joined in `range` (newest first, ties: id descending).
pub async fn recent_users(
    src: &mut Source<'_>,
    range: Range,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let mut q = src.sql();
    let window = in_range(&mut q, "date_joined", range);
    let limit = q.int(limit);
    let joined = src.dialect().ts_text("date_joined");
    q.push(&format!(
        "SELECT id, email, CASE WHEN is_merchant THEN 1 ELSE 0 END, \
         CASE WHEN is_email_verified THEN 1 ELSE 0 END, {joined} FROM accounts_user \
         WHERE {window} ORDER BY date_joined DESC, id DESC LIMIT {limit}"
    ));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            let joined = text(row, 4)?;
            Ok(UserRow {
                id: int(row, 0)?,
                email: text(row, 1)?,
                is_merchant: int(row, 2)? == 1,
                is_email_verified: int(row, 3)? == 1,
                date_joined: crate::db::parse_db_timestamp(&joined).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unreadable date_joined {joined:?}").into())
                })?,
            })
        })
        .collect()
}

/// Every user's join instant in µs, sorted by id: the day store answers "active users who had
/// joined before the window" from it. Ids must fit in 32 bits (Django's `AutoField`).
pub async fn join_instants(src: &mut Source<'_>) -> Result<Vec<(u32, i64)>, sqlx::Error> {
    let mut q = src.sql();
    let joined = src.dialect().ts_text("date_joined");
    q.push(&format!("SELECT id, {joined} FROM accounts_user ORDER BY id"));
    src.all(&q)
        .await?
        .iter()
        .map(|row| {
            let (id, joined) = (int(row, 0)?, text(row, 1)?);
            let id = u32::try_from(id)
                .map_err(|_| sqlx::Error::Decode(format!("user id {id} is outside 0..=4294967295").into()))?;
            let at = crate::db::parse_db_timestamp(&joined)
                .ok_or_else(|| sqlx::Error::Decode(format!("unreadable date_joined {joined:?}").into()))?;
            Ok((id, at.timestamp_micros()))
        })
        .collect()
}
