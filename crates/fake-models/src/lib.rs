//! Local fakes of two model APIs, for driving the real Codex CLI and Gemini
//! CLI offline in tests (`../shared/reference/stack.md` §Other agents has
//! the recipes these follow).
//!
//! Both play one scripted turn per prompt: a request whose conversation does
//! not end with a tool result gets a call of the CLI's shell tool running
//! [`Script::shell_command`]; once it ends with that result, the text
//! [`Script::final_text`] ends the turn. Every model response reports
//! [`Script::input_tokens`] / [`Script::output_tokens`] of usage, so tests
//! can check what agentd counts against what "the API" said.
//!
//! * OpenAI Responses API (Codex CLI, `wire_api = "responses"`):
//!   `POST /v1/responses` answers SSE `response.created`,
//!   `response.output_item.done` (a `function_call` of `exec_command` with
//!   `{"cmd"}`, or a `message`), `response.completed` with `usage`.
//! * Gemini API (Gemini CLI, `GOOGLE_GEMINI_BASE_URL`):
//!   `POST /v1beta/models/<model>:streamGenerateContent?alt=sse` answers
//!   SSE chunks `{"candidates": [...], "usageMetadata": {...}}` (a
//!   `functionCall` of `run_shell_command` with `{"command"}`, or text);
//!   `:generateContent` answers the same as one JSON object and
//!   `:countTokens` a count.
//!
//! [`receiver`] is a local HTTP endpoint that records what it is sent (a
//! webhook or an ntfy server, for notification tests).

pub mod receiver;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the fakes answer.
#[derive(Debug, Clone)]
pub struct Script {
    /// The shell command of the scripted tool call.
    pub shell_command: String,
    /// The text that ends the turn.
    pub final_text: String,
    /// Input tokens each model response reports.
    pub input_tokens: u64,
    /// Output tokens each model response reports.
    pub output_tokens: u64,
    /// How long the response that ends the turn is held back, ms: the
    /// agent stays at work (waiting on its model) that long.
    pub final_delay_ms: u64,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            shell_command: "echo hello-from-fake".to_owned(),
            final_text: "done from fake".to_owned(),
            input_tokens: 10,
            output_tokens: 5,
            final_delay_ms: 0,
        }
    }
}

struct Fake {
    script: Script,
    /// Model responses sent (each reports the script's usage once).
    responses: AtomicUsize,
    bodies: std::sync::Mutex<Vec<Value>>,
}

/// A running fake (both APIs on one port); stops when dropped.
pub struct FakeModels {
    fake: Arc<Fake>,
    server: Server,
}

/// An axum app served on `127.0.0.1:0` from a thread of its own (a
/// current-thread runtime); stops when dropped.
pub(crate) struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `app`.
    ///
    /// # Errors
    /// The I/O error when the runtime or the listener cannot be set up.
    pub(crate) fn start(app: Router) -> std::io::Result<Server> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeModels {
    /// Starts the fakes on `127.0.0.1:0` in a thread of their own.
    ///
    /// # Errors
    /// The I/O error when the runtime or the listener cannot be set up.
    pub fn start(script: Script) -> std::io::Result<FakeModels> {
        let fake = Arc::new(Fake {
            script,
            responses: AtomicUsize::new(0),
            bodies: std::sync::Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1beta/models/{call}", post(gemini))
            .with_state(Arc::clone(&fake));
        let server = Server::start(app)?;
        Ok(FakeModels { fake, server })
    }

    /// `http://127.0.0.1:PORT`: Gemini's `GOOGLE_GEMINI_BASE_URL`; Codex's
    /// provider `base_url` is this plus `/v1`.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// Model responses sent so far; each reported the script's usage.
    pub fn responses(&self) -> usize {
        self.fake.responses.load(Ordering::SeqCst)
    }

    /// Request bodies so far, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.fake
            .bodies
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }
}

fn sse(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Whether the Responses API `input` ends with a tool result.
fn codex_has_result(body: &Value) -> bool {
    body.get("input")
        .and_then(Value::as_array)
        .and_then(|items| items.last())
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("_call_output"))
}

async fn responses(State(fake): State<Arc<Fake>>, body: axum::Json<Value>) -> Response {
    let body = body.0;
    let n = fake.responses.fetch_add(1, Ordering::SeqCst);
    let s = &fake.script;
    let item = if codex_has_result(&body) {
        tokio::time::sleep(std::time::Duration::from_millis(s.final_delay_ms)).await;
        json!({"type": "message", "id": format!("msg_{n}"), "role": "assistant",
            "content": [{"type": "output_text", "text": s.final_text, "annotations": []}]})
    } else {
        json!({"type": "function_call", "id": format!("fc_{n}"), "name": "exec_command",
            "arguments": json!({"cmd": s.shell_command}).to_string(), "call_id": format!("call_{n}")})
    };
    if let Ok(mut b) = fake.bodies.lock() {
        b.push(body);
    }
    let id = format!("resp_{n}");
    let events = [
        (
            "response.created",
            json!({"type": "response.created", "response": {"id": id}}),
        ),
        (
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "response": {"id": id, "usage": {
                "input_tokens": s.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": s.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": s.input_tokens + s.output_tokens}}}),
        ),
    ];
    let mut out = String::new();
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    sse(out)
}

/// Whether Gemini's `contents` end with a tool result.
fn gemini_has_result(body: &Value) -> bool {
    body.get("contents")
        .and_then(Value::as_array)
        .and_then(|c| c.last())
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()))
}

async fn gemini(
    State(fake): State<Arc<Fake>>,
    Path(call): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    let body = body.0;
    let (model, method) = call.split_once(':').unwrap_or((call.as_str(), ""));
    if method == "countTokens" {
        return axum::Json(json!({"totalTokens": fake.script.input_tokens})).into_response();
    }
    let s = &fake.script;
    let streaming = method == "streamGenerateContent";
    // Only the main conversation (it offers tools) gets the scripted tool
    // call; side requests (routing, next-speaker checks) get text.
    let offers_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    let part = if offers_tools && !gemini_has_result(&body) {
        json!({"functionCall": {"name": "run_shell_command",
            "args": {"command": s.shell_command, "description": "run a command"}}})
    } else if offers_tools {
        tokio::time::sleep(std::time::Duration::from_millis(s.final_delay_ms)).await;
        json!({"text": s.final_text})
    } else {
        json!({"text": "{\"next_speaker\": \"user\", \"reasoning\": \"the turn is done\"}"})
    };
    if offers_tools {
        fake.responses.fetch_add(1, Ordering::SeqCst);
    }
    if let Ok(mut b) = fake.bodies.lock() {
        b.push(body);
    }
    // Side requests report no usage: the counts tests compare are the
    // conversation's.
    let (input, output) = if offers_tools {
        (s.input_tokens, s.output_tokens)
    } else {
        (0, 0)
    };
    let chunk = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output,
            "totalTokenCount": input + output},
        "modelVersion": model,
    });
    if streaming {
        sse(format!("data: {chunk}\n\n"))
    } else {
        axum::Json(chunk).into_response()
    }
}
