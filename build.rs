//! Decides, when the tests are built, whether their PostgreSQL halves and the browser tests can
//! run.
//!
//! Most integration tests run once per backend, as `name::sqlite` and `name::postgres`. A
//! PostgreSQL test that cannot run must show as ignored in cargo's summary ("N ignored"), never
//! count as a pass. libtest cannot mark a test ignored while it runs, only when it is compiled,
//! so the check happens here: unless `CI` is set (CI requires PostgreSQL, and its tests fail
//! without it), this probes a TCP connection to the host and port of `ANALYTICS_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and, if nothing answers, sets
//! `cfg(pg_unreachable)`, which marks the PostgreSQL tests `#[ignore]`. The answer is kept until
//! the URL or `CI` changes or this file is touched (`touch build.rs` probes again).
//!
//! The operator console's tests drive a real Chromium. Likewise, unless `CI` is set (CI installs
//! Debian's `chromium` and requires it), `cfg(chromium_missing)` marks them ignored when no
//! browser is found at `ANALYTICS_TEST_CHROMIUM` or as `chromium` on the `PATH`.
//!
//! Standard library only, so the crate gains no build dependencies.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const TIMEOUT: Duration = Duration::from_millis(300);

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_unreachable)");
    println!("cargo::rustc-check-cfg=cfg(chromium_missing)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=ANALYTICS_TEST_PG_URL");
    println!("cargo::rerun-if-env-changed=ANALYTICS_TEST_CHROMIUM");
    println!("cargo::rerun-if-env-changed=CI");
    if std::env::var_os("CI").is_some() {
        return;
    }
    if chromium().is_none() {
        println!("cargo::rustc-cfg=chromium_missing");
        println!(
            "cargo::warning=Chromium was not found (ANALYTICS_TEST_CHROMIUM, or chromium on the PATH): the \
             console's browser tests will be reported as ignored. `apt-get install chromium` and `touch build.rs`."
        );
    }
    let url = std::env::var("ANALYTICS_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string());
    let (host, port) = host_and_port(&url);
    if !reachable(&host, port) {
        println!("cargo::rustc-cfg=pg_unreachable");
        println!(
            "cargo::warning=PostgreSQL is unreachable at {host}:{port} (ANALYTICS_TEST_PG_URL): its tests \
             will be reported as ignored. Start it and `touch build.rs`, or set ANALYTICS_TEST_PG_URL, \
             to probe again."
        );
    }
}

/// Host and port of a `postgres://[user[:password]@]host[:port][/database][?options]` URL;
/// port 5432 when absent, `localhost` when the host is.
fn host_and_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]:5432`.
        let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let host = if host.is_empty() { "localhost" } else { host };
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(5432);
    (host.to_string(), port)
}

/// Whether any address `host` resolves to (`localhost` may be both `::1` and `127.0.0.1`)
/// accepts a TCP connection on `port` within [`TIMEOUT`].
fn reachable(host: &str, port: u16) -> bool {
    let Ok(addrs) = (host, port).to_socket_addrs() else { return false };
    addrs.into_iter().any(|addr| TcpStream::connect_timeout(&addr, TIMEOUT).is_ok())
}

/// The browser the console tests drive: `ANALYTICS_TEST_CHROMIUM`, else `chromium` on the `PATH`
/// (Debian's package). The tests find it the same way (`tests/browser/mod.rs`).
fn chromium() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("ANALYTICS_TEST_CHROMIUM") {
        return Some(path.into()).filter(|p: &std::path::PathBuf| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|p| p.is_file())
}
