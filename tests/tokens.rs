//! The forged-token matrix: every way a hostile client may dress up a token, against a server
//! that verifies HS256 and one that verifies RS256. Each must be a 401 with SimpleJWT's
//! `token_not_valid` code (or the user's own code), `WWW-Authenticate: Bearer`, and a detail
//! that gives nothing away; the genuine token next to them must pass, so the matrix cannot
//! pass by refusing everything.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use common::app::{spawn_app_with, App, AppOptions, SECRET};
use common::Backend;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mafita_analytics::api::auth::TokenVerifier;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PATH: &str = "/api/analytics/kpis/?days=7";
const PUBLIC: &str = include_str!("fixtures/rs256_public.pem");
const PRIVATE: &str = include_str!("fixtures/rs256_private_test_only.pem");

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Access claims for `user_id`, valid for ten minutes.
fn claims(user_id: Value) -> Value {
    json!({ "token_type": "access", "exp": Utc::now().timestamp() + 600, "user_id": user_id, "jti": "x" })
}

fn hs(algorithm: Algorithm, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn rs(algorithm: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_rsa_pem(PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A token whose header says `alg` with `claims` and the given signature part.
fn hand_made(alg: &str, claims: &Value, signature: &str) -> String {
    let header = json!({ "alg": alg, "typ": "JWT" }).to_string();
    format!("{}.{}.{signature}", b64(header.as_bytes()), b64(claims.to_string().as_bytes()))
}

/// `token` with its payload swapped for `claims`, keeping the original signature.
fn tampered(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2])
}

/// Asserts `token` is refused as not valid, naming the case on failure.
async fn refused(app: &App, case: &str, token: &str) {
    let res = app.get(PATH, Some(token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{case}");
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{case}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "token_not_valid", "{case}: {body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Given token not valid") || detail.starts_with("Authorization header"),
        "{case}"
    );
    assert!(!detail.contains(SECRET) && !detail.contains("BEGIN"), "{case}: {detail}");
}

/// The cases that no server may accept, whatever it verifies with.
fn forged_everywhere() -> Vec<(String, String)> {
    let now = Utc::now().timestamp();
    let staff = claims(json!(1));
    let valid_hs = hs(Algorithm::HS256, &staff, SECRET.as_bytes());
    let signature = valid_hs.rsplit('.').next().unwrap().to_string();
    let mut cases = vec![];
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push((format!("alg {alg}, no signature"), hand_made(alg, &staff, "")));
        cases.push((format!("alg {alg} with a real HS256 signature"), hand_made(alg, &staff, &signature)));
    }
    let with = |patch: Value| {
        let mut c = staff.clone();
        c.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        c
    };
    let without = |name: &str| {
        let mut c = staff.clone();
        c.as_object_mut().unwrap().remove(name);
        c
    };
    cases.extend([
        ("payload swapped under a genuine signature".into(), tampered(&valid_hs, &claims(json!(2)))),
        ("signature of another token".into(), {
            let other = hs(Algorithm::HS256, &claims(json!(2)), SECRET.as_bytes());
            format!("{}.{}", valid_hs.rsplit_once('.').unwrap().0, other.rsplit('.').next().unwrap())
        }),
        ("HS256 with a wrong key".into(), hs(Algorithm::HS256, &staff, b"not-the-key")),
        ("HS256 with an empty key".into(), hs(Algorithm::HS256, &staff, b"")),
        (
            "refresh token".into(),
            hs(Algorithm::HS256, &with(json!({ "token_type": "refresh" })), SECRET.as_bytes()),
        ),
        (
            "sliding token".into(),
            hs(Algorithm::HS256, &with(json!({ "token_type": "sliding" })), SECRET.as_bytes()),
        ),
        ("no token_type".into(), hs(Algorithm::HS256, &without("token_type"), SECRET.as_bytes())),
        (
            "expired past the leeway".into(),
            hs(Algorithm::HS256, &with(json!({ "exp": now - 120 })), SECRET.as_bytes()),
        ),
        ("no exp".into(), hs(Algorithm::HS256, &without("exp"), SECRET.as_bytes())),
        ("exp as text".into(), hs(Algorithm::HS256, &with(json!({ "exp": "tomorrow" })), SECRET.as_bytes())),
        (
            "not valid before an hour from now".into(),
            hs(Algorithm::HS256, &with(json!({ "nbf": now + 3600 })), SECRET.as_bytes()),
        ),
        ("no user_id".into(), hs(Algorithm::HS256, &without("user_id"), SECRET.as_bytes())),
        ("user_id null".into(), hs(Algorithm::HS256, &claims(Value::Null), SECRET.as_bytes())),
        ("user_id true".into(), hs(Algorithm::HS256, &claims(json!(true)), SECRET.as_bytes())),
        ("user_id 1.5".into(), hs(Algorithm::HS256, &claims(json!(1.5)), SECRET.as_bytes())),
        ("user_id [1]".into(), hs(Algorithm::HS256, &claims(json!([1])), SECRET.as_bytes())),
        ("user_id 'one'".into(), hs(Algorithm::HS256, &claims(json!("one")), SECRET.as_bytes())),
        (
            "user_id past i64".into(),
            hs(Algorithm::HS256, &claims(json!("99999999999999999999")), SECRET.as_bytes()),
        ),
        ("empty token".into(), String::new()),
        ("two segments".into(), valid_hs.rsplit_once('.').unwrap().0.to_string()),
        ("four segments".into(), format!("{valid_hs}.AAAA")),
        ("not base64".into(), "!!!.???.***".into()),
        ("header not JSON".into(), format!("{}.{}.", b64(b"not json"), b64(b"{}"))),
        ("8 KB of noise".into(), "A".repeat(8192)),
    ]);
    cases
}

fn rs256_options() -> AppOptions {
    AppOptions { verifier: TokenVerifier::rs256(PUBLIC, "user_id").unwrap(), ..AppOptions::default() }
}

#[tokio::test]
async fn an_hs256_server_refuses_every_forged_token_and_accepts_the_genuine_one() {
    let app = spawn_app_with(Backend::Sqlite, AppOptions::default()).await;
    let staff = claims(json!(1));
    let genuine = hs(Algorithm::HS256, &staff, SECRET.as_bytes());
    assert_eq!(app.get(PATH, Some(&genuine)).await.status(), StatusCode::OK);
    // Within the 10 s leeway an expired token still passes, like SimpleJWT's.
    let mut just_expired = staff.clone();
    just_expired["exp"] = json!(Utc::now().timestamp() - 3);
    let just_expired = hs(Algorithm::HS256, &just_expired, SECRET.as_bytes());
    assert_eq!(app.get(PATH, Some(&just_expired)).await.status(), StatusCode::OK);

    let mut cases = forged_everywhere();
    cases.extend([
        ("HS384 with the right key".into(), hs(Algorithm::HS384, &staff, SECRET.as_bytes())),
        ("HS512 with the right key".into(), hs(Algorithm::HS512, &staff, SECRET.as_bytes())),
        ("RS256 from some private key".into(), rs(Algorithm::RS256, &staff)),
    ]);
    for (case, token) in &cases {
        refused(&app, case, token).await;
    }
    // Header shapes: a scheme with no token or with extra words is a malformed header.
    for header in ["Bearer", "Bearer  ", &format!("Bearer {genuine} extra")] {
        let res = app
            .client
            .get(format!("{}{PATH}", app.base))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header:?}");
    }
    // Another scheme is no credentials at all (DRF), not an invalid token.
    let res =
        app.client.get(format!("{}{PATH}", app.base)).basic_auth("admin", Some("x")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["detail"], "Authentication credentials were not provided.");
}

/// Verified tokens are remembered, so the second request with a token skips the signature
/// check; a remembered token must still stop working at its expiry, and a tampered copy of a
/// remembered one must still be checked.
#[tokio::test]
async fn a_remembered_token_still_expires_and_its_tampered_copies_are_still_refused() {
    let app = spawn_app_with(Backend::Sqlite, AppOptions::default()).await;
    // Expired 9 s ago: inside the 10 s leeway for about one more second.
    let mut about_to_lapse = claims(json!(1));
    about_to_lapse["exp"] = json!(Utc::now().timestamp() - 9);
    let token = hs(Algorithm::HS256, &about_to_lapse, SECRET.as_bytes());
    assert_eq!(app.get(PATH, Some(&token)).await.status(), StatusCode::OK);
    refused(&app, "a copy of a remembered token with another payload", &tampered(&token, &claims(json!(2))))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    refused(&app, "a remembered token past its expiry and the leeway", &token).await;
}

#[tokio::test]
async fn an_rs256_server_refuses_every_forged_token_and_hs_rs_confusion() {
    let app = spawn_app_with(Backend::Sqlite, rs256_options()).await;
    let staff = claims(json!(1));
    let genuine = rs(Algorithm::RS256, &staff);
    assert_eq!(app.get(PATH, Some(&genuine)).await.status(), StatusCode::OK);

    let mut cases = forged_everywhere();
    cases.extend([
        // The classic confusion: HS256 keyed with the public key's PEM text.
        ("HS256 keyed with the public key".into(), hs(Algorithm::HS256, &staff, PUBLIC.as_bytes())),
        (
            "HS256 keyed with the public key, trimmed".into(),
            hs(Algorithm::HS256, &staff, PUBLIC.trim().as_bytes()),
        ),
        ("HS256 with the shared secret".into(), hs(Algorithm::HS256, &staff, SECRET.as_bytes())),
        ("RS512 with the right private key".into(), rs(Algorithm::RS512, &staff)),
        ("PS256 with the right private key".into(), rs(Algorithm::PS256, &staff)),
        ("payload swapped under a genuine RS256 signature".into(), tampered(&genuine, &claims(json!(2)))),
        ("refresh token signed RS256".into(), {
            let mut c = staff.clone();
            c["token_type"] = json!("refresh");
            rs(Algorithm::RS256, &c)
        }),
    ]);
    for (case, token) in &cases {
        refused(&app, case, token).await;
    }
}

#[tokio::test]
async fn genuine_tokens_of_users_who_may_not_read_are_refused_with_their_reason() {
    let app = spawn_app_with(Backend::Sqlite, AppOptions::default()).await;
    let sign = |id: i64| hs(Algorithm::HS256, &claims(json!(id)), SECRET.as_bytes());
    sqlx::query("UPDATE accounts_user SET is_staff = TRUE, is_active = FALSE WHERE id = 3")
        .execute(&app.db.db.pool)
        .await
        .unwrap();
    let cases: [(&str, i64, StatusCode, Option<&str>); 4] = [
        ("non-staff user", 2, StatusCode::FORBIDDEN, None),
        ("inactive staff user", 3, StatusCode::UNAUTHORIZED, Some("user_inactive")),
        ("user that does not exist", 999_999, StatusCode::UNAUTHORIZED, Some("user_not_found")),
        ("negative user id", -1, StatusCode::UNAUTHORIZED, Some("user_not_found")),
    ];
    for (case, id, status, code) in cases {
        let res = app.get(PATH, Some(&sign(id))).await;
        assert_eq!(res.status(), status, "{case}");
        let body: Value = res.json().await.unwrap();
        if let Some(code) = code {
            assert_eq!(body["code"], code, "{case}");
        }
    }
    // A numeric string id is SimpleJWT's own form: it passes.
    let string_id = hs(Algorithm::HS256, &claims(json!("1")), SECRET.as_bytes());
    assert_eq!(app.get(PATH, Some(&string_id)).await.status(), StatusCode::OK);
}
