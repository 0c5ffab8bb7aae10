//! The published OpenAPI document against the real router and real answers: every route is
//! described, nothing else is, and every answer of every operation (success and error bodies
//! alike) validates against the schema the document gives for its status and content type.

mod common;

use std::collections::BTreeSet;

use common::app::{spawn_app, App};
use mafita_analytics::api::route_table;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The document as served, unauthenticated.
async fn served_document(app: &App) -> Value {
    let res = app.get("/api/analytics/openapi.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    res.json().await.unwrap()
}

/// Closes every component object (`unevaluatedProperties: false`, which sees through `allOf`),
/// so an answer with a field the document does not name fails validation. The served document
/// stays open to additive fields; the test holds the answers to exactly what it says.
/// Parts of an `allOf` (the flattened `Stamp`) stay open: the whole they are part of is closed.
fn closed(mut doc: Value) -> Value {
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    let parts: BTreeSet<String> = schemas
        .values()
        .filter_map(|s| s["allOf"].as_array())
        .flatten()
        .filter_map(|part| part["$ref"].as_str())
        .map(|r| r.rsplit('/').next().unwrap().to_string())
        .collect();
    assert!(parts.contains("Stamp"));
    for (name, schema) in schemas.iter_mut() {
        let object = schema.as_object_mut().unwrap();
        if !parts.contains(name) && (object.contains_key("properties") || object.contains_key("allOf")) {
            object.insert("unevaluatedProperties".into(), json!(false));
        }
    }
    doc
}

/// Validates `body` against the document's schema for `method path` answering `status` with
/// `content_type`; the schema's `$ref`s resolve inside the document.
fn check(doc: &Value, method: &Method, path: &str, status: StatusCode, content_type: &str, body: &Value) {
    let op = &doc["paths"][path][method.as_str().to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in the document");
    let response = &op["responses"][status.as_str()];
    assert!(response.is_object(), "{method} {path} answered {status}, which the document does not list");
    let media = content_type.split(';').next().unwrap().trim();
    let content = response["content"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} {status} has no content in the document"))
        .iter()
        .find(|(k, _)| k.split(';').next().unwrap().trim() == media)
        .unwrap_or_else(|| panic!("{method} {path} {status}: content type {content_type} is not documented"))
        .1;
    let mut schema = content["schema"].clone();
    schema.as_object_mut().unwrap().insert("components".into(), doc["components"].clone());
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{method} {path} {status}: the schema does not compile: {e}"));
    let errors: Vec<String> =
        validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{method} {path} {status} does not match its schema:\n{}", errors.join("\n"));
}

/// A request the test makes and the documented path it exercises.
struct Case {
    method: Method,
    documented: &'static str,
    url: String,
    token: Option<String>,
    status: StatusCode,
}

fn case(
    method: Method,
    documented: &'static str,
    url: &str,
    token: Option<&str>,
    status: StatusCode,
) -> Case {
    Case { method, documented, url: url.to_string(), token: token.map(str::to_string), status }
}

backend_test! {
    async fn every_route_is_documented_and_every_answer_matches_its_schema(backend: Backend) {
        let app = spawn_app(backend).await;
        let doc = served_document(&app).await;
        assert_eq!(doc["openapi"], "3.1.0");

        // The router's routes and the document's operations are the same set.
        let routes: BTreeSet<(String, String)> =
            route_table().into_iter().map(|(p, m)| (p, m.as_str().to_lowercase())).collect();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(p, item)| item.as_object().unwrap().keys().map(move |m| (p.clone(), m.clone())))
            .collect();
        assert_eq!(routes, documented);
        assert_eq!(routes.len(), 18);
        assert_eq!(doc["components"]["securitySchemes"]["jwt"]["scheme"], "bearer");

        let doc = closed(doc);
        let staff = app.token(1);
        let staff = Some(staff.as_str());
        let (ok, accepted) = (StatusCode::OK, StatusCode::ACCEPTED);
        let cases = vec![
            case(Method::GET, "/api/analytics/dashboard/overview/", "/api/analytics/dashboard/overview/?days=7", staff, ok),
            case(Method::GET, "/api/analytics/dashboard/overview/", "/api/analytics/dashboard/overview/?date_from=2026-01-01&date_to=2026-01-31", staff, ok),
            case(Method::GET, "/api/analytics/transactions/", "/api/analytics/transactions/?days=30", staff, ok),
            case(Method::GET, "/api/analytics/transactions/", "/api/analytics/transactions/?days=400&status=failed&type=bills", staff, ok),
            case(Method::GET, "/api/analytics/revenue/", "/api/analytics/revenue/?days=90", staff, ok),
            case(Method::GET, "/api/analytics/users/", "/api/analytics/users/?days=30", staff, ok),
            case(Method::GET, "/api/analytics/services/", "/api/analytics/services/?days=7", staff, ok),
            case(Method::GET, "/api/analytics/kpis/", "/api/analytics/kpis/?days=3", staff, ok),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?days=30", staff, ok),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?type=users&days=365", staff, ok),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?report_type=weekly&days=30", staff, ok),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?report_type=custom&metrics=users,kpis&days=7", staff, ok),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?report_type=daily&format=csv&days=7", staff, ok),
            case(Method::POST, "/api/analytics/admin/recompute/", "/api/analytics/admin/recompute/?wait=true", staff, ok),
            case(Method::POST, "/api/analytics/admin/recompute/", "/api/analytics/admin/recompute/", staff, accepted),
            case(Method::GET, "/api/analytics/admin/runs/", "/api/analytics/admin/runs/", staff, ok),
            case(Method::GET, "/api/analytics/admin/runs/{id}/", "/api/analytics/admin/runs/1/", staff, ok),
            case(Method::GET, "/api/analytics/admin/status/", "/api/analytics/admin/status/", staff, ok),
            case(Method::GET, "/api/analytics/admin/", "/api/analytics/admin/", None, ok),
            case(Method::GET, "/api/analytics/admin/assets/{file}", "/api/analytics/admin/assets/console.js", None, ok),
            case(Method::GET, "/healthz", "/healthz", None, ok),
            case(Method::GET, "/readyz", "/readyz", None, ok),
            case(Method::GET, "/metrics", "/metrics", None, ok),
            case(Method::GET, "/api/analytics/openapi.json", "/api/analytics/openapi.json", None, ok),
            case(Method::GET, "/api/analytics/docs/", "/api/analytics/docs/", None, ok),
            // Error bodies.
            case(Method::GET, "/api/analytics/kpis/", "/api/analytics/kpis/?days=0", staff, StatusCode::BAD_REQUEST),
            case(Method::GET, "/api/analytics/reports/export/", "/api/analytics/reports/export/?format=xml", staff, StatusCode::BAD_REQUEST),
            case(Method::GET, "/api/analytics/users/", "/api/analytics/users/", None, StatusCode::UNAUTHORIZED),
            case(Method::GET, "/api/analytics/users/", "/api/analytics/users/", Some("not.a.token"), StatusCode::UNAUTHORIZED),
            case(Method::GET, "/api/analytics/revenue/", "/api/analytics/revenue/", Some(&app.token(2)), StatusCode::FORBIDDEN),
            case(Method::GET, "/api/analytics/admin/runs/{id}/", "/api/analytics/admin/runs/999999/", staff, StatusCode::NOT_FOUND),
            case(Method::GET, "/api/analytics/admin/assets/{file}", "/api/analytics/admin/assets/nothing.js", None, StatusCode::NOT_FOUND),
            case(Method::POST, "/api/analytics/kpis/", "/api/analytics/kpis/", staff, StatusCode::METHOD_NOT_ALLOWED),
        ];
        let mut exercised = BTreeSet::new();
        for c in &cases {
            let mut req = app.client.request(c.method.clone(), format!("{}{}", app.base, c.url));
            if let Some(t) = &c.token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), c.status, "{} {}", c.method, c.url);
            let content_type = res.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
            let text = res.text().await.unwrap();
            // Non-JSON bodies are checked as the JSON strings their schemas describe.
            let body = if content_type.starts_with("application/json") {
                serde_json::from_str(&text).unwrap()
            } else {
                Value::String(text)
            };
            // A 405 on a documented path is described by the operations that path has.
            let method = if c.status == StatusCode::METHOD_NOT_ALLOWED { Method::GET } else { c.method.clone() };
            check(&doc, &method, c.documented, c.status, &content_type, &body);
            exercised.insert((c.documented.to_string(), method.as_str().to_lowercase()));
        }
        // Every documented operation was exercised.
        assert_eq!(exercised, documented);
    }
}

backend_test! {
    async fn a_field_the_document_does_not_name_fails_validation(backend: Backend) {
        // The check above can fail: a payload with an extra or misspelled field is refused.
        let app = spawn_app(backend).await;
        let doc = closed(served_document(&app).await);
        let mut body: Value = app.staff_get("/api/analytics/kpis/?days=7").await.json().await.unwrap();
        body.as_object_mut().unwrap().insert("stickyness".into(), json!(1.5));
        let result = std::panic::catch_unwind(|| {
            check(&doc, &Method::GET, "/api/analytics/kpis/", StatusCode::OK, "application/json", &body)
        });
        assert!(result.is_err(), "an unknown field passed validation");
        body.as_object_mut().unwrap().remove("stickyness");
        body["dau"] = json!("12");
        let result = std::panic::catch_unwind(|| {
            check(&doc, &Method::GET, "/api/analytics/kpis/", StatusCode::OK, "application/json", &body)
        });
        assert!(result.is_err(), "a count sent as a string passed validation");
        body["dau"] = json!(12);
        check(&doc, &Method::GET, "/api/analytics/kpis/", StatusCode::OK, "application/json", &body);
    }
}
