//! Today so far as one (partial) day: what `analytics_daily` shows for the current local date,
//! from the run's own snapshot.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::days::Day;
use super::live::{read_parts, PartFacts};
use super::source::Source;
use super::window::Range;
use crate::time::{local_date, local_midnight};

/// The facts of the current local day from its midnight to `now`: the day store's hour slots
/// of it (a store kept by change capture holds today's whole hours), and the rest live, taking
/// what the windows' prefetch already read of a part rather than reading it again.
pub async fn so_far(src: &mut Source<'_>, now: DateTime<Utc>) -> Result<Day, sqlx::Error> {
    let tz = src.settings().tz;
    let date = local_date(tz, now);
    let range = Range::new(local_midnight(tz, date), now);
    let store = src.days();
    let (slots, live): (Vec<Arc<Day>>, Vec<Range>) = match store.as_ref().and_then(|s| s.cover(range)) {
        Some(cover) => (cover.stored().cloned().collect(), cover.live),
        None => (Vec::new(), vec![range]),
    };
    let mut parts: Vec<Arc<Day>> = slots;
    let mut missing = Vec::new();
    for part in live.into_iter().filter(|r| r.end > r.start) {
        match remembered(src, part) {
            Some(facts) => parts.push(Arc::new(facts.into_day(date))),
            None => missing.push(part),
        }
    }
    for facts in read_parts(src, &missing).await? {
        parts.push(Arc::new(facts.into_day(date)));
    }
    let mut day = Day::from_hours(date, parts);
    day.hours.clear();
    Ok(day)
}

/// What an earlier read through `src` holds of `part`, when it holds every fact of it.
fn remembered(src: &mut Source<'_>, part: Range) -> Option<PartFacts> {
    let memo = src.memo();
    Some(PartFacts {
        activity: (**memo.live_activity.get(&part)?).clone(),
        withdrawals: (**memo.live_withdrawals.get(&part)?).clone(),
        bonuses: (**memo.live_bonuses.get(&part)?).clone(),
        users: (**memo.live_users.get(&part)?).clone(),
        signups: (**memo.live_signups.get(&part)?).clone(),
        joined: (**memo.joined_live.get(&part)?).clone(),
        referrals: (**memo.live_referrals.get(&part)?).clone(),
    })
}
