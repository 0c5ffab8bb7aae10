//! A TCP proxy in front of a database that a test can take away and bring back: stopping it
//! closes every open connection and refuses new ones on the same port, as a database server
//! that goes down does; starting it listens on that port again.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running (or stopped) proxy to `target`.
pub struct Proxy {
    /// `127.0.0.1:port` the proxy listens on while it runs.
    pub addr: std::net::SocketAddr,
    target: String,
    running: Arc<watch::Sender<bool>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `target` (`host:port`).
    pub async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Proxy { addr, target: target.to_string(), running: Arc::new(watch::channel(true).0) };
        proxy.serve(listener);
        proxy
    }

    /// Closes every forwarded connection and stops listening: connecting is refused.
    pub fn stop(&self) {
        self.running.send_replace(false);
    }

    /// Listens on the same port again.
    pub async fn resume(&self) {
        self.running.send_replace(true);
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target.clone();
        let running = self.running.clone();
        tokio::spawn(async move {
            let mut stopped = running.subscribe();
            loop {
                let accepted = tokio::select! {
                    _ = stopped.wait_for(|running| !running) => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut client, _)) = accepted else { return };
                let target = target.clone();
                let mut stopped = running.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = stopped.wait_for(|running| !running) => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
    }
}

/// The parts of a database URL around its server: `(scheme://user@, host:port, /path)`.
fn split_url(url: &str) -> (String, &str, &str) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (user, host) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    let user = if user.is_empty() { String::new() } else { format!("{user}@") };
    (format!("{scheme}://{user}"), host, path)
}

/// The `host:port` of the server a database URL names.
pub fn server_of(url: &str) -> &str {
    split_url(url).1
}

/// `url` reaching its database through `via` instead of its own server.
pub fn through(url: &str, via: std::net::SocketAddr) -> String {
    let (head, _, path) = split_url(url);
    format!("{head}{via}{path}")
}
