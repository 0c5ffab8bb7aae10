//! Ready-to-send answers: the JSON bytes with their gzip and brotli forms and ETag, prepared
//! once (when a snapshot loads or an on-demand answer is cached) so serving is a lookup.

use std::io::Write;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::materializer::store::etag_of;

/// Which path produced an answer (`X-Analytics-Source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// From the latest stored run.
    Snapshot,
    /// Computed for this window on demand.
    Computed,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Snapshot => "snapshot",
            Source::Computed => "computed",
        }
    }
}

/// An answer in every encoding, with its validator.
#[derive(Debug)]
pub struct Prepared {
    /// Identity bytes.
    pub plain: Bytes,
    /// gzip bytes.
    pub gzip: Bytes,
    /// brotli bytes.
    pub br: Bytes,
    /// Strong ETag (quoted).
    pub etag: String,
    /// The ETag as a header value, made once rather than per answer.
    etag_header: Option<HeaderValue>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra `Content-Disposition`, for downloads.
    pub disposition: Option<String>,
    /// Which path produced it.
    pub source: Source,
}

impl Prepared {
    /// Compresses `body` both ways; `etag` defaults to the body's hash.
    pub fn new(body: Vec<u8>, etag: Option<String>, content_type: &'static str, source: Source) -> Prepared {
        let etag = etag.unwrap_or_else(|| etag_of(&body));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).expect("writing to memory");
        let gzip = gz.finish().expect("writing to memory");
        let mut br = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            writer.write_all(&body).expect("writing to memory");
        }
        Prepared {
            etag_header: HeaderValue::from_str(&etag).ok(),
            plain: Bytes::from(body),
            gzip: Bytes::from(gzip),
            br: Bytes::from(br),
            etag,
            content_type,
            disposition: None,
            source,
        }
    }

    /// [`Prepared::new`] of a computed answer on a blocking thread: compressing a large export
    /// or payload is CPU work that must not hold up the async workers serving snapshots.
    pub async fn off_thread(body: Vec<u8>, content_type: &'static str) -> Prepared {
        tokio::task::spawn_blocking(move || Prepared::new(body, None, content_type, Source::Computed))
            .await
            .expect("compression does not panic")
    }

    /// Bytes held: every encoding and the validator.
    pub fn approx_bytes(&self) -> u64 {
        (self.plain.len() + self.gzip.len() + self.br.len() + self.etag.len()) as u64
    }

    /// The response for a request with `headers`: 304 when `If-None-Match` matches, else the
    /// best encoding the client accepts.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let mut response = if not_modified(headers, &self.etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let (bytes, encoding) = match preferred_encoding(headers) {
                Encoding::Brotli => (self.br.clone(), Some("br")),
                Encoding::Gzip => (self.gzip.clone(), Some("gzip")),
                Encoding::Identity => (self.plain.clone(), None),
            };
            let mut r = bytes.into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
            if let Some(enc) = encoding {
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
            }
            if let Some(d) = &self.disposition {
                if let Ok(v) = HeaderValue::from_str(d) {
                    r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                }
            }
            r
        };
        let h = response.headers_mut();
        if let Some(v) = &self.etag_header {
            h.insert(header::ETAG, v.clone());
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding, Authorization"));
        h.insert("x-analytics-source", HeaderValue::from_static(self.source.as_str()));
        response
    }
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

fn preferred_encoding(headers: &HeaderMap) -> Encoding {
    let accepted: Vec<(String, f32)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| {
            let mut bits = part.split(';');
            let name = bits.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            (name, q)
        })
        .collect();
    let q = |name: &str| accepted.iter().find(|(n, _)| n == name).map(|(_, q)| *q).unwrap_or(0.0);
    if q("br") > 0.0 {
        Encoding::Brotli
    } else if q("gzip") > 0.0 {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}
