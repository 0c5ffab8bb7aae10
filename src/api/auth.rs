//! Django SimpleJWT access tokens and DRF's `IsAuthenticated` + `IsAdminUser`, as an extractor:
//! a handler that takes [`StaffUser`] is admin-only, visibly in its signature.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sqlx::Row;

use super::error::ApiError;
use super::AppState;
use crate::db::is_connection_failure;
use crate::db::{Db, Sql};

/// Leeway for `exp`, for clock skew between Django and this service (at most 30 s).
const LEEWAY_SECONDS: u64 = 10;

/// Most verified tokens remembered (each about 300 bytes).
const VERIFIED_TOKENS: u64 = 10_000;

/// How to check signatures.
///
/// A token that verified is remembered, with its user id and expiry, so a dashboard polling
/// with the same token pays the signature check and claim parsing once rather than on every
/// request (they were the largest cost of a snapshot answer). Only verified tokens are kept,
/// keyed by their whole text, so a changed byte anywhere is checked again; a remembered token
/// still stops working at its `exp` (plus the leeway), exactly as an unremembered one would.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    user_id_claim: String,
    verified: moka::sync::Cache<Box<str>, Verified>,
}

/// What a verified token said.
#[derive(Clone, Copy, Debug)]
struct Verified {
    user_id: i64,
    /// `exp`, Unix seconds.
    expires: u64,
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
        // PyJWT (under SimpleJWT) refuses a token before its `nbf` when it has one; so do we.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_aud = false;
        let verified = moka::sync::Cache::builder().max_capacity(VERIFIED_TOKENS).build();
        TokenVerifier { key, validation, user_id_claim: user_id_claim.to_string(), verified }
    }

    /// Checks signature, expiry and `token_type`, and returns the user id.
    pub fn verify(&self, token: &str) -> Result<i64, ApiError> {
        if let Some(known) = self.verified.get(token) {
            if jsonwebtoken::get_current_timestamp() <= known.expires + LEEWAY_SECONDS {
                return Ok(known.user_id);
            }
            self.verified.invalidate(token);
        }
        let verified = self.check(token)?;
        self.verified.insert(token.into(), verified);
        Ok(verified.user_id)
    }

    /// The full check: signature, `exp` and `nbf` with the leeway, `token_type`, user id.
    fn check(&self, token: &str) -> Result<Verified, ApiError> {
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
        let user_id = match claims.get(&self.user_id_claim) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| invalid("token contained no recognizable user identification"))?;
        // Required and checked by the decode above.
        let expires = claims.get("exp").and_then(Value::as_u64).ok_or_else(|| invalid("token is invalid"))?;
        Ok(Verified { user_id, expires })
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

/// Users' active/staff flags, read from the platform database through a pool of their own (so
/// on-demand windows and runs never starve token checks) and reused for at most the TTL
/// (see the README, "Authentication"), so polling costs no round trip. A deactivated or demoted user loses access
/// within the TTL whenever the database answers.
///
/// Only when the database cannot be connected to at all may a known user's last flags stand
/// in, for at most `stale_if_unreachable` past their TTL, so a platform outage does not lock
/// operators out of the snapshots. Any error from a database that answers (a failed query, a
/// busy pool) is an error, never a reason to trust old flags. While the database is
/// unreachable, requests do not each wait for a connection: for a few seconds after a failed
/// connection, checks go straight to the last flags (or to a 503).
pub struct UserCache {
    db: Db,
    ttl: Duration,
    stale_if_unreachable: Duration,
    entries: moka::sync::Cache<i64, UserFlags>,
    unreachable_until: Mutex<Option<Instant>>,
}

/// How long after a failed connection checks skip the database.
const RETRY_CONNECTING_AFTER: Duration = Duration::from_secs(3);
/// How long a direct connection attempt may take to prove the database reachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl UserCache {
    /// A cache over `db` reusing flags for `ttl`, and for `stale_if_unreachable` more while
    /// `db` cannot be reached.
    pub fn new(db: Db, ttl: Duration, stale_if_unreachable: Duration) -> UserCache {
        UserCache {
            db,
            ttl,
            stale_if_unreachable,
            entries: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl + stale_if_unreachable)
                .build(),
            unreachable_until: Mutex::new(None),
        }
    }

    /// The pool token checks use.
    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn flags(&self, user_id: i64) -> Result<UserFlags, ApiError> {
        let cached = self.entries.get(&user_id);
        if let Some(flags) = cached.filter(|f| f.read_at.elapsed() <= self.ttl) {
            return Ok(flags);
        }
        let stand_in = cached.filter(|f| f.read_at.elapsed() <= self.ttl + self.stale_if_unreachable);
        if !self.may_try_database() {
            return stand_in.ok_or_else(unreachable);
        }
        match self.read(user_id).await {
            Ok(flags) => {
                *self.unreachable_until.lock().expect("not poisoned") = None;
                self.entries.insert(user_id, flags);
                Ok(flags)
            }
            Err(e) if self.cannot_connect(&e).await => {
                *self.unreachable_until.lock().expect("not poisoned") =
                    Some(Instant::now() + RETRY_CONNECTING_AFTER);
                match stand_in {
                    Some(flags) => {
                        tracing::warn!(user_id, error = %e, "platform database unreachable; reusing the user's last flags");
                        Ok(flags)
                    }
                    None => Err(unreachable()),
                }
            }
            Err(e) => {
                // The database answered: whatever went wrong, it is reachable.
                *self.unreachable_until.lock().expect("not poisoned") = None;
                Err(e.into())
            }
        }
    }

    /// Whether this check may go to the database: always while it is reachable; while it is
    /// not, one check per [`RETRY_CONNECTING_AFTER`] (the first to ask claims the retry), so
    /// requests do not each wait for a connection that will not come.
    fn may_try_database(&self) -> bool {
        let mut until = self.unreachable_until.lock().expect("not poisoned");
        match *until {
            None => true,
            Some(t) if Instant::now() < t => false,
            Some(_) => {
                *until = Some(Instant::now() + RETRY_CONNECTING_AFTER);
                true
            }
        }
    }

    /// Whether `e` means the database could not be connected to at all, as opposed to a
    /// database that answered with an error or a pool busy with other work. A pool time-out is
    /// either (sqlx retries refused connections until its deadline), so a direct connection
    /// attempt decides.
    async fn cannot_connect(&self, e: &sqlx::Error) -> bool {
        is_connection_failure(e)
            || (matches!(e, sqlx::Error::PoolTimedOut) && !self.db.accepts_connections(PROBE_TIMEOUT).await)
    }

    async fn read(&self, user_id: i64) -> Result<UserFlags, sqlx::Error> {
        let mut q = Sql::new(self.db.dialect);
        let id = q.int(user_id);
        q.push(&format!(
            "SELECT CASE WHEN is_active THEN 1 ELSE 0 END, CASE WHEN is_staff THEN 1 ELSE 0 END \
             FROM accounts_user WHERE id = {id}"
        ));
        let mut conn = self.db.pool.acquire().await?;
        let rows = q.fetch_all(&mut conn).await?;
        let read_at = Instant::now();
        Ok(match rows.first() {
            Some(row) => UserFlags {
                exists: true,
                active: row.try_get::<i64, _>(0)? == 1,
                staff: row.try_get::<i64, _>(1)? == 1,
                read_at,
            },
            None => UserFlags { exists: false, active: false, staff: false, read_at },
        })
    }
}

fn unreachable() -> ApiError {
    ApiError::Unavailable(
        "Analytics are temporarily unavailable: the platform database cannot be reached.".into(),
    )
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
        let flags = state.users.flags(id).await?;
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

/// The key a token is signed with: the same algorithm the service verifies with.
pub enum SigningKey<'a> {
    /// HS256 with the shared secret.
    Hs256(&'a str),
    /// RS256 with an RSA private key in PEM form (the public half is `ANALYTICS_JWT_PUBLIC_KEY`).
    Rs256(&'a str),
}

/// Mints a SimpleJWT-compatible HS256 access token for `user_id`, valid for `ttl`.
pub fn mint_token(secret: &str, user_id_claim: &str, user_id: i64, ttl: Duration) -> Result<String, String> {
    mint_signed(SigningKey::Hs256(secret), user_id_claim, user_id, ttl)
}

/// Mints a SimpleJWT-compatible access token for `user_id`, valid for `ttl`, signed with `key`.
pub fn mint_signed(
    key: SigningKey<'_>,
    user_id_claim: &str,
    user_id: i64,
    ttl: Duration,
) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "token_type": "access",
        "exp": now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        "iat": now,
        "jti": format!("{:032x}", rand::random::<u128>()),
        user_id_claim: user_id,
    });
    let (algorithm, key) = match key {
        SigningKey::Hs256(secret) => {
            (Algorithm::HS256, jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))
        }
        SigningKey::Rs256(pem) => (
            Algorithm::RS256,
            jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                format!("ANALYTICS_JWT_PRIVATE_KEY is not an RSA private key in PEM form: {e}")
            })?,
        ),
    };
    jsonwebtoken::encode(&jsonwebtoken::Header::new(algorithm), &claims, &key)
        .map_err(|e| format!("could not sign the token: {e}"))
}
