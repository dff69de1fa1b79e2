//! A local HTTP receiver for notification tests: records every request
//! (method, path, headers, body) and answers 200, or 500 for the first
//! `fail_first` requests (to exercise retries). It stands in for a webhook
//! endpoint and for an ntfy server (whose JSON publishing is a `POST /`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST`, …
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct Inner {
    got: Mutex<Vec<Received>>,
    fail_first: usize,
    seen: AtomicUsize,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    inner: Arc<Inner>,
    server: crate::Server,
}

impl Receiver {
    /// Starts one on `127.0.0.1:0` that fails its first `fail_first`
    /// requests with 500.
    ///
    /// # Errors
    /// The I/O error when it cannot listen.
    pub fn start(fail_first: usize) -> std::io::Result<Receiver> {
        let inner = Arc::new(Inner {
            got: Mutex::new(Vec::new()),
            fail_first,
            seen: AtomicUsize::new(0),
        });
        let app = Router::new()
            .fallback(record)
            .with_state(Arc::clone(&inner));
        let server = crate::Server::start(app)?;
        Ok(Receiver { inner, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The requests answered 200 so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Every request so far, failed ones included.
    pub fn attempts(&self) -> usize {
        self.inner.seen.load(Ordering::SeqCst)
    }
}

async fn record(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let n = inner.seen.fetch_add(1, Ordering::SeqCst);
    if n < inner.fail_first {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if let Ok(mut g) = inner.got.lock() {
        g.push(Received {
            method: method.to_string(),
            path: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: body.to_vec(),
        });
    }
    StatusCode::OK
}
