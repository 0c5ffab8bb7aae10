//! Every HTTP error in one place: DRF-style `{"detail": …}` bodies with the right status, and
//! nothing internal (SQL, stack, secret) ever in a response — internal errors are logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bodies::ErrorBody;
use crate::db::is_unreachable;
use crate::metrics::{MetricError, WindowError};

/// An error answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a parameter is malformed or out of range; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credentials.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// 401: a token that is malformed, badly signed, expired, of the wrong type…
    #[error("{0}")]
    InvalidToken(String),
    /// 401: the token's user does not exist or is inactive.
    #[error("{detail}")]
    UserRejected {
        /// Message.
        detail: &'static str,
        /// SimpleJWT's code.
        code: &'static str,
    },
    /// 403: authenticated but not staff.
    #[error("You do not have permission to perform this action.")]
    Forbidden,
    /// 404.
    #[error("Not found.")]
    NotFound,
    /// 405.
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    /// 503: nothing can be served right now.
    #[error("{0}")]
    Unavailable(String),
    /// 503 with `Retry-After`: every on-demand slot stayed busy for the whole queue wait.
    #[error("{detail}")]
    Busy {
        /// Message.
        detail: String,
        /// Seconds after which a retry is worth it.
        retry_after: u64,
    },
    /// 429 with `Retry-After`: asked again sooner than the configured interval allows.
    #[error("{detail}")]
    TooManyRequests {
        /// Message.
        detail: String,
        /// Seconds until the request would be accepted.
        retry_after: u64,
    },
    /// 500: logged with its cause, shown bare.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotAuthenticated | ApiError::InvalidToken(_) | ApiError::UserRejected { .. } => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::InvalidToken(detail) => {
                ErrorBody { detail: detail.clone(), code: Some("token_not_valid".into()) }
            }
            ApiError::UserRejected { detail, code } => {
                ErrorBody { detail: (*detail).into(), code: Some((*code).into()) }
            }
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                ErrorBody { detail: "A server error occurred.".into(), code: None }
            }
            other => ErrorBody { detail: other.to_string(), code: None },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::Busy { retry_after, .. } | ApiError::TooManyRequests { retry_after, .. } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
        }
        response
    }
}

// Every conversion into an answer is here; handlers use `?`.

impl From<WindowError> for ApiError {
    fn from(e: WindowError) -> Self {
        ApiError::BadRequest(e.0)
    }
}

/// A platform database failure while answering: 503 when the database cannot be reached or
/// is going away (so the dashboard shows "temporarily unavailable"), 500 for anything else.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        failure_of("platform", &e)
    }
}

impl From<MetricError> for ApiError {
    fn from(e: MetricError) -> Self {
        match e {
            MetricError::Database(e) => e.into(),
        }
    }
}

/// A summary database failure (operator routes read runs from it), wrapped so the answer
/// names the database that is actually down: `.map_err(SummaryDb)?`.
#[derive(Debug, thiserror::Error)]
#[error("summary database query failed")]
pub struct SummaryDb(#[source] pub sqlx::Error);

impl From<SummaryDb> for ApiError {
    fn from(e: SummaryDb) -> Self {
        failure_of("summary", &e.0)
    }
}

/// Writing an export failed (never expected: the rows are in memory).
impl From<csv::Error> for ApiError {
    fn from(e: csv::Error) -> Self {
        ApiError::Internal(crate::telemetry::error_chain(&e))
    }
}

/// Serialising a body failed (never expected: bodies hold strings, integers and decimals).
impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(crate::telemetry::error_chain(&e))
    }
}

fn failure_of(database: &str, e: &sqlx::Error) -> ApiError {
    if is_unreachable(e) {
        return ApiError::Unavailable(format!(
            "Analytics are temporarily unavailable: the {database} database cannot be reached."
        ));
    }
    ApiError::Internal(crate::telemetry::error_chain(e))
}
