//! A real headless Chromium (Debian's package) driven over the DevTools protocol, for the
//! operator console's tests: it loads pages from the test server, types and clicks like an
//! operator (input events, not DOM calls), and records every uncaught exception, console error or
//! warning and browser log entry (failed requests, Content-Security-Policy violations), so a test
//! can hold the page to "no errors".
//!
//! The protocol is spoken directly as JSON over a WebSocket: the typed DevTools crates decode
//! its messages through serde's untagged enums, which cannot read numbers once this crate's
//! `serde_json/arbitrary_precision` (exact money) is on, so every message fails to parse.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long a page may take to reach a state a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// The browser binary: `ANALYTICS_TEST_CHROMIUM`, else `chromium` on the `PATH` (as `build.rs`
/// finds it to decide whether the browser tests run).
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("ANALYTICS_TEST_CHROMIUM") {
        return path.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .expect("Chromium is required (apt-get install chromium, or set ANALYTICS_TEST_CHROMIUM)")
}

/// Something the page reported that an operator would see in the developer tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `exception`, `console.error`, `console.warn`, or the log entry's source (`network`,
    /// `security`, …).
    pub kind: String,
    /// The message.
    pub text: String,
    /// The URL it concerns, when the browser names one.
    pub url: Option<String>,
}

type Replies = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless Chromium with one tab; the process is killed when this is dropped.
pub struct Chromium {
    _process: Child,
    _profile: tempfile::TempDir,
    outbox: mpsc::UnboundedSender<Message>,
    replies: Replies,
    next_id: AtomicU64,
    /// The tab's protocol session.
    session: String,
    problems: Arc<Mutex<Vec<Problem>>>,
}

impl Chromium {
    /// Starts the browser (a throw-away profile, a 1280×900 window) and opens `url` in a tab.
    pub async fn open(url: &str) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut process = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox", // tests may run as root, where Chromium refuses its sandbox
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("Chromium did not start");
        let endpoint = devtools_endpoint(&mut process).await;
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str()).await.unwrap();
        let (mut sink, mut stream) = socket.split();
        let (outbox, mut queued) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = queued.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let replies: Replies = Arc::default();
        let problems: Arc<Mutex<Vec<Problem>>> = Arc::default();
        let (waiting, recorded) = (replies.clone(), problems.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                match message["id"].as_u64() {
                    Some(id) => {
                        if let Some(reply) = waiting.lock().unwrap().remove(&id) {
                            let _ = reply.send(message);
                        }
                    }
                    None => {
                        if let Some(problem) = problem(&message) {
                            recorded.lock().unwrap().push(problem);
                        }
                    }
                }
            }
        });
        let mut browser = Chromium {
            _process: process,
            _profile: profile,
            outbox,
            replies,
            next_id: AtomicU64::new(1),
            session: String::new(),
            problems,
        };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" })).await;
        let attached = browser
            .call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }))
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            browser.call(domain, json!({})).await;
        }
        browser.call("Page.navigate", json!({ "url": url })).await;
        browser
            .until("location.href !== 'about:blank' && document.readyState === 'complete'", "the page loads")
            .await;
        browser
    }

    /// Sends one protocol command (to the tab once attached) and returns its result, failing
    /// the test on a protocol error.
    async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        let (reply, answer) = oneshot::channel();
        self.replies.lock().unwrap().insert(id, reply);
        self.outbox.send(Message::text(command.to_string())).unwrap();
        let answer = tokio::time::timeout(PATIENCE, answer)
            .await
            .unwrap_or_else(|_| panic!("Chromium did not answer {method}"))
            .unwrap();
        assert!(answer.get("error").is_none(), "{method} failed: {}", answer["error"]);
        answer["result"].clone()
    }

    /// Waits until the JavaScript expression `condition` is true, failing the test with `what`
    /// and the page's text when it does not become true in time.
    pub async fn until(&self, condition: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.eval::<bool>(&format!("Boolean({condition})")).await {
                return;
            }
            if started.elapsed() > PATIENCE {
                let text: String = self.eval("document.body ? document.body.innerText : ''").await;
                panic!("timed out waiting until {what} ({condition}); the page shows:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of a JavaScript expression (awaited when it is a promise).
    pub async fn eval<T: serde::de::DeserializeOwned>(&self, expression: &str) -> T {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression} threw: {}",
            result["exceptionDetails"]
        );
        serde_json::from_value(result["result"]["value"].clone())
            .unwrap_or_else(|e| panic!("{expression} gave {}: {e}", result["result"]))
    }

    /// The text of the element `selector` (empty when absent).
    pub async fn text(&self, selector: &str) -> String {
        self.eval(&format!("document.querySelector({selector:?})?.innerText ?? ''")).await
    }

    /// Whether `selector` exists and neither it nor an ancestor is hidden.
    pub async fn visible(&self, selector: &str) -> bool {
        self.eval(&format!(
            "(e => Boolean(e) && !e.closest('[hidden]'))(document.querySelector({selector:?}))"
        ))
        .await
    }

    /// How many elements match `selector`.
    pub async fn count(&self, selector: &str) -> usize {
        self.eval(&format!("document.querySelectorAll({selector:?}).length")).await
    }

    /// Clicks the middle of the element `selector` with the mouse.
    pub async fn click(&self, selector: &str) {
        let (x, y): (f64, f64) = self
            .eval(&format!(
                "(e => {{ e.scrollIntoView({{ block: 'center' }}); const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})(document.querySelector({selector:?}))"
            ))
            .await;
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            let event = json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
            self.call("Input.dispatchMouseEvent", event).await;
        }
    }

    /// Empties the field `selector`, clicks into it and types `text` as keyboard input.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.eval::<bool>(&format!(
            "(e => {{ e.value = ''; return true; }})(document.querySelector({selector:?}))"
        ))
        .await;
        self.click(selector).await;
        self.call("Input.insertText", json!({ "text": text })).await;
    }

    /// Reloads the page and waits for it to load.
    pub async fn reload(&self) {
        // A mark on the old document tells it from the new one.
        self.eval::<bool>("window.beforeReload = true").await;
        self.call("Page.reload", json!({})).await;
        self.until("!window.beforeReload && document.readyState === 'complete'", "the page reloads").await;
    }

    /// What the page reported since the last call, emptying the record.
    pub fn take_problems(&self) -> Vec<Problem> {
        std::mem::take(&mut self.problems.lock().unwrap())
    }

    /// A PNG of the whole page, however long.
    pub async fn screenshot(&self, path: &Path) {
        let metrics = self.call("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let clip = json!({ "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 });
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// Reads Chromium's standard error until it names its DevTools WebSocket.
async fn devtools_endpoint(process: &mut Child) -> String {
    let mut lines = BufReader::new(process.stderr.take().unwrap()).lines();
    let find = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("Chromium exited without opening its DevTools endpoint");
    };
    let url =
        tokio::time::timeout(PATIENCE, find).await.expect("Chromium did not open its DevTools endpoint");
    // Keep draining its output so the browser never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    url
}

/// The problem an event reports, if it is one: an uncaught exception, a `console.error` or
/// `console.warn`, or a log entry at warning or error level.
fn problem(event: &Value) -> Option<Problem> {
    let params = &event["params"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    match event["method"].as_str()? {
        "Runtime.exceptionThrown" => {
            let details = &params["exceptionDetails"];
            Some(Problem {
                kind: "exception".into(),
                text: format!("{} {}", text(&details["text"]), text(&details["exception"]["description"])),
                url: details["url"].as_str().map(str::to_string),
            })
        }
        "Runtime.consoleAPICalled" => {
            let kind = match params["type"].as_str()? {
                "error" | "assert" => "console.error",
                "warning" => "console.warn",
                _ => return None,
            };
            let args = params["args"].as_array()?;
            let words: Vec<String> = args
                .iter()
                .map(|a| a.get("value").map_or_else(|| text(&a["description"]), Value::to_string))
                .collect();
            Some(Problem { kind: kind.into(), text: words.join(" "), url: None })
        }
        "Log.entryAdded" => {
            let entry = &params["entry"];
            matches!(entry["level"].as_str()?, "error" | "warning").then(|| Problem {
                kind: text(&entry["source"]),
                text: text(&entry["text"]),
                url: entry["url"].as_str().map(str::to_string),
            })
        }
        _ => None,
    }
}
