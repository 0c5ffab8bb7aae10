//! Django SimpleJWT access tokens and DRF's `IsAuthenticated` + `IsAdminUser`, as an extractor:
//! a handler that takes [`StaffUser`] is admin-only, visibly in its signature.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sqlx::Row;

use super::error::{database_error, ApiError};
use super::AppState;
use crate::db::{Db, Sql};

/// Leeway for `exp`, for clock skew between Django and this service (SPEC: at most 30 s).
const LEEWAY_SECONDS: u64 = 10;

/// How to check signatures.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    user_id_claim: String,
}

impl TokenVerifier {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &str, user_id_claim: &str) -> TokenVerifier {
        TokenVerifier::new(DecodingKey::from_secret(secret.as_bytes()), Algorithm::HS256, user_id_claim)
    }

    /// RS256 with a PEM public key.
    pub fn rs256(pem: &str, user_id_claim: &str) -> Result<TokenVerifier, String> {
        let key = DecodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| format!("ANALYTICS_JWT_PUBLIC_KEY is not an RSA public key in PEM form: {e}"))?;
        Ok(TokenVerifier::new(key, Algorithm::RS256, user_id_claim))
    }

    fn new(key: DecodingKey, algorithm: Algorithm, user_id_claim: &str) -> TokenVerifier {
        // Only the configured algorithm is accepted (`alg: none` and others are refused).
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_aud = false;
        TokenVerifier { key, validation, user_id_claim: user_id_claim.to_string() }
    }

    /// Checks signature, expiry and `token_type`, and returns the user id.
    pub fn verify(&self, token: &str) -> Result<i64, ApiError> {
        let invalid =
            |why: &str| ApiError::InvalidToken(format!("Given token not valid for any token type: {why}"));
        let data = decode::<Value>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => invalid("token is expired"),
            _ => invalid("token is invalid"),
        })?;
        let claims = data.claims;
        if claims.get("token_type").and_then(Value::as_str) != Some("access") {
            return Err(invalid("not an access token"));
        }
        match claims.get(&self.user_id_claim) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| invalid("token contained no recognizable user identification"))
    }
}

/// A user's flags as last read from `accounts_user`.
#[derive(Clone, Copy, Debug)]
struct UserFlags {
    exists: bool,
    active: bool,
    staff: bool,
    read_at: Instant,
}

/// Caches users' active/staff flags for at most the TTL so polling costs no database round
/// trip; when the platform database is unreachable a known user's last flags are reused
/// (up to a day), so the snapshots keep being served through a platform outage.
pub struct UserCache {
    ttl: Duration,
    entries: moka::sync::Cache<i64, UserFlags>,
}

/// How long last-known flags may stand in while the platform database is down.
const STALE_IF_ERROR: Duration = Duration::from_secs(24 * 3600);

impl UserCache {
    /// A cache reusing flags for `ttl`.
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            ttl,
            entries: moka::sync::Cache::builder().max_capacity(10_000).time_to_live(STALE_IF_ERROR).build(),
        }
    }

    async fn flags(&self, platform: &Db, user_id: i64) -> Result<UserFlags, ApiError> {
        let cached = self.entries.get(&user_id);
        if let Some(flags) = cached.filter(|f| f.read_at.elapsed() <= self.ttl) {
            return Ok(flags);
        }
        let mut q = Sql::new(platform.dialect);
        let id = q.int(user_id);
        q.push(&format!(
            "SELECT CASE WHEN is_active THEN 1 ELSE 0 END, CASE WHEN is_staff THEN 1 ELSE 0 END \
             FROM accounts_user WHERE id = {id}"
        ));
        let fetched = async {
            let mut conn = platform.pool.acquire().await?;
            q.fetch_all(&mut conn).await
        }
        .await;
        match fetched {
            Ok(rows) => {
                let flags = match rows.first() {
                    Some(row) => UserFlags {
                        exists: true,
                        active: row.try_get::<i64, _>(0).unwrap_or(0) == 1,
                        staff: row.try_get::<i64, _>(1).unwrap_or(0) == 1,
                        read_at: Instant::now(),
                    },
                    None => UserFlags { exists: false, active: false, staff: false, read_at: Instant::now() },
                };
                self.entries.insert(user_id, flags);
                Ok(flags)
            }
            Err(e) => match cached {
                Some(flags) => {
                    tracing::warn!(user_id, error = %e, "platform database unreachable; reusing last known user flags");
                    Ok(flags)
                }
                None => Err(database_error(&e)),
            },
        }
    }
}

/// An authenticated, active staff user (DRF `IsAdminUser`).
#[derive(Clone, Copy, Debug)]
pub struct StaffUser {
    /// `accounts_user.id`.
    pub id: i64,
}

impl FromRequestParts<Arc<AppState>> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let header =
            parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::NotAuthenticated)?;
        let text = header
            .to_str()
            .map_err(|_| ApiError::InvalidToken("Authorization header is not valid text".into()))?;
        let mut words = text.split_whitespace();
        let (Some(scheme), Some(token), None) = (words.next(), words.next(), words.next()) else {
            return Err(ApiError::InvalidToken(
                "Authorization header must contain two space-delimited values: Bearer <token>".into(),
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::NotAuthenticated);
        }
        let id = state.verifier.verify(token)?;
        let flags = state.users.flags(&state.platform, id).await?;
        if !flags.exists {
            return Err(ApiError::UserRejected { detail: "User not found", code: "user_not_found" });
        }
        if !flags.active {
            return Err(ApiError::UserRejected { detail: "User is inactive", code: "user_inactive" });
        }
        if !flags.staff {
            return Err(ApiError::Forbidden);
        }
        Ok(StaffUser { id })
    }
}

/// Mints a SimpleJWT-compatible HS256 access token for `user_id`, valid for `ttl`.
pub fn mint_token(secret: &str, user_id_claim: &str, user_id: i64, ttl: Duration) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "token_type": "access",
        "exp": now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        "iat": now,
        "jti": format!("{:032x}", rand::random::<u128>()),
        user_id_claim: user_id,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("could not sign the token: {e}"))
}
