//! The dashboard endpoints and the export: snapshot when the window is a common one, else
//! computed on demand.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tracing::Instrument;

use super::auth::StaffUser;
use super::error::ApiError;
use super::params::Params;
use super::prom::AnswerSource;
use super::response::Prepared;
use super::AppState;
use crate::metrics::export::{export_filename, export_transactions, export_users, ExportRows};
use crate::metrics::payload::export::{ExportFormat, ExportType};
use crate::metrics::report::{parse_metrics, report, ReportRequest};
use crate::metrics::{Endpoint, Source as MetricSource, TxFilter, WindowKind};
use crate::time::local_date;

/// Answers one of the six JSON endpoints.
///
/// A snapshot answer is a lookup, so it opens no span of its own and the on-demand path's
/// future (large: a whole computation) is boxed, out of the snapshot path's state.
pub async fn dashboard(
    endpoint: Endpoint,
    state: Arc<AppState>,
    user: StaffUser,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let window = params.window(Utc::now(), state.settings.tz)?;
    let filter = if endpoint == Endpoint::Transactions { params.tx_filter()? } else { TxFilter::default() };
    if let (WindowKind::Rolling { days }, true) = (window.kind, filter == TxFilter::default()) {
        if let Some(answer) = snapshot_answer(&state, endpoint, days, &headers) {
            return Ok(answer);
        }
    }
    let span = tracing::info_span!("ondemand", endpoint = endpoint.name(), user = user.id);
    let (answer, hit) = Box::pin(
        state
            .ondemand
            .get(&state.platform, &state.settings, state.days.store(), endpoint, &window, &filter)
            .instrument(span),
    )
    .await?;
    state.prom.answer(if hit { AnswerSource::Hit } else { AnswerSource::Miss });
    Ok(answer.respond(&headers))
}

/// The axum handler for an endpoint (one per route).
///
/// The dashboard's polling asks for `?days=N` of a common window over and over: when the
/// query is exactly that and the snapshot is loaded, it is answered without decoding the
/// query into pairs or building the window (the same answer [`dashboard`] gives for it).
pub fn route(endpoint: Endpoint) -> axum::routing::MethodRouter<Arc<AppState>> {
    axum::routing::get(
        move |State(state): State<Arc<AppState>>, user: StaffUser, uri: Uri, headers: HeaderMap| async move {
            if let Some(answer) =
                only_days(uri.query()).and_then(|days| snapshot_answer(&state, endpoint, days, &headers))
            {
                return Ok(answer);
            }
            match Query::<Vec<(String, String)>>::try_from_uri(&uri) {
                Ok(Query(pairs)) => dashboard(endpoint, state, user, Params::new(pairs), headers).await,
                Err(rejection) => Ok(rejection.into_response()),
            }
        },
    )
}

/// The loaded snapshot of `endpoint` over `days` for a request with `headers`, counted.
fn snapshot_answer(state: &AppState, endpoint: Endpoint, days: i64, headers: &HeaderMap) -> Option<Response> {
    let snapshot = state.snapshots.get(endpoint, days)?;
    state.prom.answer(AnswerSource::Snapshot);
    Some(snapshot.prepared.respond(headers))
}

/// `N` when `query` is exactly `days=N` with `N` written plainly (digits, no leading zero).
fn only_days(query: Option<&str>) -> Option<i64> {
    let digits = query?.strip_prefix("days=")?;
    let plain = !digits.is_empty() && digits.len() <= 4 && !digits.starts_with('0');
    if plain && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// A validated export request.
enum Export {
    /// The metric report.
    Report(ReportRequest),
    /// Raw rows of the window.
    Rows { kind: ExportType, limit: i64, window: crate::metrics::Window },
}

/// Most rows an export returns.
const EXPORT_LIMIT: i64 = 1000;

/// `reports/export/`: raw rows (`type=`) or the metric report (`report_type=`), JSON or CSV.
#[tracing::instrument(skip_all, fields(user = user.id))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    user: StaffUser,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::new(pairs);
    if params.has("type") && params.has("report_type") {
        return Err(ApiError::BadRequest(
            "type (raw rows) and report_type (metric report) cannot be combined; send one of them".into(),
        ));
    }
    let format: ExportFormat = match params.get("format") {
        None => ExportFormat::Json,
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("format must be json or csv (got {text:?})")))?,
    };
    // `limit` (raw rows) and `metrics` (the report) are checked whichever kind of export is
    // asked for: a bad value is refused rather than silently ignored.
    let limit = match params.get("limit") {
        None => EXPORT_LIMIT,
        Some(v) => {
            v.trim().parse::<i64>().ok().filter(|n| (1..=EXPORT_LIMIT).contains(n)).ok_or_else(|| {
                ApiError::BadRequest(format!("limit must be an integer from 1 to {EXPORT_LIMIT} (got {v:?})"))
            })?
        }
    };
    let now = Utc::now();
    let tz = state.settings.tz;
    // Every parameter is checked before the database is touched, so a bad request is a 400
    // even while the platform database is down.
    let request = match params.get("report_type") {
        Some(report_type) => Export::Report(ReportRequest::parse(
            now,
            tz,
            report_type,
            params.get("metrics"),
            params.get("days"),
            params.get("date_from"),
            params.get("date_to"),
        )?),
        None => {
            parse_metrics(params.get("metrics"))?; // unused by raw rows, but checked
            let kind: ExportType = match params.get("type") {
                None => ExportType::Transactions,
                Some(text) => text.parse().map_err(|_| {
                    ApiError::BadRequest(format!("type must be transactions or users (got {text:?})"))
                })?,
            };
            Export::Rows { kind, limit, window: params.window(now, tz)? }
        }
    };
    // An export is an on-demand computation: it waits for a slot like an uncommon window, and
    // its reads carry the statement timeout.
    let _slot = state.ondemand.slot().await?;
    let mut tx = state.ondemand.read(&state.platform).await?;
    let mut src = MetricSource::new(&mut tx, state.platform.dialect, &state.settings);
    let as_csv = format == ExportFormat::Csv;
    let (body, filename) = match request {
        Export::Report(request) => {
            let filename = request.filename(format);
            let out = state.ondemand.within(report(&mut src, now, request)).await?;
            (if as_csv { out.to_csv()? } else { serde_json::to_vec(&out.body())? }, filename)
        }
        Export::Rows { kind, limit, window } => {
            let body = match kind {
                ExportType::Transactions => state
                    .ondemand
                    .within(export_transactions(&mut src, &window, limit))
                    .await?
                    .encode(format)?,
                ExportType::Users => {
                    state.ondemand.within(export_users(&mut src, &window, limit)).await?.encode(format)?
                }
            };
            (body, export_filename(kind, local_date(tz, now), format))
        }
    };
    drop(src);
    drop(tx);
    let mut prepared = Prepared::off_thread(body, format.content_type()).await;
    prepared.disposition = Some(format!("attachment; filename=\"{filename}\""));
    Ok(prepared.respond(&headers))
}

#[cfg(test)]
mod tests {
    use super::only_days;

    #[test]
    fn only_a_plainly_written_days_takes_the_snapshot_shortcut() {
        assert_eq!(only_days(Some("days=7")), Some(7));
        assert_eq!(only_days(Some("days=365")), Some(365));
        // Everything else goes through the full parse, which gives the same answer or the error.
        for query in
            ["days=07", "days=", "days=7&status=success", "days=+7", "days=-7", "days=99999", "Days=7", ""]
        {
            assert_eq!(only_days(Some(query)), None, "{query}");
        }
        assert_eq!(only_days(None), None);
    }
}
