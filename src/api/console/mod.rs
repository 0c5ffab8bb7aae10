//! The operator console: one page and its assets, compiled into the binary so it works offline,
//! needs no build step and cannot drift from the server that serves it. The page holds no data:
//! it signs in with a staff token kept in the tab's `sessionStorage` and reads everything from
//! the admin and analytics routes, which authorize each call as they would from curl.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::materializer::store::etag_of;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/api/analytics/admin/";
/// Where its assets are served, by file name.
pub const ASSETS_PATH: &str = "/api/analytics/admin/assets/{file}";

/// Scripts and styles from this origin only, calls to this origin only, no framing: a token
/// pasted into the page can only be sent where the page came from.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file with its validator.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    etag: String,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
        Asset { name, content_type, body, etag: etag_of(body.as_bytes()) }
    }
}

/// The page, served at [`CONSOLE_PATH`] only.
static PAGE: LazyLock<Asset> =
    LazyLock::new(|| Asset::new("index.html", "text/html; charset=utf-8", include_str!("assets/index.html")));

/// The page's modules (`console.js` imports the others) and style, and the vendored chart
/// library (uPlot, MIT; its licence is served beside it).
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        Asset::new("console.js", "text/javascript; charset=utf-8", include_str!("assets/console.js")),
        Asset::new("api.js", "text/javascript; charset=utf-8", include_str!("assets/api.js")),
        Asset::new("charts.js", "text/javascript; charset=utf-8", include_str!("assets/charts.js")),
        Asset::new("dom.js", "text/javascript; charset=utf-8", include_str!("assets/dom.js")),
        Asset::new("format.js", "text/javascript; charset=utf-8", include_str!("assets/format.js")),
        Asset::new("console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
        Asset::new(
            "uPlot.iife.min.js",
            "text/javascript; charset=utf-8",
            include_str!("assets/vendor/uPlot.iife.min.js"),
        ),
        Asset::new("uPlot.min.css", "text/css; charset=utf-8", include_str!("assets/vendor/uPlot.min.css")),
        Asset::new("uPlot.LICENSE", "text/plain; charset=utf-8", include_str!("assets/vendor/uPlot.LICENSE")),
    ]
});

/// `GET admin/`: the console page (no token needed: it holds no data).
pub async fn page(headers: HeaderMap) -> Response {
    serve(&PAGE, &headers)
}

/// `GET admin/assets/{file}`: a script, style sheet or licence of the console.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let asset = ASSETS.iter().find(|a| a.name == file).ok_or(ApiError::NotFound)?;
    Ok(serve(asset, &headers))
}

/// Answers with `asset` and its ETag (a 304 when the browser has it); browsers revalidate on
/// every load, so a new binary's console is picked up at once.
fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    response
}

/// The asset names, for the OpenAPI document's enum of `{file}`.
pub fn asset_names() -> Vec<&'static str> {
    ASSETS.iter().map(|a| a.name).collect()
}
